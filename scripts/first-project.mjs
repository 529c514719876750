#!/usr/bin/env node
// A first project, as a new user makes it from README.md's "Your first service", in an empty temp
// folder: `npm pack` this checkout, write the files the README shows (each code block after a
// `<!-- file: NAME -->` line), install the tarball and the app's dependencies, compile with tsc, make
// the keys with the installed CLI (the block after `<!-- run: keys -->`, run as is), run the server
// and the client, and compare what they print with the blocks after `<!-- output: server -->` and
// `<!-- output: client -->`. Also checks that the app holds one copy of each of rxchan's peer
// dependencies. The README is the only source of the app, so the two cannot drift.
//
// Needs the npm registry (or npm's cache: installs prefer it). Exits 0 when everything matched, 1 on
// the first mismatch or failed step (with what differed). `--keep` leaves the temp folder in place.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const PEERS = ['rxjs', 'tsyringe', 'reflect-metadata', '@opentelemetry/api'];
/** How long one program of the app may run, ms. */
const PROGRAM_TIMEOUT_MS = 20_000;
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

const started = performance.now();
const timings = [];
const work = mkdtempSync(join(tmpdir(), 'rxchan-first-'));
const app = join(work, 'hello-rxchan');

function fail(message) {
  console.error(`first-project: FAILED: ${message}`);
  console.error(`first-project: the app is in ${app}`);
  process.exit(1);
}

/** Runs `command` to completion (inheriting stderr), returns its stdout; fails on a non-zero exit. */
function run(step, command, args, options = {}) {
  const t0 = performance.now();
  const result = spawnSync(command, args, {
    cwd: app,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
    ...options,
  });
  timings.push([step, performance.now() - t0]);
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? '');
    fail(`${step}: ${command} ${args.join(' ')} exited ${result.status ?? result.signal}`);
  }
  return result.stdout;
}

/** README.md's blocks after `<!-- KIND: NAME -->` lines, by NAME. */
function blocks(readme, kind) {
  const out = new Map();
  const pattern = new RegExp(`<!-- ${kind}: (\\S+) -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n`, 'g');
  for (const [, name, body] of readme.matchAll(pattern)) {
    if (out.has(name)) fail(`README.md has two "${kind}: ${name}" blocks`);
    out.set(name, body);
  }
  return out;
}

/** A port free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Every installed copy of package `name` under `dir`: the folders holding its package.json. */
function copies(dir, name, depth = 0) {
  const found = [];
  const modules = join(dir, 'node_modules');
  let entries;
  try {
    entries = readdirSync(modules);
  } catch {
    return found;
  }
  if (depth > 20) fail(`node_modules nested deeper than 20 levels under ${dir}`);
  for (const entry of entries) {
    const names = entry.startsWith('@')
      ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`)
      : [entry];
    for (const pkg of names) {
      const folder = join(modules, pkg);
      if (!statSync(folder).isDirectory()) continue;
      if (pkg === name) found.push(folder);
      found.push(...copies(folder, name, depth + 1));
    }
  }
  return found;
}

/** Starts `node file`; resolves with the child and its stdout so far once stdout has a line. */
function startServer(env) {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: app,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const ready = new Promise((resolve) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve();
    });
  });
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
    fail(`the server printed no line within ${PROGRAM_TIMEOUT_MS} ms`);
  }, PROGRAM_TIMEOUT_MS);
  let up = false;
  exited.then((code) => {
    if (!up) fail(`the server exited ${code} before it printed a line: ${stdout}`);
  });
  return ready.then(() => {
    up = true;
    clearTimeout(timer);
    timings.push(['server start', performance.now() - t0]);
    return { child, exited, output: () => stdout };
  });
}

function expectOutput(program, actual, expected) {
  if (actual !== expected) {
    fail(`${program} printed\n${actual}\ninstead of (README.md, "output: ${program}")\n${expected}`);
  }
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const files = blocks(readme, 'file');
const outputs = blocks(readme, 'output');
const scripts = blocks(readme, 'run');
for (const name of ['package.json', 'tsconfig.json', 'server.ts', 'client.ts']) {
  if (!files.has(name)) fail(`README.md has no "file: ${name}" block`);
}
for (const name of ['server', 'client'])
  if (!outputs.has(name)) fail(`README.md has no "output: ${name}" block`);
if (!scripts.has('keys')) fail('README.md has no "run: keys" block');

// 1. The tarball, as `npm pack` makes it (its `prepare` builds dist/src).
// `prepare` prints on the same stdout as --json (the browser bundle's sizes): the JSON is the last part.
const packOutput = run('npm pack', 'npm', ['pack', '--json', '--pack-destination', work, ...NPM_FLAGS], {
  cwd: root,
});
const jsonStart = packOutput.search(/^\[/m);
if (jsonStart < 0) fail(`npm pack printed no JSON:\n${packOutput}`);
const packed = JSON.parse(packOutput.slice(jsonStart));
const tarball = join(work, packed[0].filename);
console.log(
  `first-project: ${packed[0].filename}: ${packed[0].entryCount} files, ${packed[0].size} bytes packed, ${packed[0].unpackedSize} unpacked`,
);

// 2. The app, from the README alone.
mkdirSync(app);
for (const [name, body] of files) writeFileSync(join(app, name), body);
run('npm install', 'npm', ['install', tarball, ...NPM_FLAGS]);
run('tsc', 'npx', ['--no', 'tsc']);
// npm_config_yes=false: `npx rxchan` runs the installed bin, or fails; it never fetches a package.
run('keys', 'sh', ['-e', '-c', scripts.get('keys')], { env: { ...process.env, npm_config_yes: 'false' } });

// 3. One copy of each peer dependency, as `npm ls` and the disk both say.
console.log(run('npm ls', 'npm', ['ls', ...PEERS]).trimEnd());
for (const name of PEERS) {
  const found = copies(app, name);
  if (found.length !== 1) fail(`${found.length} copies of ${name}: ${found.join(', ')}`);
}

// 4. The server, the client, and what they print.
const port = await freePort();
const env = { ...process.env, PORT: String(port) };
const server = await startServer(env);
const client = run('client', process.execPath, ['dist/client.js'], { env, timeout: PROGRAM_TIMEOUT_MS });
expectOutput('client', client, outputs.get('client'));
const t0 = performance.now();
server.child.kill('SIGTERM');
const timer = setTimeout(() => {
  server.child.kill('SIGKILL');
  fail(`the server did not exit within ${PROGRAM_TIMEOUT_MS} ms of SIGTERM`);
}, PROGRAM_TIMEOUT_MS);
const code = await server.exited;
clearTimeout(timer);
timings.push(['server close', performance.now() - t0]);
if (code !== 0) fail(`the server exited ${code} after SIGTERM, not 0`);
expectOutput('server', server.output(), outputs.get('server').replaceAll(':7000', `:${port}`));

if (!keep) rmSync(work, { recursive: true, force: true });
const steps = timings.map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`).join(', ');
console.log(`first-project: ok in ${((performance.now() - started) / 1000).toFixed(1)} s (${steps})`);
