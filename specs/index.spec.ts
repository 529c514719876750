import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as rxchan from '../src/index.js';

describe('public surface (src/index.ts)', () => {
  it('exports each layer’s entry points as runtime values', () => {
    const values = [
      'ActorSystem',
      'actor',
      'method',
      'RpcError',
      'RpcErrorCode',
      'Identity',
      'AuthorizedKeys',
      'KnownHosts',
      'listenTls',
      'dialTls',
      'listenWebSocket',
      'dialWebSocket',
      'dialInband',
      'acceptInband',
      'ChannelSession',
      'Sender',
      'Receiver',
      'Session',
      'MuxStream',
      'callContext',
      'TransportError',
      'TransportErrorCode',
    ] as const;
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the spec checks names from a list
    for (const name of values) assert.ok(rxchan[name] !== undefined, `rxchan.${name} is exported`);
  });

  it('keeps the three layers’ config helpers apart', () => {
    for (const [make, verify] of [
      [rxchan.defaultActorsConfig, rxchan.verifyActorsConfig],
      [rxchan.defaultChannelConfig, rxchan.verifyChannelConfig],
      [rxchan.defaultMuxConfig, rxchan.verifyMuxConfig],
      [rxchan.defaultConnectionConfig, rxchan.verifyConnectionConfig],
    ] as const) {
      const config = make();
      assert.equal(typeof config, 'object');
      // biome-ignore lint/suspicious/noExplicitAny: each verify takes its own layer's config
      assert.doesNotThrow(() => (verify as (c: any) => void)(config));
    }
  });

  it('has the RPC codes the documentation promises', () => {
    for (const code of [
      'CANCELLED',
      'UNKNOWN',
      'INVALID_ARGUMENT',
      'DEADLINE_EXCEEDED',
      'NOT_FOUND',
      'PERMISSION_DENIED',
      'RESOURCE_EXHAUSTED',
      'UNAVAILABLE',
      'UNAUTHENTICATED',
      'INTERNAL',
      'UNIMPLEMENTED',
      'FAILED_PRECONDITION',
      'ALREADY_EXISTS',
      'ABORTED',
      'OUT_OF_RANGE',
      'DATA_LOSS',
    ]) {
      assert.equal((rxchan.RpcErrorCode as Record<string, string>)[code], code);
    }
  });
});
