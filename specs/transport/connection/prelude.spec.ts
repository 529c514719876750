import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodePrelude,
  encodeAccept,
  encodeHello,
  encodeReject,
  MAX_REJECT_MESSAGE,
  negotiate,
  preludeFrameLength,
  RejectReason,
  rejectionError,
  rejectReasonName,
} from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { hex, vector } from '../../support/vectors.js';

const failed = (err: unknown) => isTransportError(err, 'HANDSHAKE_FAILED');
const hello = fc
  .record({
    minVersion: fc.integer({ min: 1, max: 255 }),
    span: fc.integer({ min: 0, max: 254 }),
    codecs: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ minVersion, span, codecs }) => ({
    minVersion,
    maxVersion: Math.min(255, minVersion + span),
    codecs,
  }));

describe('prelude codec', () => {
  it('matches the PROTOCOL.md vectors byte for byte', () => {
    assert.equal(hex(encodeHello()), hex(vector('prelude.hello')));
    assert.equal(hex(encodeAccept()), hex(vector('prelude.accept')));
    assert.equal(
      hex(encodeReject(RejectReason.UNKNOWN_KEY, 'key not authorized')),
      hex(vector('prelude.reject-unknown-key')),
    );
    assert.equal(hex(encodeReject(RejectReason.OVERLOADED)), hex(vector('prelude.reject-overloaded')));
    assert.deepEqual(decodePrelude(vector('prelude.hello')), {
      kind: 'HELLO',
      minVersion: 2,
      maxVersion: 2,
      codecs: 1,
    });
    assert.deepEqual(decodePrelude(vector('prelude.reject-unknown-key')), {
      kind: 'REJECT',
      reason: 1,
      message: 'key not authorized',
    });
  });

  it('round-trips every hello, accept and reject (property)', () => {
    fc.assert(
      fc.property(hello, (h) => {
        assert.deepEqual(decodePrelude(encodeHello(h)), { kind: 'HELLO', ...h });
        assert.deepEqual(decodePrelude(encodeAccept(h)), { kind: 'ACCEPT', ...h });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.string({ maxLength: 300 }), (reason, message) => {
        const bytes = encodeReject(reason, message);
        assert.equal(preludeFrameLength(bytes.subarray(0, 8)), bytes.length);
        assert.deepEqual(decodePrelude(bytes), {
          kind: 'REJECT',
          reason,
          message: new TextDecoder().decode(new TextEncoder().encode(message)),
        });
      }),
    );
  });

  it('cuts a long REJECT message to 1024 bytes at a character boundary', () => {
    const bytes = encodeReject(1, 'é'.repeat(600)); // 1200 bytes of UTF-8
    assert.ok(bytes.length - 8 <= MAX_REJECT_MESSAGE);
    const frame = decodePrelude(bytes);
    assert.equal(frame.kind === 'REJECT' && frame.message, 'é'.repeat(512));
  });

  it('gives HANDSHAKE_FAILED for malformed frames', () => {
    const bad = [
      [0x52, 0x58, 0x43, 0x49, 1, 1, 1, 1], // magic
      [0x52, 0x58, 0x43, 0x48, 4, 1, 1, 1], // kind
      [0x52, 0x58, 0x43, 0x48, 0, 1, 1, 1], // kind 0
      [0x52, 0x58, 0x43, 0x48, 1, 0, 1, 1], // version 0
      [0x52, 0x58, 0x43, 0x48, 2, 3, 2, 1], // empty range
      [0x52, 0x58, 0x43, 0x48, 3, 1, 0x04, 0x01], // REJECT length 1025
      [0x52, 0x58, 0x43, 0x48, 3, 1, 0, 2, 0x41], // REJECT shorter than its length
      [0x52, 0x58, 0x43, 0x48, 1, 1, 1], // 7 bytes
      [0x52, 0x58, 0x43, 0x48, 1, 1, 1, 1, 0], // trailing byte
    ];
    for (const b of bad)
      assert.throws(() => decodePrelude(Uint8Array.from(b)), failed, hex(Uint8Array.from(b)));
  });

  it('decodes arbitrary bytes to a frame or HANDSHAKE_FAILED, nothing else (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 12 }).map((t) => Uint8Array.from([0x52, 0x58, 0x43, 0x48, ...t])),
        ),
        (bytes) => {
          try {
            const frame = decodePrelude(bytes);
            if (frame.kind !== 'REJECT')
              assert.ok(frame.minVersion >= 1 && frame.minVersion <= frame.maxVersion);
          } catch (err) {
            assert.ok(failed(err), String(err));
          }
        },
      ),
    );
  });

  it('negotiates the highest common version and the lowest common codec, the same both ways (property)', () => {
    fc.assert(
      fc.property(hello, hello, (a, b) => {
        const ab = negotiate(a, b);
        assert.deepEqual(ab, negotiate(b, a));
        if (!ab) return;
        assert.ok(ab.version >= a.minVersion && ab.version <= a.maxVersion);
        assert.ok(ab.version >= b.minVersion && ab.version <= b.maxVersion);
        assert.ok(ab.version === Math.min(a.maxVersion, b.maxVersion));
        assert.ok((a.codecs & b.codecs & ab.codec) !== 0 && ((ab.codec - 1) & a.codecs & b.codecs) === 0);
      }),
    );
    assert.equal(
      negotiate({ minVersion: 1, maxVersion: 1, codecs: 1 }, { minVersion: 2, maxVersion: 3, codecs: 1 }),
      undefined,
    );
    assert.equal(
      negotiate({ minVersion: 1, maxVersion: 1, codecs: 1 }, { minVersion: 1, maxVersion: 1, codecs: 2 }),
      undefined,
    );
    assert.deepEqual(
      negotiate(
        { minVersion: 1, maxVersion: 1, codecs: 0xff },
        { minVersion: 1, maxVersion: 9, codecs: 0x81 },
      ),
      {
        version: 1,
        codec: 1,
      },
    );
  });

  it('maps REJECT reasons to client errors with the reason name', () => {
    const cases: [number, string, string][] = [
      [1, 'UNAUTHENTICATED', 'UNKNOWN_KEY'],
      [2, 'UNAUTHENTICATED', 'NO_CERTIFICATE'],
      [3, 'UNAUTHENTICATED', 'BAD_CERTIFICATE'],
      [4, 'HANDSHAKE_FAILED', 'VERSION'],
      [5, 'CONNECTION_LIMIT', 'OVERLOADED'],
      [6, 'UNAUTHENTICATED', 'EXPIRED'],
      [0x7f, 'UNAUTHENTICATED', 'REASON_0x7f'],
    ];
    for (const [reason, code, name] of cases) {
      const err = rejectionError(reason, 'why');
      assert.equal(err.code, code);
      assert.equal(err.remoteCode, name);
      assert.equal(rejectReasonName(reason), name);
      assert.match(err.message, /why/);
    }
  });
});
