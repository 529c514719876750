/**
 * Order over TLS 1.3 (PROTOCOL.md 5.1): an actor's mailbox gets a caller's calls in the order the caller
 * made them, also when some CALL records are large enough to span many frames (and send windows) while
 * the small ones after them arrive first; and a large record holds only the calls opened after it.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { actor } from '../../src/actors/index.js';
import { type Pair, pair } from './actors-pair.js';

@actor('journal')
class Journal {
  private readonly entries: number[] = [];
  append(i: number, _padding?: Uint8Array): void {
    this.entries.push(i);
  }
  read(): number[] {
    return this.entries;
  }
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('actors over TLS: order of calls', () => {
  it('calls made without awaiting reach the mailbox in the order they were made, large records or not', async () => {
    p = await pair();
    await p.server.register(Journal);
    const journal = p.client.ref<Journal>('journal', p.peer);
    // Every fifth call carries 600 KiB: more than one send window and many frames, so the small calls
    // opened after it complete their records first.
    const big = new Uint8Array(600 * 1024).fill(1);
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) calls.push(i % 5 === 0 ? journal.append(i, big) : journal.append(i));
    await Promise.all(calls);
    assert.deepEqual(
      await journal.read(),
      Array.from({ length: 60 }, (_, i) => i),
    );
  });
});
