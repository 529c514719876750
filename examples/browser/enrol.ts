/**
 * DEVELOPMENT ONLY: the enrol endpoint, `POST /enrol`, on only when the server runs with `--dev-enrol`.
 * It adds a browser's key to the server's authorized keys under a name the user types, so that a
 * person can try the page without copying a key into a file. It does not open the server to anyone
 * who can reach it: a request must carry the enrolment token the server printed in its terminal
 * (inside the URL to open, after `#`, which browsers never send), and come from the page itself:
 *
 * - `Host` must be one of the server's own addresses (a DNS-rebinding site has another host name);
 * - `Origin` must be the server's own origin, and the body JSON (`content-type: application/json`), so
 *   another site's page can neither post a form here nor read an answer (it gets no CORS headers);
 * - the token is compared in constant time; names are unique, so nobody can enrol as someone else;
 * - at most MAX_ENROLMENTS keys, each request body at most MAX_BODY bytes.
 *
 * What it cannot do: prove that the person who enrols is who the name says. In production there is no
 * such endpoint: keys are added by someone who may (an `authorized_keys` file, watched), or a key signs
 * a grant for the browser's key (see docs/SECURITY.md).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizedKeys } from '../../src/index.js';

/** Keys the endpoint adds at most. */
export const MAX_ENROLMENTS = 32;
/** Largest request body, bytes. */
export const MAX_BODY = 1024;
const KEY_ID = /^[A-Za-z0-9_-]{43}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$/;

/** What the server reports for each enrolment. */
export type EnrolLog = (line: string) => void;

export interface DevEnrolment {
  /** The secret the page must present; print it only to the person running the server. */
  readonly token: string;
  /** Answers `POST /enrol`; never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * An enrol endpoint that adds keys to `keys` (a list in code). `hosts` are the `host:port` values the
 * server answers to; the page's origin is `http://` + one of them.
 */
export function devEnrolment(keys: AuthorizedKeys, hosts: readonly string[], log: EnrolLog): DevEnrolment {
  const token = randomBytes(18).toString('base64url');
  const expected = Buffer.from(token);
  const origins = new Set(hosts.map((h) => `http://${h}`));

  const answer = (res: ServerResponse, status: number, body: Record<string, unknown>) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const enrol = (body: unknown): { status: number; body: Record<string, unknown> } => {
    const { id, name, token: given } = (body ?? {}) as Record<string, unknown>;
    const presented = Buffer.from(typeof given === 'string' ? given : '');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected))
      return { status: 403, body: { error: 'wrong enrolment token: open the URL the server printed' } };
    if (typeof id !== 'string' || !KEY_ID.test(id)) return { status: 400, body: { error: 'bad key id' } };
    if (typeof name !== 'string' || !NAME.test(name))
      return { status: 400, body: { error: 'a name is 1 to 32 letters, digits, spaces, . _ -' } };
    const entries = keys.entries();
    if (entries.some((e) => e.name === name && e.id !== id))
      return { status: 409, body: { error: `${name} is taken by another key` } };
    const others = entries.filter((e) => e.id !== id);
    if (others.length >= MAX_ENROLMENTS) return { status: 429, body: { error: 'too many keys enrolled' } };
    try {
      keys.update([...others.map((e) => ({ key: e.id, name: e.name, admin: e.admin })), { key: id, name }]);
    } catch (err) {
      // AuthError INVALID_KEY: 43 characters that are not a key; the keys stay as they were.
      return { status: 400, body: { error: (err as Error).message } };
    }
    log(`enrolled ${name}: ${id}`);
    return { status: 200, body: { name } };
  };

  /** Why a request may not enrol anything before its body is read, or undefined. */
  const refusal = (req: IncomingMessage): [number, string] | undefined => {
    if (req.method !== 'POST') return [405, 'POST only'];
    if (!hosts.includes(req.headers.host ?? '')) return [421, 'unknown host'];
    if (!origins.has(req.headers.origin ?? '')) return [403, 'not from this page'];
    if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
      return [415, 'application/json only'];
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const refused = refusal(req);
    if (refused) {
      answer(res, refused[0], { error: refused[1] });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY) return; // answered already
      size += chunk.length;
      if (size > MAX_BODY) {
        answer(res, 413, { error: 'body too large' });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const out = body === undefined ? { status: 400, body: { error: 'not JSON' } } : enrol(body);
      answer(res, out.status, out.body);
    });
    req.on('error', () => undefined);
  };

  return { token, handle };
}
