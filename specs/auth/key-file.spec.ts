import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  encodeKey,
  formatKeyFile,
  Identity,
  isAuthError,
  KEY_FILE_TAG,
  parseKeyFile,
} from '../../src/auth/index.js';

describe('key file format', () => {
  it('round-trips any seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        assert.deepEqual(parseKeyFile(formatKeyFile(seed)), seed);
      }),
      { numRuns: 50 },
    );
  });

  it('ignores comments, blank lines and CRLF', () => {
    const seed = new Uint8Array(32).fill(3);
    const id = Identity.fromSeed(seed).id;
    const text = `\r\n# hello\r\n\r\n  ${KEY_FILE_TAG} ${encodeKey(seed)} ${id}  \r\n# bye\r\n`;
    assert.deepEqual(parseKeyFile(text), seed);
  });

  it('refuses malformed files with KEY_FILE_INVALID naming the file', () => {
    const seed = new Uint8Array(32).fill(4);
    const good = `${KEY_FILE_TAG} ${encodeKey(seed)} ${Identity.fromSeed(seed).id}`;
    const other = Identity.generate().id;
    for (const text of [
      '',
      '# only a comment\n',
      `${good}\n${good}\n`,
      `rxchan-ed25519-v2 ${encodeKey(seed)} ${other}\n`,
      `${KEY_FILE_TAG} ${encodeKey(seed)}\n`,
      `${KEY_FILE_TAG} ${encodeKey(seed)} ${other}\n`,
      `${KEY_FILE_TAG} short ${other}\n`,
      `${good} extra\n`,
    ]) {
      assert.throws(
        () => parseKeyFile(text, 'my.key'),
        (err: unknown) => isAuthError(err, 'KEY_FILE_INVALID') && err.message.startsWith('my.key'),
        JSON.stringify(text),
      );
    }
  });

  it('never throws anything but KEY_FILE_INVALID on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseKeyFile(text);
          assert.fail('random text parsed as a key file');
        } catch (err) {
          assert.ok(isAuthError(err, 'KEY_FILE_INVALID'), String(err));
        }
      }),
    );
  });
});
