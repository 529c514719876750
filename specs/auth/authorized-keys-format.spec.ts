import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type AuthorizedKey,
  encodeKey,
  formatAuthorizedKeys,
  Identity,
  isAuthError,
  parseAuthorizedKeys,
} from '../../src/auth/index.js';

const keyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
// Names: printable, no leading/trailing space, may contain inner spaces and '#'.
const name = fc
  .string({ minLength: 1, maxLength: 40 })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
  .map((s) => s.replace(/[\u0000-\u001f\u007f\s]/g, '_'))
  .chain((s) => fc.constantFrom(s, `${s} ${s}`, `${s}#x`));

describe('authorized keys format', () => {
  it('parses what it formats (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ publicKey: keyBytes, name, admin: fc.boolean() }), {
          selector: (e) => `${e.admin}${encodeKey(e.publicKey)}`,
          maxLength: 20,
        }),
        (list) => {
          const entries: AuthorizedKey[] = list.map((e) => ({ ...e, id: encodeKey(e.publicKey) }));
          assert.deepEqual(parseAuthorizedKeys(formatAuthorizedKeys(entries)), entries);
        },
      ),
    );
  });

  it('reads comments, blank lines, CRLF, extra spaces and @admin lines', () => {
    const a = Identity.generate().id;
    const b = Identity.generate().id;
    const text = `# team\r\n\r\n  ${a}   alice smith  \r\n@admin ${b} ops team\n#${a} old\n`;
    const parsed = parseAuthorizedKeys(text);
    assert.deepEqual(
      parsed.map((e) => [e.id, e.name, e.admin]),
      [
        [a, 'alice smith', false],
        [b, 'ops team', true],
      ],
    );
  });

  it('refuses malformed lines, naming the line', () => {
    const a = Identity.generate().id;
    const cases: [string, number][] = [
      [`${a}\n`, 1],
      [`# ok\n${a.slice(1)} alice\n`, 2],
      [`${a} alice\n${a} again\n`, 2],
      [`@root ${a} alice\n`, 1],
      [`@admin\n`, 1],
      [`${a}x alice\n`, 1],
      [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO alice\n`, 1],
      [`${a} ${'n'.repeat(129)}\n`, 1],
      [`${a} al\u0007ice\n`, 1],
    ];
    for (const [text, line] of cases) {
      assert.throws(
        () => parseAuthorizedKeys(text, 'keys.txt'),
        (err: unknown) =>
          isAuthError(err, 'AUTHORIZED_KEYS_INVALID') &&
          err.line === line &&
          err.message.startsWith(`keys.txt:${line}:`),
        JSON.stringify(text),
      );
    }
    // The same key as a connect line and as an admin line is allowed (two different grants of trust).
    assert.equal(parseAuthorizedKeys(`${a} alice\n@admin ${a} alice\n`).length, 2);
  });

  it('either parses or throws AUTHORIZED_KEYS_INVALID on arbitrary lines (property)', () => {
    const a = Identity.generate().id;
    const line = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ maxLength: 20 }).map((s) => `${a} ${s}`),
      fc.string({ maxLength: 20 }).map((s) => `@admin ${a}${s}`),
      fc.constant(`${a} ok`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        try {
          for (const e of parseAuthorizedKeys(lines.join('\n'))) {
            assert.equal(e.publicKey.length, 32);
            assert.ok(e.name.length > 0);
          }
        } catch (err) {
          assert.ok(isAuthError(err, 'AUTHORIZED_KEYS_INVALID'), String(err));
          assert.ok(err.line! >= 1 && err.line! <= lines.length);
        }
      }),
    );
  });
});
