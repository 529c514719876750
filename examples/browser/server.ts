/**
 * The browser example's server: a ticker and a chat room, served to pages over WebSocket. One HTTP
 * server on 127.0.0.1 serves the page, the rxchan bundle and (attached at `/rxchan`) the WebSocket
 * endpoint. SIGTERM or Ctrl-C closes it gracefully and exits 0.
 *
 * Run: `npm run example:browser` (builds, bundles, starts with --dev-enrol), or after a build:
 *
 *   node dist/examples/browser/server.js [--port 8765] [--dev-enrol | --authorized-keys FILE]
 *
 * --dev-enrol          DEVELOPMENT ONLY: pages may enrol their key under a name (see enrol.ts); the
 *                      URL printed carries the enrolment token.
 * --authorized-keys F  the keys that may connect, from an authorized_keys file (reloaded when it
 *                      changes): what a real deployment does. Without either flag nobody can connect.
 */
import 'reflect-metadata';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ActorSystem, AuthorizedKeys, closeOnSignals, Identity } from '../../src/index.js';
import { Chat } from './chat.js';
import { devEnrolment } from './enrol.js';
import { Ticker } from './ticker.js';
import { webHandler } from './web.js';

const log = (line: string) => console.log(`browser: ${line}`);
/** The WebSocket endpoint's path. */
const PATH = '/rxchan';
// dist/examples/browser/server.js -> the repository root
const ROOT = join(fileURLToPath(import.meta.url), '../../../..');
const PAGE = join(ROOT, 'examples/browser/page');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8765' },
      'dev-enrol': { type: 'boolean', default: false },
      'authorized-keys': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${values.port}`);
  const devEnrol = values['dev-enrol'] === true;
  const keysFile = values['authorized-keys'];
  if (devEnrol && keysFile !== undefined)
    throw new Error('--dev-enrol and --authorized-keys exclude each other');

  // A fresh server key per run: pages pin whatever /config.json says (fine on 127.0.0.1: see README).
  const identity = Identity.generate();
  const keys = keysFile ? await AuthorizedKeys.load(keysFile, { watch: true }) : AuthorizedKeys.fromList([]);
  const system = new ActorSystem({ identity, authorizedKeys: keys });
  await system.register(Ticker);
  await system.register(Chat);

  const web = createServer();
  await new Promise<void>((resolve, reject) => {
    web.once('error', reject);
    web.listen(port, '127.0.0.1', () => {
      web.off('error', reject);
      resolve();
    });
  });
  const bound = (web.address() as AddressInfo).port;
  const hosts = [`127.0.0.1:${bound}`, `localhost:${bound}`];
  const enrolment = devEnrol ? devEnrolment(keys, hosts, log) : undefined;
  web.on(
    'request',
    webHandler(
      {
        '/': join(PAGE, 'index.html'),
        '/app.js': join(PAGE, 'app.js'),
        '/style.css': join(PAGE, 'style.css'),
        '/rxchan.js': join(ROOT, 'dist/browser/rxchan.js'),
      },
      { path: PATH, serverKey: identity.id, devEnrol },
      enrolment,
    ),
  );
  // The origins are the URLs pages dial: the handshake binds the one a page used.
  await system.listen({
    websocket: { server: web, path: PATH, origins: hosts.map((h) => `ws://${h}${PATH}`) },
  });

  closeOnSignals(system, {
    onClosed: () => {
      keys.close();
      web.close();
      web.closeAllConnections();
      log('closed');
    },
  });

  log(`server key ${identity.id}`);
  if (enrolment) {
    log('DEVELOPMENT enrolment is on: pages that open this URL may enrol their key under a name');
    log(`open http://127.0.0.1:${bound}/#enrol=${enrolment.token}`);
  } else {
    log(`open http://127.0.0.1:${bound}/ (keys from ${keysFile ?? 'nowhere: add --authorized-keys FILE'})`);
  }
  log('Ctrl-C to stop');
}

main().catch((err: unknown) => {
  console.error(`browser: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
