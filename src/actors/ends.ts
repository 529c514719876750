/**
 * Releasing what a call carried when it will not be served, or failed: every channel end and byte
 * stream in its message, at any depth (the channel layer carries them anywhere in the data, not only as
 * top-level arguments). A Receiver is cancelled (the sender sees CHANNEL_CANCELLED), a Sender closed, a
 * Readable or Writable destroyed (its stream is reset: the caller's own Readable/Writable is destroyed
 * by the channel layer). So a refused call leaves nothing open on either side, and neither side's
 * close waits for it.
 */
import { Readable, Writable } from 'node:stream';
import { Receiver, Sender } from '../transport/channel/index.js';
import { isRef } from './ref.js';

/**
 * Values visited at most, per call. A received message is already bounded (maxMessageSize,
 * maxNestingDepth, maxReferencesPerMessage); this bounds a walk over values a handler may have changed.
 */
export const MAX_RELEASE_VISITS = 100_000;

/** Release every end in `value` (see the file comment). Never throws. */
export function releaseEnds(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const seen = new Set<object>();
  const stack: object[] = [value];
  while (stack.length > 0 && seen.size < MAX_RELEASE_VISITS) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    try {
      if (v instanceof Receiver) v.cancel();
      else if (v instanceof Sender) v.close();
      else if (v instanceof Readable || v instanceof Writable) {
        if (!v.destroyed) v.destroy();
      } else if (Array.isArray(v)) push(stack, v);
      else if (v instanceof Map) push(stack, v.values());
      else if (isPlain(v)) push(stack, Object.values(v));
    } catch {
      // A stream whose destroy() throws is the owner's bug; the rest is still released.
    }
  }
}

function push(stack: object[], items: Iterable<unknown>): void {
  for (const item of items) if (item !== null && typeof item === 'object') stack.push(item);
}

/** Data as the MessagePack decoder makes it; never a ref, a class instance or a typed array. */
function isPlain(v: object): boolean {
  if (isRef(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
