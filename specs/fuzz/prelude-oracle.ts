/**
 * What one side's half of the prelude (docs/PROTOCOL.md section 2) must come to, from the bytes its peer
 * wrote before hanging up: success with the bytes after the frame left unread, or the typed error the
 * document names. Written from the document's rules, not from the code.
 */
import { Codec, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../../src/transport/connection/index.js';

const MAGIC = [0x52, 0x58, 0x43, 0x48];
const NAMES: Record<number, string> = {
  1: 'UNKNOWN_KEY',
  2: 'NO_CERTIFICATE',
  3: 'BAD_CERTIFICATE',
  4: 'VERSION',
  5: 'OVERLOADED',
  6: 'EXPIRED',
};

export type PreludeOutcome =
  | { readonly ok: true; readonly frameLength: number }
  | { readonly ok: false; readonly code: string; readonly remoteCode?: string };

/** `expected` is the kind this side waits for: ACCEPT (0x02) on the client, HELLO (0x01) on the server. */
export function predictPrelude(bytes: Uint8Array, side: 'client' | 'server'): PreludeOutcome {
  const lost = { ok: false, code: 'CONNECTION_LOST' } as const;
  const failed = { ok: false, code: 'HANDSHAKE_FAILED' } as const;
  if (bytes.length < 8) return lost;
  if (MAGIC.some((b, i) => bytes[i] !== b)) return failed;
  const kind = bytes[4]!;
  if (kind === 0x03) {
    const n = (bytes[6]! << 8) | bytes[7]!;
    if (n > 1024) return failed;
    if (bytes.length < 8 + n) return lost;
    if (side === 'server') return failed; // a client may only send HELLO
    const reason = bytes[5]!;
    const remoteCode = NAMES[reason] ?? `REASON_0x${reason.toString(16).padStart(2, '0')}`;
    const code = reason === 4 ? 'HANDSHAKE_FAILED' : reason === 5 ? 'CONNECTION_LIMIT' : 'UNAUTHENTICATED';
    return { ok: false, code, remoteCode };
  }
  if (kind !== 0x01 && kind !== 0x02) return failed;
  const [min, max, codecs] = [bytes[5]!, bytes[6]!, bytes[7]!];
  if (min === 0 || min > max) return failed;
  if (kind !== (side === 'client' ? 0x02 : 0x01)) return failed;
  const common = Math.min(max, MAX_PROTOCOL_VERSION) >= Math.max(min, MIN_PROTOCOL_VERSION);
  if (!common || (codecs & Codec.MSGPACK) === 0) return failed;
  return { ok: true, frameLength: 8 };
}
