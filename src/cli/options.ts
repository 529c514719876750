/**
 * The options of the commands that talk to a server: the address, the server's key and the caller's
 * identity. Light on purpose: the actor system is loaded (client.ts) only when a command runs.
 */
import { Identity } from '../auth/index.js';
import { UsageError } from './command.js';

/** Environment variable naming the key file when `--id` is not given. */
export const ID_ENV = 'RXCHAN_ID';

/** Usage text of the options every networked command takes. */
export const CONNECT_USAGE = [
  "  -k, --key SERVERKEY  the server's public key (base64url): the connection fails UNAUTHENTICATED",
  '                       unless the server proves it',
  `      --id KEYFILE     your identity (a key file, mode 0600); default: the file named by $${ID_ENV}`,
];

/** `HOST:PORT` or `[IPv6]:PORT`. Throws UsageError. */
export function parseAddress(text: string | undefined): { host: string; port: number } {
  if (text === undefined) throw new UsageError('needs HOST:PORT');
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new UsageError(`${JSON.stringify(text)} is not HOST:PORT`);
  return { host: (m[1] ?? m[2])!, port };
}

/** The identity of `--id FILE`, else of the file $RXCHAN_ID names. Throws UsageError for neither, AuthError for a bad file. */
export async function loadIdentity(file: string | undefined): Promise<Identity> {
  const path = file ?? process.env[ID_ENV];
  if (path === undefined || path === '') throw new UsageError(`needs --id KEYFILE (or $${ID_ENV})`);
  return Identity.load(path);
}
