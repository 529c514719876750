/**
 * The browser bundle (scripts/build-browser.mjs → dist/browser/rxchan.js) holds no Node built-in and no
 * Buffer polyfill: only the minimal globals of src/platform/browser/node-globals.ts. Needs no browser.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { browserBundle } from './support.js';

describe('the browser bundle', () => {
  it('imports no node: module and no Buffer polyfill, and is ESM', async () => {
    const { file, metafile } = await browserBundle();
    const inputs = Object.keys(metafile.inputs);
    const imports = Object.values(metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    assert.deepEqual(
      imports.filter((p) => p.startsWith('node:')),
      [],
    );
    assert.deepEqual(
      inputs.filter((p) =>
        /node_modules\/(buffer|safe-buffer|base64-js|ieee754|process|events|readable-stream|ws)\//.test(p),
      ),
      [],
    );
    assert.deepEqual(
      inputs.filter(
        (p) =>
          /src\/platform\/node\/|src\/transport\/connection\/(tls|tcp|listener|ws-|inband\.|prelude-exchange|read-exactly|server-trust)|src\/auth\//.test(
            p,
          ) &&
          !/src\/auth\/(errors|key-codec|authorized-keys-format|grant-codec|web-peer|browser-identity|browser-key-store)\.js$/.test(
            p,
          ),
      ),
      [],
      'no Node platform module, TLS, TCP, Node handshake or auth file (but the Node-free key codec, key-list and grant formats and browser identity)',
    );
    const code = readFileSync(file, 'utf8');
    assert.doesNotMatch(code, /\brequire\(|["']node:[a-z_/]+["']/);
    assert.match(code, /export\{/);
  });

  it('has a build for bundlers that leaves the peer dependencies to the app', async () => {
    const { peers } = await browserBundle();
    assert.ok(peers !== undefined);
    const imports = new Set(
      Object.values(peers.metafile.inputs).flatMap((i) =>
        i.imports.filter((x) => x.external).map((x) => x.path),
      ),
    );
    const bare = [...imports].filter((p) => !p.endsWith('node-globals.js') && p !== '<runtime>').sort();
    assert.deepEqual(bare, ['@opentelemetry/api', 'reflect-metadata', 'rxjs', 'tsyringe']);
    const inputs = Object.keys(peers.metafile.inputs);
    assert.deepEqual(
      inputs.filter((p) => /node_modules\/(rxjs|tsyringe|reflect-metadata|@opentelemetry)\//.test(p)),
      [],
    );
    assert.ok(peers.bytes < 0.9 * (await browserBundle()).bytes, 'smaller than the standalone bundle');
  });
});
