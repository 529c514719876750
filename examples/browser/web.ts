/**
 * The example's HTTP side: the page (its HTML, script and style), the rxchan bundle, `/config.json`
 * (what the page needs to dial: the WebSocket path and the server's key to pin) and, in development
 * only, `POST /enrol` (enrol.ts). Everything else is 404. WebSocket upgrades at the rxchan path are the
 * actor system's: it attaches to this same server.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DevEnrolment } from './enrol.js';

/** What the page reads from `/config.json`. */
export interface PageConfig {
  /** The path of the WebSocket endpoint on this server. */
  path: string;
  /** The server's rxchan key (base64url), which the page pins. */
  serverKey: string;
  /** Whether `POST /enrol` is on. */
  devEnrol: boolean;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

// Only this server's scripts, styles and connections (`'self'` covers ws:// to the same host and port).
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * A request handler serving `files` (URL path → absolute file, read on each request so an edit shows
 * on reload), the page config, and the enrol endpoint when `enrolment` is given.
 */
export function webHandler(
  files: Record<string, string>,
  config: PageConfig,
  enrolment: DevEnrolment | undefined,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/enrol' && enrolment) return enrolment.handle(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, SECURITY_HEADERS).end();
      return;
    }
    if (path === '/config.json') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json' });
      res.end(JSON.stringify(config));
      return;
    }
    const file = files[path];
    if (file === undefined) {
      res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      res.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain' });
      res.end(`cannot read ${path}: run npm run example:browser (it builds the bundle)\n`);
      return;
    }
    const type = TYPES[file.split('.').pop()!] ?? 'application/octet-stream';
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type }).end(body);
  };
}
