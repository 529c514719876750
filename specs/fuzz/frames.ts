/**
 * Structured yamux input: sequences of well-formed frame headers (random types, flag sets, stream ids
 * drawn from a few of the peer's and our own, window deltas and lengths on their limits) with real
 * payloads. Random bytes almost never get past "a frame for a stream never opened"; these reach the
 * stream state machine (open, data, window, half-close, reset, backlog and stream limits, GoAway) and
 * can then be damaged like any other seed.
 */
import fc from 'fast-check';
import { encodeHeader, Flag, FrameType, INITIAL_STREAM_WINDOW } from '../../src/transport/mux/index.js';
import { concat } from './mutate.js';

const FLAG_SETS = [
  0,
  Flag.SYN,
  Flag.ACK,
  Flag.FIN,
  Flag.RST,
  Flag.SYN | Flag.FIN,
  Flag.SYN | Flag.ACK,
  Flag.ACK | Flag.FIN,
  Flag.FIN | Flag.RST,
  Flag.SYN | 0x10,
];

const DELTAS = [0, 1, 1000, INITIAL_STREAM_WINDOW, 0x7fff_ffff, 0xffff_ffff];

/**
 * Frames as a peer of a session in `sessionRole` would send them: the peer opens ids of the other
 * parity (1, 3, 5, 7 against a server; 2, 4, 6, 8 against a client); the session's own first stream
 * (1 or 2) is in the mix too, and stream 0 now and then.
 */
export function frameSequence(sessionRole: 'client' | 'server', maxFrames = 12): fc.Arbitrary<Uint8Array> {
  const peerIds = sessionRole === 'server' ? [1, 3, 5, 7] : [2, 4, 6, 8];
  const ownId = sessionRole === 'server' ? 2 : 1;
  const streamId = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...peerIds) },
    { weight: 2, arbitrary: fc.constant(ownId) },
    { weight: 1, arbitrary: fc.constant(0) },
  );
  const flags = fc.constantFrom(...FLAG_SETS);
  const data = fc
    .tuple(
      flags,
      streamId,
      fc.oneof(
        { weight: 30, arbitrary: fc.uint8Array({ maxLength: 40 }) },
        // A whole window, and one byte more: the window check.
        {
          weight: 1,
          arbitrary: fc.constantFrom(INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW + 1).map(filled),
        },
      ),
    )
    .map(([f, id, payload]) =>
      concat([
        encodeHeader({ type: FrameType.Data, flags: f, streamId: id, length: payload.length }),
        payload,
      ]),
    );
  const windowUpdate = fc
    .tuple(flags, streamId, fc.oneof(fc.constantFrom(...DELTAS), fc.nat()))
    .map(([f, id, delta]) =>
      encodeHeader({ type: FrameType.WindowUpdate, flags: f, streamId: id, length: delta }),
    );
  const ping = fc
    .tuple(fc.constantFrom(Flag.SYN, Flag.ACK, 0), fc.nat())
    .map(([f, opaque]) => encodeHeader({ type: FrameType.Ping, flags: f, streamId: 0, length: opaque }));
  const goAway = fc
    .constantFrom(0, 0, 1, 2, 7)
    .map((code) => encodeHeader({ type: FrameType.GoAway, flags: 0, streamId: 0, length: code }));
  const frame = fc.oneof(
    { weight: 6, arbitrary: data },
    { weight: 6, arbitrary: windowUpdate },
    { weight: 1, arbitrary: ping },
    { weight: 1, arbitrary: goAway },
  );
  // Most sequences first open a few streams, so the frames after them meet streams that exist.
  const opens = fc
    .integer({ min: 0, max: peerIds.length })
    .map((k) =>
      peerIds
        .slice(0, k)
        .map((id) =>
          encodeHeader({ type: FrameType.WindowUpdate, flags: Flag.SYN, streamId: id, length: 0 }),
        ),
    );
  return fc
    .tuple(opens, fc.array(frame, { minLength: 1, maxLength: maxFrames }))
    .map(([first, rest]) => concat([...first, ...rest]));
}

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0x61);
}
