/**
 * DUPLEX streams (preface 0x06, docs/PROTOCOL.md 4.1): one multiplexer stream whose two halves are
 * channels. The opener writes records on its half and reads the peer's records on the return half; the
 * acceptor the other way round. Each half ends on its own (FIN after its last record). An actor call is
 * one: the CALL record goes one way, the reply comes back the other.
 *
 * The Sender and the Receiver share the stream's one port: this handler routes what arrives to the
 * Receiver and the stream's end to both, so neither end attaches itself.
 */
import type { TransportError } from '../errors.js';
import { type ChannelHost, kBindShared } from './internal.js';
import type { PortHandler, StreamPort } from './port.js';
import { Receiver } from './receiver.js';
import { Sender } from './sender.js';

/** The two ends of one DUPLEX stream, as one side holds them. */
export interface DuplexEnds<Out = unknown, In = unknown> {
  /** This side's half: what it writes. */
  readonly sender: Sender<Out>;
  /** The other side's half: what it reads. */
  readonly receiver: Receiver<In>;
}

class DuplexEvents implements PortHandler {
  constructor(
    private readonly rx: PortHandler,
    private readonly tx: PortHandler,
  ) {}

  onData(chunk: Uint8Array): void {
    this.rx.onData(chunk);
  }

  onDataAt(buf: Uint8Array, start: number, end: number): void {
    this.rx.onDataAt!(buf, start, end);
  }

  onEnd(): void {
    this.rx.onEnd();
  }

  onClose(err: TransportError | undefined): void {
    // The reader first: a reply that completed must not look like a failure of the writer's end.
    this.rx.onClose(err);
    this.tx.onClose(err);
  }
}

/**
 * Bind a new Sender and Receiver to `port` (a DUPLEX stream, ours or the peer's). `resetOnError`: a bad
 * record on the read half resets the whole stream (the opener's choice: its call failed); false on the
 * acceptor, which still answers on its half and discards what follows.
 */
export function bindDuplex<Out, In>(
  host: ChannelHost,
  port: StreamPort,
  resetOnError: boolean,
): DuplexEnds<Out, In> {
  const sender = new Sender<Out>();
  const receiver = new Receiver<In>();
  const tx = sender[kBindShared](host, port);
  const rx = receiver[kBindShared](host, port, resetOnError);
  port.attach(new DuplexEvents(rx, tx), false);
  return { sender, receiver };
}
