/**
 * What a ChannelSession puts on the wire, checked against docs/PROTOCOL.md byte for byte, and the
 * unclaimed table's bounds.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { ChannelSession, Preface, Receiver } from '../../../src/transport/channel/index.js';
import type { StreamPort } from '../../../src/transport/channel/port.js';
import { UnclaimedTable } from '../../../src/transport/channel/unclaimed.js';
import { Session } from '../../../src/transport/mux/index.js';
import { hex, vector } from '../../support/vectors.js';

/** A Duplex that records what is written to it and never answers. */
class Capture extends Duplex {
  readonly written: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.written.push(chunk);
    cb();
  }
  override _read(): void {}
}

describe('channel session wire', () => {
  it('opens a top-level channel with the SYN Data frame of the vector', async () => {
    const socket = new Capture();
    const mux = new Session(socket, 'client', { keepAliveIntervalMs: 0 });
    const channels = new ChannelSession(mux);
    channels.open();
    await new Promise((r) => setImmediate(r));
    const bytes = Buffer.concat(socket.written);
    assert.equal(hex(bytes.subarray(0, 13)), hex(vector('channel.open-syn')));
    channels.destroy();
  });

  it('writes a nested stream SYN before the record that names it', async () => {
    const socket = new Capture();
    const mux = new Session(socket, 'client', { keepAliveIntervalMs: 0 });
    const channels = new ChannelSession(mux);
    const sender = channels.open<unknown>();
    await sender.send({ op: 'add', args: [1, 2], reply: new Receiver() });
    await new Promise((r) => setImmediate(r));
    const bytes = Buffer.concat(socket.written);
    // stream 1: SYN + CHANNEL preface; stream 3: SYN + NESTED_RECV preface and its FIN, in one Data frame
    // (SYN|FIN); then the record.
    const nestedSyn = Buffer.from([0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 1, Preface.NESTED_RECV]);
    const record = Buffer.from(vector('channel.record-call'));
    const synAt = bytes.indexOf(nestedSyn);
    const recordAt = bytes.indexOf(record);
    assert.ok(synAt > 0, 'the nested SYN is on the wire');
    assert.ok(recordAt > synAt, 'the record comes after the SYN of the stream it names');
    channels.destroy();
  });
});

describe('UnclaimedTable', () => {
  const port = (id: number) => ({ id, onOrphanClose: undefined }) as unknown as StreamPort;

  it('counts live entries toward the limit and refuses beyond it', () => {
    const t = new UnclaimedTable(2);
    assert.ok(t.add(port(2)));
    assert.ok(t.add(port(4)));
    assert.equal(t.add(port(6)), false);
    assert.equal(t.size, 2);
  });

  it('keeps a reset entry claimable without counting it, and forgets the oldest dead beyond the limit', () => {
    const t = new UnclaimedTable(2);
    const ports = [2, 4, 6, 8].map(port);
    for (const p of ports.slice(0, 2)) t.add(p);
    ports[0]!.onOrphanClose!(ports[0]!);
    assert.equal(t.size, 1);
    assert.equal(t.get(2), ports[0]);
    t.add(ports[2]!);
    ports[1]!.onOrphanClose!(ports[1]!);
    ports[2]!.onOrphanClose!(ports[2]!);
    assert.equal(t.size, 0);
    assert.equal(t.get(2), undefined, 'the oldest dead entry is forgotten');
    assert.equal(t.get(4), ports[1]);
    assert.equal(t.get(6), ports[2]);
    t.delete(4);
    assert.equal(t.get(4), undefined);
  });
});
