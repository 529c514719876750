/**
 * Every limit in docs/ERRORS.md section 6 is reached by a spec (issue 11 #8). `specs/docs.spec.ts`
 * checks that the tables agree with the code; this spec checks that each row is hit: some spec exceeds
 * the limit, or reaches it, and observes what the row's "when it is hit" cell says.
 *
 * {@link HITS} names, for every row (its first cell, backticks dropped), the spec files that hit it and a
 * string each must contain: the limit's identifier or a phrase of the test's name, so a test renamed or
 * deleted breaks the table. The spec fails when a documented row has no entry, when an entry names a
 * row the docs no longer list, when a named file does not exist or is run by no spec file, or when the
 * string is not in it. Rows that bound nothing (a boolean option) are in {@link NOT_LIMITS} instead, and
 * the docs must say so.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { section } from './support/markdown.js';

// dist/specs/limits.spec.js -> the repository root is two levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A spec file (from the repository root) and a string that must occur in it. */
interface Hit {
  readonly file: string;
  readonly has: string;
}

const mux = 'specs/transport/mux';
const channel = 'specs/transport/channel';
const conn = 'specs/transport/connection';
const auth = 'specs/auth';
const it9n = 'specs/integration';
const cluster = 'specs/cluster';

/** Each limit row of docs/ERRORS.md section 6, by its first cell, and the specs that hit it. */
const HITS: Readonly<Record<string, readonly Hit[]>> = {
  // 6.1 Multiplexer
  'MuxConfig.streamWindow': [
    { file: `${mux}/limits.spec.ts`, has: 'window: a peer that ignores it gets GoAway(1)' },
    { file: `${mux}/limits.spec.ts`, has: 'a peer that stops reading: socket writes stop until drain' },
  ],
  'MuxConfig.maxStreamWindow': [
    {
      file: `${mux}/window.spec.ts`,
      has: 'a fast reader grows its window up to maxStreamWindow and no further',
    },
    { file: `${mux}/window.spec.ts`, has: 'a byte beyond it is WINDOW_EXCEEDED' },
  ],
  'MuxConfig.windowGrowthBudget': [
    {
      file: `${mux}/window.spec.ts`,
      has: 'the growth of all streams together stays within windowGrowthBudget',
    },
  ],
  'MuxConfig.maxConcurrentStreams': [
    {
      file: `${mux}/limits.spec.ts`,
      has: 'open() beyond throws STREAM_LIMIT; the acceptor resets a SYN beyond',
    },
  ],
  'MuxConfig.maxAcceptBacklog': [
    { file: `${mux}/limits.spec.ts`, has: 'maxAcceptBacklog: SYNs beyond the backlog are reset' },
  ],
  'MuxConfig.maxFrameLength': [
    { file: `${mux}/limits.spec.ts`, has: 'maxFrameLength: a Data header above it ends the session' },
  ],
  'MuxConfig.maxBufferedBytes': [{ file: `${mux}/budget.spec.ts`, has: 'maxBufferedBytes' }],
  'MuxConfig.maxSendFrame': [{ file: `${mux}/coalesce.spec.ts`, has: 'split into frames of maxSendFrame' }],
  'MuxConfig.keepAliveIntervalMs': [
    {
      file: `${mux}/session.spec.ts`,
      has: 'a live peer keeps the session open across many keepalive intervals',
    },
  ],
  'MuxConfig.keepAliveTimeoutMs': [
    {
      file: `${mux}/session.spec.ts`,
      has: 'a peer that reads but never answers closes the session with KEEPALIVE_TIMEOUT',
    },
  ],
  'MuxConfig.closeTimeoutMs': [
    { file: `${mux}/session.spec.ts`, has: 'close() resets streams still open after closeTimeoutMs' },
  ],
  'MuxConfig.writeHighWaterMark': [
    { file: `${mux}/session.spec.ts`, has: 'backpressure: a paused reader stops the writer at the window' },
    {
      file: `${mux}/duplex.spec.ts`,
      has: 'a reader that does not read stops the writer: write() returns false',
    },
  ],

  // 6.2 Channels
  'ChannelConfig.maxMessageSize': [
    {
      file: `${channel}/limits.ts`,
      has: 'a message above maxMessageSize: MESSAGE_TOO_LARGE on that channel only',
    },
  ],
  'ChannelConfig.maxUnclaimedStreams': [
    { file: `${channel}/limits.ts`, has: 'maxUnclaimedStreams: a nested stream beyond it is reset' },
  ],
  'ChannelConfig.maxReferencesPerMessage': [
    {
      file: `${channel}/limits.ts`,
      has: 'maxReferencesPerMessage and maxNestingDepth on receive: REFERENCE_LIMIT',
    },
  ],
  'ChannelConfig.maxNestingDepth': [
    {
      file: `${channel}/limits.ts`,
      has: 'maxReferencesPerMessage and maxNestingDepth on receive: REFERENCE_LIMIT',
    },
    { file: `${channel}/message-codec.spec.ts`, has: 'limits depth with REFERENCE_LIMIT on both sides' },
  ],
  'ChannelConfig.maxAcceptBacklog': [
    { file: `${channel}/limits.ts`, has: 'maxAcceptBacklog: a top-level channel beyond it is reset' },
  ],

  // 6.3 Connections
  'ConnectionConfig.handshakeTimeoutMs': [
    {
      file: `${conn}/tls-limits.spec.ts`,
      has: 'a client that says nothing is dropped at the handshake timeout',
    },
    {
      file: `${conn}/tls-limits.spec.ts`,
      has: 'a dialer gives up with HANDSHAKE_TIMEOUT on a server that never answers',
    },
  ],
  'ConnectionConfig.maxHandshakes': [
    {
      file: `${conn}/tls-limits.spec.ts`,
      has: 'beyond maxHandshakes a new connection is refused before TLS',
    },
  ],
  'ConnectionConfig.maxHandshakesPerAddress': [
    {
      file: `${conn}/per-address.spec.ts`,
      has: 'beyond maxHandshakesPerAddress a dialer gets CONNECTION_LIMIT',
    },
  ],
  'ConnectionConfig.firstBytesTimeoutMs': [
    {
      file: `${conn}/per-address.spec.ts`,
      has: 'drops a socket that sends nothing within firstBytesTimeoutMs',
    },
  ],
  'ConnectionConfig.maxConnections': [
    {
      file: `${conn}/tls-limits.spec.ts`,
      has: 'beyond maxConnections a client is rejected with OVERLOADED after TLS',
    },
  ],
  'ConnectionConfig.maxConnectionsPerAddress': [
    {
      file: `${conn}/per-address.spec.ts`,
      has: 'beyond maxConnectionsPerAddress a client is rejected OVERLOADED',
    },
  ],
  'ConnectionConfig.certificateValidityMs': [
    { file: `${conn}/tls-resume.spec.ts`, has: 'a long-lived listener renews its certificate' },
    {
      file: `${conn}/tls-reject.spec.ts`,
      has: 'an authorized key with an expired certificate is rejected with BAD_CERTIFICATE',
    },
  ],
  'ConnectionConfig.certificateRenewBeforeMs': [
    { file: `${conn}/tls-resume.spec.ts`, has: 'a long-lived listener renews its certificate' },
    { file: `${conn}/credentials.spec.ts`, has: 'make a new one once it is stale' },
  ],
  'ConnectionConfig.clockToleranceMs': [
    {
      file: `${conn}/tls-config-limits.spec.ts`,
      has: 'clockToleranceMs: a certificate 60 s past its end is refused',
    },
  ],
  'ConnectionConfig.sessionTicketLifetimeMs': [
    {
      file: `${conn}/tls-config-limits.spec.ts`,
      has: 'sessionTicketLifetimeMs: past it a ticket is not used',
    },
  ],
  'ConnectionConfig.maxWebSocketMessage': [
    { file: `${conn}/ws.spec.ts`, has: 'maxWebSocketMessage: a larger message closes the connection (1009)' },
  ],
  'ConnectionConfig.rejectLingerMs': [
    {
      file: `${conn}/limits-reached.spec.ts`,
      has: 'rejectLingerMs: a rejected client that does not hang up is cut off',
    },
    {
      file: `${conn}/limits-reached.spec.ts`,
      has: 'rejectLingerMs: a client refused before TLS that does not hang up',
    },
  ],
  'ConnectionConfig.portWindowBytes': [
    {
      file: `${conn}/message-port.spec.ts`,
      has: 'portWindowBytes: a reader that stops reading holds at most the window',
    },
    {
      file: `${conn}/message-port.spec.ts`,
      has: 'a peer that ignores the window is cut with WINDOW_EXCEEDED',
    },
  ],

  // 6.4 Actors
  'ActorsConfig.maxPendingCalls': [
    { file: `${it9n}/actors-connection.spec.ts`, has: 'beyond maxPendingCalls a call waits for a slot' },
  ],
  'ActorsConfig.maxCallsPerConnection': [
    {
      file: `${it9n}/actors-connection.spec.ts`,
      has: 'answers RESOURCE_EXHAUSTED beyond maxCallsPerConnection',
    },
  ],
  'ActorsConfig.maxConnectionQueuedBytes': [
    { file: 'specs/integration/faults-memory.spec.ts', has: 'maxConnectionQueuedBytes' },
  ],
  'ActorsConfig.maxQueuedBytes': [{ file: 'specs/integration/faults-memory.spec.ts', has: 'maxQueuedBytes' }],
  'ActorsConfig.maxMailbox': [
    {
      file: `${it9n}/actors-limits.spec.ts`,
      has: 'maxMailbox: beyond `concurrency` running and maxMailbox waiting',
    },
  ],
  'ActorsConfig.streamBufferBytes': [
    {
      file: `${it9n}/actors-streams.spec.ts`,
      has: 'a subscriber that stops reading keeps server memory bounded',
    },
    { file: `${it9n}/faults-flow.spec.ts`, has: 'subscribers that stop reading: server memory bounded' },
  ],
  'ActorsConfig.streamBuffer': [
    {
      file: `${it9n}/actors-limits.spec.ts`,
      has: 'streamBuffer: a reader that stops holds at most that many items',
    },
  ],
  'ActorsConfig.overflow': [
    { file: `${it9n}/actors-limits.spec.ts`, has: "overflow 'error' ends the stream RESOURCE_EXHAUSTED" },
    { file: `${it9n}/actors-limits.spec.ts`, has: "overflow 'drop-newest' for the whole system" },
  ],
  'ActorsConfig.reconnectBaseMs': [
    { file: `${it9n}/actors-connection.spec.ts`, has: 'after a failed dial, fails fast during the backoff' },
  ],
  'ActorsConfig.reconnectMaxMs': [
    { file: `${it9n}/actors-limits.spec.ts`, has: 'reconnectMaxMs: the wait after failed dials doubles' },
  ],
  'ActorsConfig.closeTimeoutMs': [
    {
      file: `${it9n}/actors-limits.spec.ts`,
      has: 'closeTimeoutMs: the call is cut, its caller sees UNAVAILABLE',
    },
  ],
  'ActorsConfig.idleTimeoutMs': [
    {
      file: `${it9n}/actors-idle.spec.ts`,
      has: 'the client closes an idle connection, and its ref dials again',
    },
    { file: `${it9n}/actors-idle.spec.ts`, has: 'the server closes an idle connection too' },
  ],

  // 6.5 Per actor and per method
  '@actor({ timeoutMs })': [
    {
      file: `${it9n}/actors-limits.spec.ts`,
      has: '@actor({ timeoutMs }): a unary call that sets none fails DEADLINE_EXCEEDED',
    },
  ],
  '@method({ timeoutMs })': [
    {
      file: `${it9n}/actors.spec.ts`,
      has: "a method's default deadline applies on the server when the call sets none",
    },
  ],
  '@actor({ concurrency })': [
    { file: `${it9n}/actors-limits.spec.ts`, has: 'beyond `concurrency` running' },
    { file: 'specs/actors/caller/local.spec.ts', has: 'runs up to `concurrency` messages at once' },
  ],
  '@actor({ restart: { maxRestarts } })': [
    { file: 'specs/actors/supervision.spec.ts', has: 'once maxRestarts are used up, the actor is failed' },
    { file: `${it9n}/actors-supervision.spec.ts`, has: 'when the restarts are used up, remote calls fail' },
  ],
  '@actor({ restart: { withinMs } })': [
    {
      file: 'specs/actors/callee/supervisor.spec.ts',
      has: 'refuses the restart beyond maxRestarts within withinMs',
    },
  ],
  '@actor({ restart: { backoffMs } })': [
    { file: 'specs/actors/supervision.spec.ts', has: 'backs off exponentially between restarts' },
    { file: 'specs/actors/supervision.spec.ts', has: 'a call waiting through a restart keeps its deadline' },
  ],
  '@actor({ restart: { maxBackoffMs } })': [
    { file: 'specs/actors/supervision.spec.ts', has: 'backs off exponentially between restarts' },
    { file: 'specs/actors/callee/supervisor.spec.ts', has: 'backs off exponentially, capped' },
  ],
  '@actor({ idleMs })': [
    { file: 'specs/actors/keyed.spec.ts', has: 'passivates an idle activation (onStop)' },
    { file: 'specs/actors/keyed-placement.spec.ts', has: 'releases the claim after passivation' },
  ],
  '@actor({ maxActivations })': [
    { file: 'specs/actors/keyed.spec.ts', has: 'refuses activations beyond maxActivations' },
  ],
  '@method({ buffer })': [
    { file: `${it9n}/actors-streams.spec.ts`, has: '@method({ buffer: 16 })' },
    {
      file: `${it9n}/actors-streams.spec.ts`,
      has: 'a subscriber that stops reading keeps server memory bounded',
    },
  ],
  'withOptions({ timeoutMs })': [
    {
      file: `${it9n}/actors.spec.ts`,
      has: 'a deadline aborts the server handler signal and fails the call DEADLINE_EXCEEDED',
    },
    {
      file: `${it9n}/actors-deadlines.spec.ts`,
      has: 'a deadline that fires on both sides at about the same time',
    },
  ],

  // 6.6 Fixed limits
  INITIAL_STREAM_WINDOW: [{ file: `${mux}/config.spec.ts`, has: 'a window below 256 KiB' }],
  MAX_RECORD_LENGTH: [{ file: `${channel}/config.spec.ts`, has: "['maxMessageSize', 2 ** 32]" }],
  MAX_NESTING_DEPTH: [{ file: `${channel}/config.spec.ts`, has: "['maxNestingDepth', 1001]" }],
  MAX_TIMEOUT_MS: [
    { file: `${it9n}/actors-call-bounds.spec.ts`, has: 'MAX_TIMEOUT_MS: a CALL whose t is' },
    { file: 'specs/actors/wire.spec.ts', has: 't: 2 ** 31' },
  ],
  MAX_REJECT_MESSAGE: [
    { file: `${conn}/prelude.spec.ts`, has: 'cuts a long REJECT message to 1024 bytes' },
    { file: `${conn}/prelude.spec.ts`, has: 'REJECT length 1025' },
  ],
  ACK_DELAY_MS: [
    {
      file: `${mux}/protocol.spec.ts`,
      has: 'acknowledges a silent stream at the',
    },
  ],
  LINGER_MS: [
    { file: `${mux}/linger.spec.ts`, has: 'LINGER_MS: a peer that keeps its half open is cut off' },
  ],
  MAX_QUEUED_PONGS: [
    { file: `${mux}/limits.spec.ts`, has: 'MAX_QUEUED_PONGS: while our socket is congested' },
  ],
  ITERATOR_HIGH_WATER: [
    { file: `${channel}/iterator-water.spec.ts`, has: 'pauses the stream at ITERATOR_HIGH_WATER' },
  ],
  ITERATOR_LOW_WATER: [
    { file: `${channel}/iterator-water.spec.ts`, has: 'resumes it at ITERATOR_LOW_WATER' },
  ],
  DEFAULT_MAX_SESSIONS: [
    { file: `${conn}/limits-reached.spec.ts`, has: 'DEFAULT_MAX_SESSIONS: a store keeps' },
    { file: `${conn}/limits-reached.spec.ts`, has: 'an evicted ticket is not offered' },
  ],
  DEFAULT_CERTIFICATE_VALIDITY_MS: [
    {
      file: `${auth}/fixed-limits.spec.ts`,
      has: 'DEFAULT_CERTIFICATE_VALIDITY_MS and CERTIFICATE_BACKDATE_MS',
    },
  ],
  MAX_CERTIFICATE_VALIDITY_MS: [
    {
      file: `${auth}/fixed-limits.spec.ts`,
      has: 'MAX_CERTIFICATE_VALIDITY_MS: a certificate may live that long',
    },
  ],
  CERTIFICATE_BACKDATE_MS: [
    {
      file: `${auth}/fixed-limits.spec.ts`,
      has: 'DEFAULT_CERTIFICATE_VALIDITY_MS and CERTIFICATE_BACKDATE_MS',
    },
  ],
  DEFAULT_CLOCK_TOLERANCE_MS: [
    { file: `${auth}/fixed-limits.spec.ts`, has: 'DEFAULT_CLOCK_TOLERANCE_MS: without clockToleranceMs' },
  ],
  MAX_KEY_FILE_BYTES: [
    { file: `${auth}/limits.spec.ts`, has: 'MAX_KEY_FILE_BYTES: a key file one byte over' },
  ],
  MAX_AUTHORIZED_KEYS_BYTES: [
    { file: `${auth}/limits.spec.ts`, has: 'MAX_AUTHORIZED_KEYS_BYTES: a file one byte over' },
  ],
  MAX_KNOWN_HOSTS_BYTES: [
    { file: `${auth}/limits.spec.ts`, has: 'MAX_KNOWN_HOSTS_BYTES: a file one byte over' },
  ],
  MAX_NAME_LENGTH: [{ file: `${auth}/authorized-keys-format.spec.ts`, has: "'n'.repeat(129)" }],
  MAX_MEMBER_ACTORS: [{ file: `${cluster}/static.spec.ts`, has: 'MAX_MEMBER_ACTORS: a member may list' }],
  MAX_GRANT_NAME_BYTES: [{ file: `${auth}/fixed-limits.spec.ts`, has: 'MAX_GRANT_NAME_BYTES: a name of' }],
  MAX_INBAND_GRANT: [
    { file: `${conn}/inband.spec.ts`, has: 'an oversized grant length is refused before its bytes are read' },
  ],
  MAX_INBAND_ORIGIN: [{ file: `${conn}/inband-codec.spec.ts`, has: "origin: 'x'.repeat(1025)" }],
  WS_MAX_SEND_MESSAGE: [
    { file: `${conn}/ws.spec.ts`, has: 'A write larger than one message is split and arrives whole' },
  ],
  WATCH_DEBOUNCE_MS: [{ file: `${auth}/fixed-limits.spec.ts`, has: 'WATCH_DEBOUNCE_MS: is reloaded' }],
  DEADLINE_GRACE_MS: [{ file: `${it9n}/actors-lingering.spec.ts`, has: 'wait DEADLINE_GRACE_MS' }],
  MAX_LINGERING: [{ file: `${it9n}/actors-lingering.spec.ts`, has: 'the next is reset at once' }],
  DEADLINE_SKEW_MS: [
    {
      file: 'specs/actors/context.spec.ts',
      has: "a cancel at, near or past the deadline is the caller's deadline",
    },
    { file: 'specs/actors/context.spec.ts', has: 'the skew is at most half a short timeout' },
  ],
  CERTIFICATE_CACHE_SIZE: [
    {
      file: `${auth}/limits.spec.ts`,
      has: 'CERTIFICATE_CACHE_SIZE: the least recently used certificate is forgotten',
    },
  ],
  MAX_ERROR_REASON_LENGTH: [
    { file: 'specs/actors/error-envelope.spec.ts', has: 'MAX_ERROR_REASON_LENGTH and MAX_ERROR_ID_LENGTH' },
  ],
  MAX_ERROR_ID_LENGTH: [
    { file: 'specs/actors/error-envelope.spec.ts', has: 'MAX_ERROR_REASON_LENGTH and MAX_ERROR_ID_LENGTH' },
  ],
  'actor name': [
    {
      file: `${it9n}/actors-call-bounds.spec.ts`,
      has: 'are INVALID_CONFIG locally, INVALID_ARGUMENT on the wire',
    },
  ],
  'key of a keyed actor': [
    { file: 'specs/actors/keyed.spec.ts', has: "s.ref<Tally>('tally', 'x'.repeat(257))" },
    { file: 'specs/actors/wire.spec.ts', has: "k: 'x'.repeat(257)" },
  ],
  'CALL metadata h': [{ file: `${it9n}/actors-call-bounds.spec.ts`, has: 'CALL metadata h:' }],
  'grant in a certificate': [
    { file: `${conn}/limits-reached.spec.ts`, has: 'a client certificate whose grant is over' },
    { file: `${auth}/limits.spec.ts`, has: 'bytes is read from a certificate; one byte more is not' },
  ],

  // 6.7 Cluster membership
  'MembershipConfig.leaseMs': [
    {
      file: `${cluster}/postgres-membership.spec.ts`,
      has: 'leaseMs: a member that stops heartbeating disappears',
    },
  ],
  'MembershipConfig.heartbeatMs': [
    {
      file: `${cluster}/postgres-membership.spec.ts`,
      has: 'heartbeatMs: a member that keeps renewing stays live',
    },
  ],
  'MembershipConfig.refreshMs': [
    { file: `${cluster}/postgres-membership.spec.ts`, has: 'refreshMs: a change that sent no NOTIFY' },
  ],
  'MembershipConfig.connectTimeoutMs': [
    { file: `${cluster}/postgres-membership.spec.ts`, has: 'connectTimeoutMs: a join against a database' },
  ],
  'MembershipConfig.heartbeatTimeoutMs': [
    { file: `${cluster}/postgres-placement.spec.ts`, has: 'heartbeatTimeoutMs: a node whose renewals hang' },
  ],
  'MembershipConfig.queryTimeoutMs': [
    {
      file: `${cluster}/postgres-query-timeout.spec.ts`,
      has: 'queryTimeoutMs: a claim that hangs on a row lock',
    },
    { file: `${cluster}/postgres-query-timeout.spec.ts`, has: 'queryTimeoutMs: a save cut mid-statement' },
    { file: `${cluster}/keyed-store-outage.spec.ts`, has: 'fails STORE_UNAVAILABLE fast' },
  ],
  'MembershipConfig.fenceMarginMs': [
    { file: `${cluster}/postgres-placement.spec.ts`, has: 'fenceMarginMs, heartbeatTimeoutMs: a node' },
    { file: `${cluster}/postgres-placement.spec.ts`, has: 'fencing: lease$ turns fenced before' },
  ],
  'MembershipConfig.expiredRetentionMs': [
    {
      file: `${cluster}/postgres-placement.spec.ts`,
      has: 'expiredRetentionMs: a refresh deletes member rows',
    },
  ],
  'MembershipConfig.maxStateBytes': [
    { file: `${cluster}/postgres-placement.spec.ts`, has: 'maxStateBytes: a state over the limit' },
  ],
  'ClusterOptions.loadIntervalMs': [
    { file: `${cluster}/announce.spec.ts`, has: 'load: sampled every loadIntervalMs' },
    { file: `${cluster}/announce.spec.ts`, has: 'rejects a bad loadIntervalMs' },
  ],
  OWNER_CACHE_SIZE: [{ file: 'specs/actors/caller/owner-cache.spec.ts', has: 'OWNER_CACHE_SIZE: beyond it' }],
  MAX_KEYED_HOPS: [
    { file: `${cluster}/cluster-ref-keyed.spec.ts`, has: 'MAX_KEYED_HOPS: when every member' },
  ],
  MAX_IDEMPOTENT_ATTEMPTS: [
    { file: `${cluster}/cluster-ref-idempotent.spec.ts`, has: 'MAX_IDEMPOTENT_ATTEMPTS: every member lost' },
    { file: `${cluster}/cluster-ref-idempotent.spec.ts`, has: 'what is left of the deadline' },
  ],
};

/**
 * Rows that bound nothing, so nothing can reach them: options that switch a behaviour. The docs must
 * agree: their unit cell starts with "boolean" and their "when it is hit" cell is "-".
 */
const NOT_LIMITS: Readonly<Record<string, string>> = {
  // Sends FIN in a frame of its own (exercised by specs/transport/mux/coalesce.spec.ts and the interop specs).
  'MuxConfig.separateFin': 'a wire option for peers that drop a Data frame’s payload with FIN',
  // Sends a handler's stack to its caller (exercised by specs/integration/actors.spec.ts).
  'ActorsConfig.exposeStackTraces': 'a disclosure switch',
  // Sends an unexpected error's message (exercised by specs/integration/actors-errors.spec.ts).
  'ActorsConfig.exposeErrorMessages': 'a disclosure switch',
};

/**
 * The body rows of every Markdown table in `text`, by their first cell with backticks dropped (header
 * and separator rows left out). Throws on a name listed twice.
 */
function limitRows(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('|') || line.startsWith('|---') || (lines[i + 1]?.startsWith('|---') ?? false))
      continue;
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
    const name = cells[0]!.replaceAll('`', '');
    assert.ok(!out.has(name), `docs/ERRORS.md section 6 lists ${name} twice`);
    out.set(name, cells);
  }
  return out;
}

/** Every .ts file under specs/, as paths from the repository root. */
function specSources(dir = join(root, 'specs')): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...specSources(p));
    else if (name.endsWith('.ts')) out.push(relative(root, p));
  }
  return out;
}

/** The files the suite runs: every *.spec.ts, and every spec source they import, directly or not. */
function runFiles(): Set<string> {
  const sources = new Set(specSources());
  const seen = new Set<string>();
  const queue = [...sources].filter((f) => f.endsWith('.spec.ts'));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      const target = relative(root, resolve(root, dirname(file), `${m[1]}.ts`));
      if (sources.has(target)) queue.push(target);
    }
  }
  return seen;
}

/** What is wrong with the table against `docs` (the rows of section 6), as messages; empty when nothing. */
function problems(
  docs: Map<string, string[]>,
  hits: Readonly<Record<string, readonly Hit[]>>,
  notLimits: Readonly<Record<string, string>>,
  read: (file: string) => string | undefined,
  runs: (file: string) => boolean,
): string[] {
  const out: string[] = [];
  for (const name of docs.keys()) {
    if (!(name in hits) && !(name in notLimits))
      out.push(`${name}: documented, but no spec is named as hitting it`);
  }
  for (const name of new Set([...Object.keys(hits), ...Object.keys(notLimits)])) {
    if (!docs.has(name)) out.push(`${name}: in the table, but docs/ERRORS.md section 6 does not list it`);
    if (name in hits && name in notLimits) out.push(`${name}: both a limit and not a limit`);
  }
  for (const [name, list] of Object.entries(hits)) {
    if (list.length === 0) out.push(`${name}: no spec named`);
    for (const { file, has } of list) {
      const text = read(file);
      if (text === undefined) out.push(`${name}: ${file} does not exist`);
      else if (!text.includes(has)) out.push(`${name}: ${file} does not contain "${has}"`);
      else if (!runs(file)) out.push(`${name}: ${file} is neither a spec file nor imported by one`);
    }
  }
  for (const name of Object.keys(notLimits)) {
    const cells = docs.get(name);
    if (cells === undefined) continue;
    if (!/^boolean\b/.test(cells[2] ?? '') || (cells.at(-1) ?? '') !== '-') {
      out.push(`${name}: listed as not a limit, but docs/ERRORS.md gives it a unit or a "when it is hit"`);
    }
  }
  return out;
}

describe('docs/ERRORS.md section 6: every limit is reached by a spec', () => {
  const docs = limitRows(section(readFileSync(join(root, 'docs', 'ERRORS.md'), 'utf8'), '## 6. Limits'));
  const read = (file: string) => {
    const path = join(root, file);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  };

  it('reads every row of the six tables', () => {
    for (const name of [
      'MuxConfig.streamWindow',
      'ChannelConfig.maxMessageSize',
      'ActorsConfig.maxMailbox',
    ]) {
      assert.ok(docs.has(name), `${name} was not read`);
    }
    for (const name of ['@method({ buffer })', 'MAX_LINGERING', 'actor name', 'CALL metadata h']) {
      assert.ok(docs.has(name), `${name} was not read`);
    }
    assert.ok(docs.size >= 70, `only ${docs.size} rows read`);
  });

  it('names, for every documented limit, spec files that exist, run, and contain the named test', () => {
    const run = runFiles();
    assert.deepEqual(
      problems(docs, HITS, NOT_LIMITS, read, (f) => run.has(f)),
      [],
    );
  });

  it('fails for a limit with no entry, an entry the docs do not list, a missing file or test, a file no spec runs', () => {
    const fake = limitRows(
      [
        '| field | default |',
        '|---|---|',
        '| `A.limit` | 1 |',
        '| `B.covered` | 2 |',
        '| `C.flag` | false | boolean: a switch | - | - |',
      ].join('\n'),
    );
    const files: Record<string, string> = {
      'specs/x.spec.ts': "it('B.covered: reached')",
      'specs/y.ts': 'B',
    };
    const found = problems(
      fake,
      {
        'B.covered': [
          { file: 'specs/x.spec.ts', has: 'B.covered: reached' },
          { file: 'specs/x.spec.ts', has: 'renamed test' },
          { file: 'specs/gone.spec.ts', has: 'B' },
          { file: 'specs/y.ts', has: 'B' },
        ],
        'Z.removed': [{ file: 'specs/x.spec.ts', has: 'B' }],
      },
      { 'C.flag': 'a switch', 'B.covered': 'wrongly both' },
      (f) => files[f],
      (f) => f.endsWith('.spec.ts'),
    );
    assert.deepEqual(found.sort(), [
      'A.limit: documented, but no spec is named as hitting it',
      'B.covered: both a limit and not a limit',
      'B.covered: listed as not a limit, but docs/ERRORS.md gives it a unit or a "when it is hit"',
      'B.covered: specs/gone.spec.ts does not exist',
      'B.covered: specs/x.spec.ts does not contain "renamed test"',
      'B.covered: specs/y.ts is neither a spec file nor imported by one',
      'Z.removed: in the table, but docs/ERRORS.md section 6 does not list it',
    ]);
  });
});
