/**
 * The gRPC peer of the suite benchmark: @grpc/grpc-js over mutual TLS 1.3, with the same messages
 * rxchan sends (MessagePack, @msgpack/msgpack) through custom serializers — a service definition in
 * code, no .proto and no code generation.
 *
 *   /bench.Bench/Add   unary             [a, b] -> a + b
 *   /bench.Bench/Seqs  server streaming  n -> { seq: 0 } ... { seq: n - 1 }, honouring backpressure
 *
 * TLS: the same ed25519 self-signed certificates as rxchan (makeCertificate); grpc-js accepts them.
 * Each side trusts exactly the other's certificate (server: `createSsl(clientCert, ..., true)`, so the
 * client certificate is required and verified; client: a secure context whose only CA is the server's
 * certificate, host name not checked since the certificate names a key, not a host). The client's
 * context allows TLS 1.3 only, so every connection is TLS 1.3 (grpc-js's server credentials take no
 * version option; the handshake would fail rather than fall back).
 */
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { CertificateMaterial } from '../../src/auth/index.js';

/** The host name the client asks for (SNI); not checked, but not an IP address, which SNI forbids. */
const SERVER_NAME = 'rxchan-bench';

// One encoder and decoder for the process, as rxchan keeps them (a new Encoder per message would
// charge gRPC an allocation rxchan does not pay). `encode` returns a copy, so the buffer is not shared.
const encoder = new Encoder();
const decoder = new Decoder();
const serialize = (value: unknown): Buffer => {
  const bytes = encoder.encode(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};
const deserialize = (bytes: Buffer): unknown => decoder.decode(bytes);

/** The service, as grpc-js wants it: paths, streaming flags and (de)serializers per method. */
export const benchService = {
  Add: {
    path: '/bench.Bench/Add',
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  },
  Seqs: {
    path: '/bench.Bench/Seqs',
    requestStream: false,
    responseStream: true,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  },
} satisfies grpc.ServiceDefinition;

/** A message of the Seqs stream. */
export interface Seq {
  seq: number;
}

const handlers: grpc.UntypedServiceImplementation = {
  Add(call: grpc.ServerUnaryCall<[number, number], number>, callback: grpc.sendUnaryData<number>) {
    const [a, b] = call.request;
    callback(null, a + b);
  },
  Seqs(call: grpc.ServerWritableStream<number, Seq>) {
    const n = call.request;
    let seq = 0;
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
    });
    call.on('error', () => {
      cancelled = true;
    });
    const pump = (): void => {
      while (!cancelled && seq < n) {
        if (!call.write({ seq: seq++ })) {
          call.once('drain', pump);
          return;
        }
      }
      if (!cancelled) call.end();
    };
    pump();
  },
};

/** A running gRPC server on 127.0.0.1. */
export interface GrpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A certificate and its key, PEM. */
export type Pems = Pick<CertificateMaterial, 'certPem' | 'keyPem'>;

/** Serve {@link benchService} with `serverCert`, requiring a client certificate and verifying it is `clientCertPem`. */
export async function startGrpcServer(serverCert: Pems, clientCertPem: string): Promise<GrpcServer> {
  const server = new grpc.Server();
  server.addService(benchService, handlers);
  const credentials = grpc.ServerCredentials.createSsl(
    Buffer.from(clientCertPem),
    [{ private_key: Buffer.from(serverCert.keyPem), cert_chain: Buffer.from(serverCert.certPem) }],
    true,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/** The client class grpc-js makes from the service definition. */
const BenchClient = grpc.makeGenericClientConstructor(benchService, 'Bench');

/** A gRPC client on one channel (one HTTP/2 connection), driven the way the suite drives rxchan. */
export class GrpcBenchClient {
  private constructor(private readonly client: grpc.Client) {}

  /** Connect with `clientCert`, trusting only `serverCert`; resolves once the channel is ready. */
  static async connect(
    port: number,
    clientCert: Pems,
    serverCertPem: string,
    timeoutMs = 10_000,
  ): Promise<GrpcBenchClient> {
    const context = tls.createSecureContext({
      key: clientCert.keyPem,
      cert: clientCert.certPem,
      ca: serverCertPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    });
    const credentials = grpc.ChannelCredentials.createFromSecureContext(context, {
      checkServerIdentity: () => undefined,
    });
    const client = new BenchClient(`127.0.0.1:${port}`, credentials, {
      'grpc.ssl_target_name_override': SERVER_NAME,
    });
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
    );
    return new GrpcBenchClient(client);
  }

  /** One unary Add call; resolves with the sum. */
  add(a: number, b: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.client.makeUnaryRequest<[number, number], number>(
        benchService.Add.path,
        serialize,
        deserialize as (b: Buffer) => number,
        [a, b],
        (err, value) => (err ? reject(err) : resolve(value as number)),
      );
    });
  }

  /** Stream `n` Seq messages; resolves with how many arrived once the stream ended, checking their order. */
  seqs(n: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const stream = this.client.makeServerStreamRequest<number, Seq>(
        benchService.Seqs.path,
        serialize,
        deserialize as (b: Buffer) => Seq,
        n,
      );
      let count = 0;
      stream.on('data', (m: Seq) => {
        if (m.seq !== count) {
          stream.cancel();
          reject(new Error(`grpc Seqs: got seq ${m.seq}, expected ${count}`));
          return;
        }
        count++;
      });
      stream.on('error', reject);
      stream.on('end', () => resolve(count));
    });
  }

  close(): void {
    this.client.close();
  }
}
