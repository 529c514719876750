/**
 * docs/ERRORS.md (and PROTOCOL.md section 6) checked against the code, so the reference cannot drift:
 *
 * - every code of TransportErrorCode, AuthErrorCode and RpcErrorCode has a row (`` `CODE` `` in the first
 *   cell) in its section, and no row names a code that does not exist;
 * - each transport row's "as RpcError" cell is what `toRpcError` really gives, and each "GoAway N" in its
 *   wire cell is what the multiplexer really sends;
 * - every field of the four `defaultConfig()`s has one row in the limits tables (`` `MuxConfig.field` ``),
 *   whose default cell is that default, exactly;
 * - every fixed-limit row (`` `CONSTANT` ``) equals the constant;
 * - PROTOCOL.md section 6 lists every GoAway code, REJECT reason and call error code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultRestartOptions } from '../src/actors/callee/supervisor.js';
import { DEADLINE_SKEW_MS } from '../src/actors/context.js';
import { DEFAULT_IDLE_MS, DEFAULT_MAX_ACTIVATIONS } from '../src/actors/decorators.js';
import { MAX_ERROR_ID_LENGTH, MAX_ERROR_REASON_LENGTH } from '../src/actors/error-envelope.js';
import { DEADLINE_GRACE_MS, MAX_LINGERING } from '../src/actors/link.js';
import { MAX_TIMEOUT_MS } from '../src/actors/wire.js';
import { MAX_AUTHORIZED_KEYS_BYTES, WATCH_DEBOUNCE_MS } from '../src/auth/authorized-keys.js';
import { MAX_NAME_LENGTH } from '../src/auth/authorized-keys-format.js';
import {
  CERTIFICATE_BACKDATE_MS,
  DEFAULT_CERTIFICATE_VALIDITY_MS,
  DEFAULT_CLOCK_TOLERANCE_MS,
  MAX_CERTIFICATE_VALIDITY_MS,
} from '../src/auth/certificate.js';
import { CERTIFICATE_CACHE_SIZE } from '../src/auth/certificate-check.js';
import { MAX_GRANT_NAME_BYTES } from '../src/auth/grant.js';
import { MAX_KEY_FILE_BYTES } from '../src/auth/key-file.js';
import { MAX_KNOWN_HOSTS_BYTES } from '../src/auth/known-hosts.js';
import {
  AuthErrorCode,
  defaultActorsConfig,
  defaultChannelConfig,
  defaultConnectionConfig,
  defaultMembershipConfig,
  defaultMuxConfig,
  MAX_MEMBER_ACTORS,
  RpcErrorCode,
  TransportErrorCode,
  toRpcError,
  transportError,
} from '../src/index.js';
import { MAX_NESTING_DEPTH } from '../src/transport/channel/config.js';
import { ITERATOR_HIGH_WATER, ITERATOR_LOW_WATER } from '../src/transport/channel/receiver.js';
import { MAX_RECORD_LENGTH } from '../src/transport/channel/record.js';
import { MAX_INBAND_GRANT, MAX_INBAND_ORIGIN } from '../src/transport/connection/inband-codec.js';
import { MAX_REJECT_MESSAGE, RejectReason } from '../src/transport/connection/prelude.js';
import { DEFAULT_MAX_SESSIONS } from '../src/transport/connection/session-store.js';
import { WS_MAX_SEND_MESSAGE } from '../src/transport/connection/ws-duplex.js';
import { GoAwayCode, INITIAL_STREAM_WINDOW } from '../src/transport/mux/frame.js';
import { MAX_QUEUED_PONGS } from '../src/transport/mux/outbox.js';
import { ACK_DELAY_MS, goAwayCodeFor, LINGER_MS } from '../src/transport/mux/session.js';
import { section } from './support/markdown.js';

// dist/specs/docs.spec.js -> the repository root is two levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const errorsMd = readFileSync(join(root, 'docs', 'ERRORS.md'), 'utf8');
const protocolMd = readFileSync(join(root, 'docs', 'PROTOCOL.md'), 'utf8');

/** The body rows of every Markdown table in `text`, as trimmed cells (header and separator rows dropped). */
function rows(text: string): string[][] {
  const out: string[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('|')) continue;
    const isHeader = lines[i + 1]?.startsWith('|---') ?? false;
    if (isHeader || line.startsWith('|---')) continue;
    out.push(
      line
        .slice(1, line.endsWith('|') ? -1 : undefined)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return out;
}

/** Rows whose first cell is exactly one backticked name, by that name. Throws on a name listed twice. */
function rowsByName(text: string, pattern: RegExp): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const cells of rows(text)) {
    const m = /^`([^`]+)`$/.exec(cells[0]!);
    if (!m || !pattern.test(m[1]!)) continue;
    assert.ok(!out.has(m[1]!), `${m[1]} has two rows`);
    out.set(m[1]!, cells);
  }
  return out;
}

/** The first backticked token of a cell, or undefined. */
function firstCode(cell: string): string | undefined {
  return /`([^`]+)`/.exec(cell)?.[1];
}

/** A default as the limits tables write it: an integer, true/false, or a 'quoted' string. */
function parseDefault(cell: string): unknown {
  if (/^-?\d+$/.test(cell)) return Number(cell);
  if (cell === 'true' || cell === 'false') return cell === 'true';
  const quoted = /^'([^']*)'$/.exec(cell);
  if (quoted) return quoted[1];
  throw new Error(`cannot read the default "${cell}": write an integer, true/false or a 'string'`);
}

function assertEveryCodeHasARow(text: string, codes: Record<string, string>, what: string): void {
  const documented = rowsByName(text, /^[A-Z][A-Z_]*$/);
  for (const code of Object.values(codes)) {
    assert.ok(documented.has(code), `${what} ${code} has no row in docs/ERRORS.md`);
  }
  for (const name of documented.keys()) {
    assert.ok(Object.values(codes).includes(name), `docs/ERRORS.md lists ${name}, which is not a ${what}`);
  }
}

describe('docs/ERRORS.md: error codes', () => {
  const transport = section(errorsMd, '## 2. Transport error codes');

  it('has a row for every TransportErrorCode, and none for a code that does not exist', () => {
    assertEveryCodeHasARow(transport, TransportErrorCode, 'TransportErrorCode');
  });

  it('has a row for every AuthErrorCode', () => {
    assertEveryCodeHasARow(section(errorsMd, '## 3. Auth error codes'), AuthErrorCode, 'AuthErrorCode');
  });

  it('has a row for every RpcErrorCode', () => {
    assertEveryCodeHasARow(section(errorsMd, '## 4. Call error codes'), RpcErrorCode, 'RpcErrorCode');
  });

  it('says for each transport code the RpcError code that toRpcError gives', () => {
    const table = rowsByName(transport, /^[A-Z_]+$/);
    for (const [code, cells] of table) {
      const cell = cells[4];
      assert.ok(cell !== undefined, `${code}: no "as RpcError" cell`);
      if (code === 'CHANNEL_ERROR') {
        // The peer's own code when it is an RpcErrorCode, else UNKNOWN.
        const relayed = transportError(code, 'probe', { remoteCode: 'NOT_FOUND' });
        assert.equal(toRpcError(relayed).code, 'NOT_FOUND');
        const foreign = transportError(code, 'probe', { remoteCode: 'NOT_AN_RPC_CODE' });
        assert.equal(toRpcError(foreign).code, 'UNKNOWN');
        assert.ok(cell.includes('`UNKNOWN`'), `${code}: the cell should name UNKNOWN`);
        continue;
      }
      const actual = toRpcError(transportError(code as TransportErrorCode, 'probe')).code;
      assert.equal(firstCode(cell), actual, `${code} surfaces as ${actual}, docs/ERRORS.md says ${cell}`);
    }
  });

  it('says for every transport code the GoAway the multiplexer sends when that code ends a session', () => {
    // goAwayCodeFor is what Session.destroy(err) sends. A row whose wire cell says "GoAway N" must get N; a
    // row that closes the connection without naming a GoAway must get none (undefined); every other row
    // (codes that end a stream, a channel, a handshake, or nothing) names no GoAway, and a session a layer
    // above destroys with such an error sends GoAway 2 (PROTOCOL.md 6.1: destroy() with an error).
    const table = rowsByName(transport, /^[A-Z_]+$/);
    assert.equal(table.size, Object.keys(TransportErrorCode).length, 'one row per TransportErrorCode');
    for (const [code, cells] of table) {
      const closes = cells[2] ?? '';
      const wire = cells[3] ?? '';
      const sent = goAwayCodeFor(transportError(code as TransportErrorCode, 'probe'));
      const m = /GoAway (\d)/.exec(wire);
      if (m) {
        assert.equal(
          sent,
          Number(m[1]),
          `${code}: docs/ERRORS.md says GoAway ${m[1]}, the multiplexer sends ${sent}`,
        );
      } else if (closes.includes('the connection')) {
        assert.equal(
          sent,
          undefined,
          `${code} closes the connection with no GoAway in its wire cell, yet GoAway ${sent} is sent`,
        );
      } else {
        assert.ok(!/GoAway/.test(wire), `${code}: "${wire}" mentions a GoAway without its code`);
        assert.equal(
          sent,
          GoAwayCode.InternalError,
          `${code}: a session destroyed with it sends GoAway ${sent}`,
        );
      }
    }
    assert.equal(goAwayCodeFor(undefined), GoAwayCode.Normal, 'a clean close sends GoAway 0');
  });
});

describe('docs/ERRORS.md: limits', () => {
  const limits = section(errorsMd, '## 6. Limits');
  const defaults: Record<string, Record<string, unknown>> = {
    MuxConfig: { ...defaultMuxConfig() },
    ChannelConfig: { ...defaultChannelConfig() },
    ConnectionConfig: { ...defaultConnectionConfig() },
    ActorsConfig: { ...defaultActorsConfig() },
    MembershipConfig: { ...defaultMembershipConfig() },
  };

  it('documents every config field of every layer with its live default', () => {
    const table = rowsByName(limits, /^\w+Config\.\w+$/);
    for (const [layer, config] of Object.entries(defaults)) {
      for (const [field, value] of Object.entries(config)) {
        const cells = table.get(`${layer}.${field}`);
        assert.ok(cells, `${layer}.${field} has no row in docs/ERRORS.md section 6`);
        assert.deepEqual(
          parseDefault(cells[1]!),
          value,
          `${layer}.${field}: docs/ERRORS.md says ${cells[1]}, defaultConfig() says ${String(value)}`,
        );
        assert.ok(
          (cells[2] ?? '') !== '' && (cells[3] ?? '') !== '',
          `${layer}.${field}: unit or 0 cell empty`,
        );
      }
    }
    for (const name of table.keys()) {
      const [layer, field] = name.split('.') as [string, string];
      assert.ok(
        defaults[layer] && field in defaults[layer],
        `docs/ERRORS.md lists ${name}, which is no config field`,
      );
    }
  });

  it('states every fixed limit as the constant has it', () => {
    const constants: Record<string, number> = {
      INITIAL_STREAM_WINDOW,
      MAX_RECORD_LENGTH,
      MAX_NESTING_DEPTH,
      MAX_TIMEOUT_MS,
      MAX_REJECT_MESSAGE,
      MAX_INBAND_GRANT,
      MAX_INBAND_ORIGIN,
      WS_MAX_SEND_MESSAGE,
      ACK_DELAY_MS,
      LINGER_MS,
      MAX_QUEUED_PONGS,
      ITERATOR_HIGH_WATER,
      ITERATOR_LOW_WATER,
      DEFAULT_MAX_SESSIONS,
      DEFAULT_CERTIFICATE_VALIDITY_MS,
      MAX_CERTIFICATE_VALIDITY_MS,
      CERTIFICATE_BACKDATE_MS,
      DEFAULT_CLOCK_TOLERANCE_MS,
      MAX_KEY_FILE_BYTES,
      MAX_AUTHORIZED_KEYS_BYTES,
      MAX_KNOWN_HOSTS_BYTES,
      MAX_NAME_LENGTH,
      MAX_GRANT_NAME_BYTES,
      WATCH_DEBOUNCE_MS,
      CERTIFICATE_CACHE_SIZE,
      DEADLINE_GRACE_MS,
      MAX_LINGERING,
      DEADLINE_SKEW_MS,
      MAX_ERROR_REASON_LENGTH,
      MAX_ERROR_ID_LENGTH,
      MAX_MEMBER_ACTORS,
    };
    const table = rowsByName(section(limits, '### 6.6 Fixed limits'), /^[A-Z][A-Z0-9_]+$/);
    for (const [name, value] of Object.entries(constants)) {
      const cells = table.get(name);
      assert.ok(cells, `${name} has no row in docs/ERRORS.md 6.6`);
      assert.equal(parseDefault(cells[1]!), value, `${name}: docs say ${cells[1]}, the code ${value}`);
    }
    for (const name of table.keys()) {
      assert.ok(name in constants, `docs/ERRORS.md 6.6 lists ${name}, which this spec does not check`);
    }
  });

  it('states the restart defaults of an actor as defaultRestartOptions() has them', () => {
    const table = rowsByName(
      section(limits, '### 6.5 Per actor and per method'),
      /^@actor\(\{ restart: \{ \w+ \} \}\)$/,
    );
    const defaults: Record<string, number> = defaultRestartOptions();
    for (const [field, value] of Object.entries(defaults)) {
      const cells = table.get(`@actor({ restart: { ${field} } })`);
      assert.ok(cells, `restart.${field} has no row in docs/ERRORS.md 6.5`);
      assert.equal(
        parseDefault(cells[1]!),
        value,
        `restart.${field}: docs say ${cells[1]}, the code ${value}`,
      );
    }
    assert.equal(table.size, Object.keys(defaults).length, 'a documented restart option the code lacks');
  });

  it('states the keyed actor defaults as the code has them', () => {
    const table = rowsByName(section(limits, '### 6.5 Per actor and per method'), /^@actor\(\{ \w+ \}\)$/);
    for (const [field, value] of Object.entries({
      idleMs: DEFAULT_IDLE_MS,
      maxActivations: DEFAULT_MAX_ACTIVATIONS,
    })) {
      const cells = table.get(`@actor({ ${field} })`);
      assert.ok(cells, `${field} has no row in docs/ERRORS.md 6.5`);
      assert.equal(parseDefault(cells[1]!), value, `${field}: docs say ${cells[1]}, the code ${value}`);
    }
  });

  it('reads a default cell strictly, so prose in it fails rather than passing unchecked', () => {
    assert.equal(parseDefault('262144'), 262144);
    assert.equal(parseDefault("'error'"), 'error');
    assert.equal(parseDefault('false'), false);
    assert.throws(() => parseDefault('256 KiB'), /cannot read the default/);
    assert.throws(() => parseDefault('none'), /cannot read the default/);
  });
});

describe('docs/PROTOCOL.md section 6: wire codes', () => {
  const wire = section(protocolMd, '## 6. Error codes');
  const cells = rows(wire);
  const rowWith = (first: string) => cells.find((c) => c[0] === first);

  it('lists every GoAway code', () => {
    for (const [name, code] of Object.entries(GoAwayCode)) {
      const hex = `\`0x${code.toString(16).padStart(8, '0')}\``;
      assert.ok(rowWith(hex), `GoAway ${name} (${hex}) has no row`);
    }
  });

  it('lists every REJECT reason with its value', () => {
    for (const [name, reason] of Object.entries(RejectReason)) {
      const row = rowWith(`\`0x${reason.toString(16).padStart(2, '0')}\``);
      assert.ok(row, `REJECT ${name} has no row`);
      assert.equal(row[1], name);
    }
  });

  it('lists every call error code sent in an ERROR record', () => {
    for (const code of Object.values(RpcErrorCode)) {
      assert.ok(rowWith(`\`${code}\``), `${code} has no row in PROTOCOL.md 6.4`);
    }
  });
});
