#!/usr/bin/env node
/**
 * The browser bundles, from the compiled browser entry dist/src/browser.js:
 * - dist/browser/rxchan.js: ESM, minified, every dependency included, for a page without a bundler;
 * - dist/browser/rxchan.peers.js: the same without rxchan's peer dependencies (rxjs, tsyringe,
 *   reflect-metadata, @opentelemetry/api), which stay imports, so that an app's bundler gives rxchan
 *   the app's own copies (one tsyringe container, one rxjs): what `rxchan/browser` resolves to.
 * From the compiled
 * browser entry dist/src/browser.js (run `npm run build` or `npm run build:src` first; `npm run
 * build:browser` does both). `#platform/*` resolves to src/platform/browser through the `browser`
 * condition; the few Node globals the shared code names come from src/platform/browser/node-globals.ts.
 * Prints the minified and gzip sizes; exits 1 when the bundle imports a `node:` module.
 *
 * Also usable as a module: `buildBrowser()` returns { file, bytes, gzipBytes }.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** rxchan's peer dependencies: imports of the `peers` bundle, included in the standalone one. */
export const PEERS = ['rxjs', 'tsyringe', 'reflect-metadata', '@opentelemetry/api'];

export async function buildBrowser() {
  const standalone = await bundle('rxchan.js', []);
  const peers = await bundle('rxchan.peers.js', PEERS);
  return { ...standalone, peers };
}

async function bundle(name, external) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'dist/src/browser.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    legalComments: 'none',
    inject: [join(root, 'dist/src/platform/browser/node-globals.js')],
    external: external.flatMap((p) => [p, `${p}/*`]),
    logLevel: 'silent',
  });
  // esbuild lists the injected file as an external import of every file that uses a Node global, and
  // its own helpers (for CommonJS modules such as tweetnacl) as `<runtime>`.
  const nodeImports = new Set(
    Object.values(result.metafile.inputs)
      .flatMap((input) => input.imports)
      .filter(
        (i) =>
          i.path.startsWith('node:') ||
          (i.external &&
            !i.path.endsWith('node-globals.js') &&
            i.path !== '<runtime>' &&
            !external.some((p) => i.path === p || i.path.startsWith(`${p}/`))),
      )
      .map((i) => i.path),
  );
  if (nodeImports.size > 0) throw new Error(`the browser bundle imports ${[...nodeImports].join(', ')}`);
  const code = result.outputFiles[0].contents;
  const file = join(root, 'dist/browser', name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
  return {
    file,
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    metafile: result.metafile,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const built = await buildBrowser();
    const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
    for (const { file, bytes, gzipBytes } of [built, built.peers]) {
      console.log(`${file}: ${kib(bytes)} minified, ${kib(gzipBytes)} gzip`);
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
