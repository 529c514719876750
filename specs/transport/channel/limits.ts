/**
 * Channel scenarios about bad peer input and limits: each breaks one channel (or refuses one stream) and
 * shows the connection goes on.
 */
import assert from 'node:assert/strict';
import { ExtData, encode } from '@msgpack/msgpack';
import { frameRecord, Preface, Receiver, RecordType, Sender } from '../../../src/transport/channel/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import type { Stream } from '../../../src/transport/mux/index.js';
import {
  all,
  collect,
  isCode,
  rawMessage,
  rawStream,
  ref,
  roundTrip,
  type Scenario,
  T,
  unusedId,
} from './helpers.js';
import { waitFor, within } from './pair.js';

export const limitScenarios: Scenario[] = [
  {
    name: 'bad references: BAD_REFERENCE on that channel, and the connection goes on',
    async run(p) {
      const ownOfB = p.b.mux.role === 'client' ? 1 : 2;
      const cases: [string, (raw: Stream) => { extra?: { closed: Promise<unknown>; stream: Stream } }][] = [
        [
          'a stream the peer did not open',
          (raw) => {
            raw.write(rawMessage({ r: ref(unusedId(p.a), Preface.NESTED_SEND) }));
            return {};
          },
        ],
        [
          'one of the receiving side’s own ids',
          (raw) => {
            raw.write(rawMessage({ r: ref(ownOfB, Preface.NESTED_SEND) }));
            return {};
          },
        ],
        [
          'a preface other than the one the stream was opened with',
          (raw) => {
            const nested = rawStream(p.a, Preface.NESTED_SEND);
            raw.write(rawMessage({ r: ref(nested.stream.id, Preface.NESTED_RECV) }));
            return { extra: nested };
          },
        ],
        [
          'a payload of the wrong length',
          (raw) => {
            raw.write(rawMessage({ r: new ExtData(1, Uint8Array.of(0, 0, 0, 1)) }));
            return {};
          },
        ],
        [
          'the same stream twice in one message',
          (raw) => {
            const nested = rawStream(p.a, Preface.NESTED_SEND);
            const r = ref(nested.stream.id, Preface.NESTED_SEND);
            raw.write(rawMessage([r, r]));
            return { extra: nested };
          },
        ],
      ];
      for (const [name, make] of cases) {
        const raw = rawStream(p.a, Preface.CHANNEL);
        const { extra } = make(raw.stream);
        const { values, error } = await collect(await within(p.b.accept(), T, 'accept'));
        assert.deepEqual(values, [], name);
        assert.ok(isTransportError(error, 'BAD_REFERENCE'), `${name}: ${String(error)}`);
        assert.ok(isTransportError(await within(raw.closed, T, 'raw reset'), 'STREAM_RESET'), name);
        extra?.stream.reset();
      }
      // A second claim in a later message: the first message is fine, the second is not.
      const raw = rawStream(p.a, Preface.CHANNEL);
      const nested = rawStream(p.a, Preface.NESTED_SEND);
      raw.stream.write(rawMessage({ r: ref(nested.stream.id, Preface.NESTED_SEND) }));
      raw.stream.write(rawMessage({ r: ref(nested.stream.id, Preface.NESTED_SEND) }));
      const { values, error } = await collect(await p.b.accept<{ r: Receiver }>());
      assert.equal(values.length, 1);
      assert.ok(values[0]!.r instanceof Receiver);
      assert.ok(isTransportError(error, 'BAD_REFERENCE'), String(error));
      nested.stream.end();
      assert.deepEqual(await all(values[0]!.r), []);
      await roundTrip(p);
    },
  },
  {
    name: 'a message above maxMessageSize: MESSAGE_TOO_LARGE on that channel only',
    options: { a: { maxMessageSize: 4096 }, b: { maxMessageSize: 1024 } },
    async run(p) {
      const s = p.a.open<Uint8Array>();
      await assert.rejects(s.send(new Uint8Array(5000)), isCode('MESSAGE_TOO_LARGE')); // our own limit
      await s.send(new Uint8Array(10)); // the channel goes on
      await s.send(new Uint8Array(2000)); // within ours, above the peer's
      const { values, error } = await collect(await p.b.accept<Uint8Array>());
      assert.deepEqual(values, [new Uint8Array(10)]);
      assert.ok(isTransportError(error, 'MESSAGE_TOO_LARGE'), String(error));
      assert.ok(isTransportError(await within(s.closed, T, 'cancel'), 'CHANNEL_CANCELLED'));
      await roundTrip(p);
    },
  },
  {
    name: 'maxUnclaimedStreams: a nested stream beyond it is reset, the others wait to be claimed',
    options: { b: { maxUnclaimedStreams: 2 } },
    async run(p) {
      const n1 = rawStream(p.a, Preface.NESTED_SEND);
      const n2 = rawStream(p.a, Preface.NESTED_SEND);
      const n3 = rawStream(p.a, Preface.NESTED_SEND);
      assert.ok(isTransportError(await within(n3.closed, T, 'the third reset'), 'STREAM_RESET'));
      assert.equal(p.b.unclaimedCount, 2);
      // The first two are still good: name one in a message.
      const raw = rawStream(p.a, Preface.CHANNEL);
      raw.stream.write(rawMessage({ r: ref(n1.stream.id, Preface.NESTED_SEND) }));
      raw.stream.end();
      const [m] = await all(await p.b.accept<{ r: Receiver }>());
      assert.ok(m!.r instanceof Receiver);
      assert.equal(p.b.unclaimedCount, 1);
      n1.stream.write(frameRecord(RecordType.MESSAGE, encode('hi')));
      n1.stream.end();
      assert.deepEqual(await all(m!.r), ['hi']);
      // An unclaimed stream its opener resets stops counting, and stays claimable as a reset end.
      n2.stream.reset();
      await waitFor(() => p.b.unclaimedCount === 0, T, 'n2 to leave the count');
      const n4 = rawStream(p.a, Preface.NESTED_SEND);
      const late = rawStream(p.a, Preface.CHANNEL);
      late.stream.write(rawMessage({ r: ref(n2.stream.id, Preface.NESTED_SEND) }));
      late.stream.end();
      const [m2] = await all(await p.b.accept<{ r: Receiver }>());
      assert.ok(isTransportError((await collect(m2!.r)).error, 'STREAM_RESET'));
      await waitFor(() => p.b.unclaimedCount === 1, T, 'n4 to be counted');
      n4.stream.reset();
      await roundTrip(p);
    },
  },
  {
    name: 'one subscriber per Receiver; an end can be sent once',
    async run(p) {
      const s = p.a.open<unknown>();
      const reply = new Receiver<string>();
      await s.send({ reply });
      await assert.rejects(s.send({ again: reply }), isCode('ENCODE_ERROR'));
      const twice = new Sender();
      await assert.rejects(s.send([twice, twice]), isCode('ENCODE_ERROR'));
      await assert.rejects(s.send({ f: () => 1 }), isCode('ENCODE_ERROR'));
      await s.send('ok');
      s.close();
      const r = await p.b.accept<unknown>();
      const values = all(r);
      const second = collect(r);
      assert.ok(isTransportError((await second).error, 'ALREADY_SUBSCRIBED'));
      const [m, ok] = await values;
      assert.equal(ok, 'ok');
      const peerSender = (m as { reply: Sender<string> }).reply;
      assert.ok(peerSender instanceof Sender);
      await peerSender.send('back');
      peerSender.close();
      assert.deepEqual(await all(reply), ['back']);
    },
  },
  {
    name: 'an unknown preface resets that stream only',
    async run(p) {
      const odd = rawStream(p.a, 0x09);
      assert.ok(isTransportError(await within(odd.closed, T, 'the reset'), 'STREAM_RESET'));
      await roundTrip(p);
    },
  },
  {
    name: 'bad records: unknown type, invalid MessagePack, a malformed ERROR, a cut record -> DECODE_ERROR',
    async run(p) {
      const bad: [string, Uint8Array[]][] = [
        ['an unknown record type', [Uint8Array.of(0, 0, 0, 1, 0x07, 0xc0)]],
        ['a body that is not MessagePack', [Uint8Array.of(0, 0, 0, 1, 0x00, 0xc1)]],
        ['two values in one body', [Uint8Array.of(0, 0, 0, 2, 0x00, 0x01, 0x02)]],
        ['an ERROR body without a code', [frameRecord(RecordType.ERROR, encode({ message: 'm' }))]],
        ['a record cut by FIN', [Uint8Array.of(0, 0, 0, 9, 0x00, 0x01)]],
      ];
      for (const [name, bytes] of bad) {
        const raw = rawStream(p.a, Preface.CHANNEL);
        raw.stream.write(frameRecord(RecordType.MESSAGE, encode('before')));
        for (const b of bytes) raw.stream.write(b);
        raw.stream.end();
        const { values, error } = await collect(await within(p.b.accept(), T, 'accept'));
        assert.deepEqual(values, ['before'], name);
        assert.ok(isTransportError(error, 'DECODE_ERROR'), `${name}: ${String(error)}`);
        await within(raw.closed, T, 'the raw stream to close');
      }
      await roundTrip(p);
    },
  },
  {
    name: 'maxAcceptBacklog: a top-level channel beyond it is reset',
    options: { b: { maxAcceptBacklog: 1 } },
    async run(p) {
      const s1 = p.a.open<number>();
      const s2 = p.a.open<number>();
      await s1.send(1);
      await s2.send(2);
      assert.ok(isTransportError(await within(s2.closed, T, 's2 reset'), 'CHANNEL_CANCELLED'));
      s1.close();
      assert.deepEqual(await all(await p.b.accept<number>()), [1]);
      await roundTrip(p);
    },
  },
  {
    name: 'maxReferencesPerMessage and maxNestingDepth on receive: REFERENCE_LIMIT, named streams reset',
    options: { b: { maxReferencesPerMessage: 1, maxNestingDepth: 4 } },
    async run(p) {
      const s = p.a.open<unknown>();
      const ends = [new Receiver(), new Receiver()];
      await s.send(ends);
      const { values, error } = await collect(await p.b.accept());
      assert.deepEqual(values, []);
      assert.ok(isTransportError(error, 'REFERENCE_LIMIT'), String(error));
      for (const r of ends) assert.ok(isTransportError((await collect(r)).error, 'STREAM_RESET'));
      assert.equal(p.b.unclaimedCount, 0);
      const deep = p.a.open<unknown>();
      await deep.send([[[[1]]]]);
      assert.ok(isTransportError((await collect(await p.b.accept())).error, 'REFERENCE_LIMIT'));
      await roundTrip(p);
    },
  },
];
