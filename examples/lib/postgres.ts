/**
 * A throwaway PostgreSQL server for specs and examples/cluster: `initdb` in a new temp folder, `pg_ctl start` on a free
 * loopback port (its Unix socket in that folder too), `stop()` stops it and removes the folder. Each
 * step is bounded in time (START_TIMEOUT_MS, STOP_TIMEOUT_MS); a failed start removes what it made.
 *
 * PostgreSQL refuses to run as root: as root, the folder is given to the `postgres` user and the
 * binaries run as it (`runuser -u postgres`). {@link initdbPath} is undefined when no PostgreSQL is
 * installed; specs then skip with {@link NO_POSTGRES}.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const START_TIMEOUT_MS = 30_000;
export const STOP_TIMEOUT_MS = 15_000;

export const NO_POSTGRES =
  'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): apt-get install -y postgresql';

/** The newest installed initdb, or undefined. */
export function initdbPath(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin', 'initdb');
  }
  try {
    return execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  /** Stops the server (immediate mode) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a server. Rejects (having removed its folder) when initdb or pg_ctl fails or runs out of time. */
export async function startPostgres(): Promise<PostgresServer> {
  const initdb = initdbPath();
  if (!initdb) throw new Error(NO_POSTGRES);
  const bin = join(initdb, '..');
  const dir = mkdtempSync(join(tmpdir(), 'rxchan-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[], timeout: number) =>
    new Promise<void>((resolve, reject) => {
      const [file, argv] = asRoot
        ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
        : [join(bin, tool), args];
      execFile(file, argv, { timeout, killSignal: 'SIGKILL' }, (err, _out, stderr) =>
        err ? reject(new Error(`${tool} failed: ${err.message}\n${stderr}`)) : resolve(),
      );
    });
  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '10', 'stop'], STOP_TIMEOUT_MS).catch(
        () => {},
      );
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    await run(
      'initdb',
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
      START_TIMEOUT_MS,
    );
    const port = await freePort();
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off`;
    started = true;
    const left = Math.max(1000, deadline - Date.now());
    await run(
      'pg_ctl',
      [
        '-D',
        data,
        '-o',
        options,
        '-l',
        join(dir, 'log'),
        '-w',
        '-t',
        String(Math.ceil(left / 1000)),
        'start',
      ],
      left + 1000,
    );
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A TCP port free on 127.0.0.1 a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
