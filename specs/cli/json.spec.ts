/** JSON in and out of `rxchan call`: bytes and bigints as one-key objects, both ways. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseJson, stringify } from '../../src/cli/json.js';

describe('cli json', () => {
  it('reads $bytes and $bigint, and writes them back the same way', () => {
    const text = '{"b":{"$bytes":"AQID"},"n":{"$bigint":"-9007199254740993"},"d":[1,"x",null,true]}';
    const value = parseJson(text) as { b: Uint8Array; n: bigint };
    assert.deepEqual(value.b, new Uint8Array([1, 2, 3]));
    assert.equal(value.n, -9007199254740993n);
    assert.equal(stringify(value), text);
  });

  it('writes a Buffer as bytes (not as its toJSON), undefined as null, a Date as ISO text', () => {
    assert.equal(stringify({ b: Buffer.from([255]) }), '{"b":{"$bytes":"/w=="}}');
    assert.equal(stringify(new Uint8Array(new ArrayBuffer(8), 2, 2)), '{"$bytes":"AAA="}');
    assert.equal(stringify(undefined), 'null');
    assert.equal(stringify(new Date(0)), '"1970-01-01T00:00:00.000Z"');
    assert.equal(stringify({ a: [1] }, 2), '{\n  "a": [\n    1\n  ]\n}');
    assert.throws(() => stringify({ out: Readable.from([]) }), TypeError);
  });

  it('leaves other objects alone, and refuses bad JSON or a bad $bytes/$bigint (SyntaxError)', () => {
    assert.deepEqual(parseJson('{"$bytes":"AQ==","more":1}'), { $bytes: 'AQ==', more: 1 });
    for (const bad of ['{nope', '{"$bytes":"not base64!"}', '{"$bytes":1}', '{"$bigint":"1.5"}']) {
      assert.throws(() => parseJson(bad), SyntaxError, bad);
    }
  });
});
