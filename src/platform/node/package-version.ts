/**
 * rxchan's own version: the `version` of its package.json, read at run time next to the compiled
 * code (dist/src/platform/node/package-version.js is four levels below the package root, in the
 * repository and installed).
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The package version, read once; 'unknown' if package.json cannot be read or has none. Never throws. */
export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const url = new URL('../../../../package.json', import.meta.url);
      const { version } = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
      cached = typeof version === 'string' ? version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
