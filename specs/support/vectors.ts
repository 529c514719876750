/**
 * Hex test vectors live in docs/PROTOCOL.md, next to the prose that defines them, so the document
 * cannot drift from the code. A vector is a fenced block introduced by an HTML comment naming it:
 *
 *     <!-- vector: mux.data-syn -->
 *     ```hex
 *     00 00 00 01 00 00 00 01 00 00 00 05
 *     ```
 *
 * Whitespace and `#` comments inside the block are ignored. `vector(name)` returns the bytes and
 * throws if the name is missing, so a renamed vector fails the spec that uses it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/specs/support/vectors.js -> repository root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let cache: Map<string, Uint8Array> | undefined;

/** Every vector in docs/PROTOCOL.md, by name. */
export function allVectors(): Map<string, Uint8Array> {
  if (cache) return cache;
  const text = readFileSync(join(root, 'docs', 'PROTOCOL.md'), 'utf8');
  const re = /<!--\s*vector:\s*([\w.-]+)\s*-->\s*```hex\n([\s\S]*?)```/g;
  const out = new Map<string, Uint8Array>();
  for (const m of text.matchAll(re)) {
    const name = m[1]!;
    const hex = m[2]!
      .split('\n')
      .map((line) => line.replace(/#.*$/, ''))
      .join('')
      .replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`vector ${name}: not hex`);
    if (out.has(name)) throw new Error(`vector ${name} is defined twice`);
    out.set(name, Uint8Array.from(Buffer.from(hex, 'hex')));
  }
  cache = out;
  return out;
}

/** The bytes of one named vector; throws when it is not in the document. */
export function vector(name: string): Uint8Array {
  const v = allVectors().get(name);
  if (!v) throw new Error(`no vector named ${name} in docs/PROTOCOL.md`);
  return v;
}

/** Lowercase hex with a space between bytes, for readable assertion messages. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}
