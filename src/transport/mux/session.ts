/**
 * A yamux session over one byte stream, a Node Duplex or any {@link ByteSocket} (hashicorp `session.go`).
 *
 * Reading: socket chunks go through a {@link FrameReader}; each header is dispatched by frame type and
 * judged before any payload byte is kept (window, frame size, stream id). Bad peer input
 * closes the session with a typed error and a GoAway carrying the matching code; it never throws out of
 * a socket event handler.
 *
 * Writing: streams queue frames in the {@link Outbox}, which coalesces each tick's frames into one
 * socket write and respects socket backpressure.
 *
 * Usage (the connection layer hands over the socket after its prelude):
 *
 *     const session = new Session(socket, 'client');
 *     const s = session.open(Uint8Array.of(0x01));   // SYN + preface, queued at once
 *     s.listen({ onData: (c) => use(c), onEnd: () => s.end(), onClose: (err) => done(err) });
 *     s.write(bytes);                                 // false => await s.drained()
 *
 * Bytes the connection layer read past its prelude go back with `socket.unshift()` before this is built.
 */

import { type TransportError, transportError } from '../errors.js';
import { QueueWatch, ReadBudget } from './budget.js';
import { type MuxConfig, type Role, resolveConfig } from './config.js';
import { Flag, FrameType, GoAwayCode, MAX_UINT32 } from './frame.js';
import { ACK_DELAY_MS, InboundStreams } from './inbound.js';
import type { StreamHost } from './listener.js';
import { Outbox } from './outbox.js';
import { Pinger } from './pinger.js';
import { FrameReader, type FrameSink, Verdict } from './reader.js';
import type { ByteSocket } from './socket.js';
import { Stream } from './stream.js';
import { StreamTable } from './stream-table.js';
import { WindowTuner } from './window.js';

export { ACK_DELAY_MS };
/** After sending its last frames, a closing session waits this long for the peer to hang up, ms. */
export const LINGER_MS = 1_000;

export class Session {
  readonly role: Role;
  /** Resolves (never rejects) when the session has ended: undefined for a clean close, else the error. */
  readonly closed: Promise<TransportError | undefined>;

  private readonly config: MuxConfig;
  private readonly socket: ByteSocket;
  private readonly host: StreamHost;
  private readonly streams = new StreamTable<Stream>();
  private readonly reader: FrameReader;
  private readonly outbox: Outbox;
  private nextId: number;
  private highestPeerId = 0;
  private readonly inbound: InboundStreams;
  private readonly pinger: Pinger;
  private readonly readBudget: ReadBudget;
  private readonly queueWatch = new QueueWatch();

  private ended = false;
  private localGoAway = false;
  private goAwaySent = false;
  private remoteGoAway: number | undefined;
  private resolveClosed!: (err: TransportError | undefined) => void;
  private endError: TransportError | undefined;

  /** The stream of the Data frame whose payload the reader is collecting, and whether that frame has FIN. */
  private rxStream: Stream | undefined;
  private rxFin = false;
  private bytesReadCount = 0;
  private closeTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  /**
   * Takes ownership of `socket` (any Node Duplex of bytes: net.Socket, tls.TLSSocket, an in-memory pair; or a {@link ByteSocket}).
   * Throws INVALID_CONFIG for a bad config; never throws later from socket events.
   */
  constructor(socket: ByteSocket, role: Role, config?: Partial<MuxConfig>) {
    this.config = resolveConfig(config);
    this.socket = socket;
    this.role = role;
    this.nextId = role === 'client' ? 1 : 2;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const outbox = new Outbox(socket, this.config.maxSendFrame, () => this.checkQueue());
    this.outbox = outbox;
    const c = this.config;
    this.readBudget = new ReadBudget(
      c.maxBufferedBytes,
      () => this.stopReading(),
      () => this.startReading(),
    );
    const tuner = new WindowTuner(
      c.streamWindow,
      Math.min(c.maxStreamWindow, c.maxFrameLength),
      c.windowGrowthBudget,
      () => this.pinger.probe(),
    );
    this.host = {
      session: this,
      config: c,
      tuner,
      outbox,
      now: performance.now(),
      readBudget: this.readBudget,
      unsentBytes: 0,
      queueFell: () => this.checkQueue(),
      remove: (s) => this.remove(s),
    };
    this.inbound = new InboundStreams(this.host, this.streams);
    const sink: FrameSink = {
      onHeader: (version, type, flags, id, length) => this.onHeader(version, type, flags, id, length),
      onPayload: (piece, last) => this.onPayload(piece, 0, piece.length, last),
      onPayloadAt: (chunk, start, end, last) => this.onPayload(chunk, start, end, last),
    };
    this.reader = new FrameReader(sink);

    (socket as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    socket.on('data', (chunk: Buffer | Uint8Array) => this.onSocketData(chunk));
    socket.on('end', () => this.onSocketEnd());
    socket.on('error', (err: Error) => this.destroy(lost(`socket error: ${err.message}`, err)));
    socket.on('close', () => this.onSocketClose());
    // The connection layer may have paused the socket while reading its prelude.
    socket.resume();
    this.pinger = new Pinger(
      (opaque) => outbox.ping(opaque),
      (err) => this.destroy(err),
      (rtt, now) => tuner.onRtt(rtt, now),
    );
    if (this.config.keepAliveIntervalMs > 0) {
      this.pinger.startKeepAlive(this.config.keepAliveIntervalMs, this.config.keepAliveTimeoutMs);
    }
  }

  /** Inbound streams are delivered here if set; otherwise they wait in the backlog for accept(). */
  get onStream(): ((stream: Stream) => void) | undefined {
    return this.inbound.onStream;
  }

  set onStream(handler: ((stream: Stream) => void) | undefined) {
    this.inbound.onStream = handler;
  }

  /** Bytes read from the socket so far (frames: headers and payloads), for monitoring. */
  get bytesRead(): number {
    return this.bytesReadCount;
  }

  /** Bytes handed to the socket so far (frames: headers and payloads), for monitoring. */
  get bytesWritten(): number {
    return this.outbox.bytesWritten;
  }

  /** Streams in the table (open, half-closed, waiting in the backlog). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** A snapshot of the streams in the table, by ascending id (diagnostics and specs). */
  listStreams(): Stream[] {
    return this.streams.toArray();
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** True once `open()` would throw for the session's state: ended, closing, or the peer sent GoAway. */
  get isClosing(): boolean {
    return this.ended || this.localGoAway || this.remoteGoAway !== undefined;
  }

  /**
   * Bytes received on this session's streams and not yet taken by their consumers (paused or not yet
   * attached listeners, streams waiting to be accepted), all streams together. Reading stops when it
   * reaches `maxBufferedBytes` ({@link readPaused}).
   */
  get bufferedBytes(): number {
    return this.readBudget.bytes;
  }

  /** True while the session does not read its socket because {@link bufferedBytes} reached `maxBufferedBytes`. */
  get readPaused(): boolean {
    return this.readBudget.paused;
  }

  /**
   * Bytes queued for writing across the session, read-only: what its streams wrote and could not frame
   * yet (no send window), the frames waiting for the next socket write or for the socket to drain, and
   * what the socket holds and has not handed to the OS. It grows when the peer does not read; a layer
   * above bounds its memory by starting no new work for this session while it is above a budget, and
   * waits with {@link onQueueBelow}.
   */
  get queuedBytes(): number {
    return this.host.unsentBytes + this.outbox.queuedBytes;
  }

  /**
   * Calls `listener` once, as soon as {@link queuedBytes} is at or below `lowWater` bytes (in a microtask;
   * at the next one if it already is). Returns a function that cancels it. A listener still waiting when
   * the session ends is never called (the session's `closed` says it ended). An exception it throws is
   * reported as uncaught, never thrown into the session.
   */
  onQueueBelow(lowWater: number, listener: () => void): () => void {
    if (this.ended) return noop;
    const cancel = this.queueWatch.add(lowWater, listener);
    this.outbox.reportWrites = true;
    this.checkQueue();
    return cancel;
  }

  /**
   * Open a stream. The SYN is queued at once (before any frame written later), in a Data frame that
   * carries `preface` as its payload if given, else a WindowUpdate frame.
   * Throws STREAM_LIMIT / SESSION_CLOSED / GO_AWAY.
   */
  open(preface?: Uint8Array): Stream {
    if (this.ended || this.localGoAway) throw transportError('SESSION_CLOSED', 'mux: the session is closed');
    if (this.remoteGoAway !== undefined) {
      throw transportError('GO_AWAY', 'mux: the peer sent GoAway; no new streams', {
        remoteCode: String(this.remoteGoAway),
      });
    }
    if (this.streams.size >= this.config.maxConcurrentStreams) {
      throw transportError('STREAM_LIMIT', `mux: ${this.streams.size} streams open (maxConcurrentStreams)`);
    }
    if (this.nextId > MAX_UINT32) throw transportError('STREAM_LIMIT', 'mux: stream ids exhausted');
    const id = this.nextId;
    this.nextId += 2;
    const s = new Stream(this.host, id, true);
    this.streams.add(id, s);
    if (preface !== undefined && preface.length > 0) s.write(preface);
    else s._sendOpenFlags();
    return s;
  }

  /** Next inbound stream; rejects with the session's close error when the session ends. */
  accept(): Promise<Stream> {
    if (this.ended) return Promise.reject(this.endReason());
    return this.inbound.accept();
  }

  /** Round-trip time in ms of a Ping; rejects with the close error if the session closes first. */
  ping(): Promise<number> {
    if (this.ended) return Promise.reject(this.endReason());
    return this.pinger.measure();
  }

  /**
   * Graceful: send GoAway(0), refuse new streams, wait for open streams up to closeTimeoutMs, then reset
   * the rest and end the socket. Resolves when the session has ended (never rejects).
   */
  async close(): Promise<void> {
    if (!this.ended && !this.localGoAway) {
      this.localGoAway = true;
      this.sendGoAway(GoAwayCode.Normal);
      if (this.streams.size === 0) this.destroy();
      else {
        this.closeTimer = setTimeout(() => {
          for (const s of this.streams.toArray()) s.reset();
          this.destroy();
        }, this.config.closeTimeoutMs);
      }
    }
    await this.closed;
  }

  /**
   * Immediate: reset every stream (RST on the wire; locally onClose gets `err`, SESSION_CLOSED when none),
   * reject pending accept()/ping()/drained(), send GoAway ({@link goAwayCodeFor}: PROTOCOL_ERROR /
   * WINDOW_EXCEEDED / FRAME_TOO_LARGE -> 1, others -> 2, none -> 0; no GoAway for CONNECTION_LOST and
   * GO_AWAY), end the socket and destroy it after {@link LINGER_MS} if the peer does not
   * hang up. `closed` resolves when the socket has closed. Idempotent.
   */
  destroy(err?: TransportError): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = err;
    this.reader.stop();
    clearTimeout(this.closeTimer);
    const reason = this.endReason();
    const open = this.streams.toArray();
    for (const s of open) s._fail(reason);
    this.streams.clear();
    this.inbound.fail(reason);
    this.pinger.fail(reason);
    this.queueWatch.clear();
    this.outbox.reportWrites = false;

    const socket = this.socket;
    const code = goAwayCodeFor(err);
    if (socket.destroyed || (err !== undefined && err.code === 'CONNECTION_LOST')) {
      this.outbox.closed = true;
      socket.destroy();
    } else {
      if (code !== undefined) {
        // RST each open stream first: some peers (libp2p-yamux) take GoAway(0) as a clean end of all
        // their streams, which would make a stream cut off mid-message look complete.
        for (const s of open) this.outbox.frame(FrameType.WindowUpdate, Flag.RST, s.id, 0);
        if (!this.goAwaySent) this.sendGoAway(code);
      }
      this.outbox.finish();
      socket.end();
      // Read again (and ignore) what comes, so the peer's end of the connection is seen.
      if (this.readBudget.paused) socket.resume();
      this.lingerTimer = setTimeout(() => socket.destroy(), LINGER_MS);
    }
  }

  // ------------------------------------------------------------------ reading

  private onSocketData(chunk: Buffer | Uint8Array): void {
    if (this.ended) return;
    this.bytesReadCount += chunk.length;
    this.host.now = performance.now();
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    try {
      this.reader.push(buf);
    } catch (err) {
      // A bug of ours, not the peer's: still never let it escape the socket handler.
      this.destroy(
        transportError('INTERNAL_ERROR', `mux: internal failure reading frames: ${String(err)}`, {
          cause: err,
        }),
      );
    }
  }

  private onSocketEnd(): void {
    if (this.ended) return;
    if (this.remoteGoAway === GoAwayCode.Normal && this.reader.atBoundary) this.destroy();
    else this.destroy(lost('the peer closed the connection'));
  }

  private onSocketClose(): void {
    if (!this.ended) this.destroy(lost('the connection closed'));
    clearTimeout(this.lingerTimer);
    this.resolveClosed(this.endError);
  }

  private onHeader(version: number, type: number, flags: number, id: number, length: number): Verdict {
    if (this.ended) return Verdict.Stop;
    if (version !== 0) return this.fail('PROTOCOL_ERROR', `unsupported yamux version ${version}`);
    // Dispatch by frame type (a switch rather than a table of closures: one call less per frame).
    switch (type) {
      case FrameType.Data:
        return this.onData(flags, id, length);
      case FrameType.WindowUpdate:
        return this.onWindowUpdate(flags, id, length);
      case FrameType.Ping:
        return this.onPing(flags, id, length);
      case FrameType.GoAway:
        return this.onGoAway(flags, id, length);
      default:
        return this.fail('PROTOCOL_ERROR', `unknown frame type ${type}`);
    }
  }

  private onData(flags: number, id: number, length: number): Verdict {
    if (length > this.config.maxFrameLength) {
      return this.fail(
        'FRAME_TOO_LARGE',
        `Data frame of ${length} bytes (maxFrameLength ${this.config.maxFrameLength})`,
      );
    }
    const s = this.streamFor(flags, id);
    if (s === undefined) return this.ended ? Verdict.Stop : Verdict.Next;
    if (length === 0) {
      this.applyFlags(s, flags);
      return Verdict.Next;
    }
    if ((flags & Flag.RST) !== 0) {
      s._onRst();
      return Verdict.Next;
    }
    if (s._remoteClosed) return this.fail('PROTOCOL_ERROR', `Data on stream ${id} after its FIN`);
    if (!s._debit(length))
      return this.fail('WINDOW_EXCEEDED', `stream ${id}: ${length} bytes beyond the window`);
    // SYN (streamFor) and ACK apply before the payload, FIN after its last byte (PROTOCOL.md 3.3).
    if ((flags & Flag.ACK) !== 0) s._onAck();
    this.rxStream = s;
    this.rxFin = (flags & Flag.FIN) !== 0;
    return Verdict.Payload;
  }

  /** A piece of the current Data frame's payload (already debited at its header); its FIN after the last piece. */
  private onPayload(chunk: Buffer, start: number, end: number, last: boolean): void {
    const s = this.rxStream!;
    if (last) this.rxStream = undefined;
    s._onData(chunk, start, end);
    if (last && this.rxFin && !this.ended) s._onFin();
  }

  private onWindowUpdate(flags: number, id: number, delta: number): Verdict {
    const s = this.streamFor(flags, id);
    if (s === undefined) return this.ended ? Verdict.Stop : Verdict.Next;
    if ((flags & Flag.RST) !== 0) {
      s._onRst();
      return Verdict.Next;
    }
    if ((flags & Flag.ACK) !== 0) s._onAck();
    if (!s._onWindowUpdate(delta))
      return this.fail('PROTOCOL_ERROR', `stream ${id}: send window above 2^32-1`);
    if ((flags & Flag.FIN) !== 0) s._onFin();
    return Verdict.Next;
  }

  private onPing(flags: number, id: number, opaque: number): Verdict {
    if (id !== 0) return this.fail('PROTOCOL_ERROR', `Ping on stream ${id}`);
    if ((flags & Flag.SYN) !== 0) {
      this.outbox.pong(opaque);
    } else if ((flags & Flag.ACK) !== 0) {
      this.pinger.answered(opaque);
    }
    return Verdict.Next;
  }

  private onGoAway(_flags: number, id: number, code: number): Verdict {
    if (id !== 0) return this.fail('PROTOCOL_ERROR', `GoAway on stream ${id}`);
    this.remoteGoAway = code;
    if (code === GoAwayCode.Normal) return Verdict.Next;
    this.destroy(
      transportError('GO_AWAY', `mux: the peer ended the session with GoAway code ${code}`, {
        remoteCode: String(code),
      }),
    );
    return Verdict.Stop;
  }

  private applyFlags(s: Stream, flags: number): void {
    if ((flags & Flag.ACK) !== 0) s._onAck();
    if ((flags & Flag.FIN) !== 0) s._onFin();
    if ((flags & Flag.RST) !== 0) s._onRst();
  }

  /**
   * The stream a Data/WindowUpdate frame addresses, creating it on SYN. undefined when the frame is to
   * be ignored (a late frame for a stream that has closed, or a SYN we refused with RST) or the session
   * failed (check `ended`).
   */
  private streamFor(flags: number, id: number): Stream | undefined {
    if (id === 0) {
      this.fail('PROTOCOL_ERROR', 'stream frame on stream id 0');
      return undefined;
    }
    if ((flags & Flag.SYN) !== 0) return this.incoming(id);
    const s = this.streams.get(id);
    if (s !== undefined) return s;
    // Ids only grow, so an id below the high-water mark belonged to a stream that has closed: its late
    // frames are ignored, as hashicorp does, with no per-stream memory. Anything else never existed.
    if (this.isOurs(id) ? id < this.nextId : id <= this.highestPeerId) return undefined;
    this.fail('PROTOCOL_ERROR', `frame for stream ${id}, which was never opened`);
    return undefined;
  }

  /** A SYN from the peer: a new stream, or RST when we cannot take it. */
  private incoming(id: number): Stream | undefined {
    if (this.isOurs(id)) {
      this.fail('PROTOCOL_ERROR', `SYN for stream ${id}, an id of our parity`);
      return undefined;
    }
    if (this.streams.has(id)) {
      this.fail('PROTOCOL_ERROR', `SYN for stream ${id}, which is already open`);
      return undefined;
    }
    if (id > this.highestPeerId) this.highestPeerId = id;
    // Only our own GoAway refuses the peer's streams. The peer's GoAway says it takes no new streams from
    // us; streams it opens after it are still served (hashicorp/yamux's incomingStream does the same).
    return this.inbound.admit(id, this.localGoAway);
  }

  private isOurs(id: number): boolean {
    return (id & 1) === (this.role === 'client' ? 1 : 0);
  }

  /** Close the session for bad peer input; returns Stop for the reader. */
  private fail(code: 'PROTOCOL_ERROR' | 'WINDOW_EXCEEDED' | 'FRAME_TOO_LARGE', message: string): Verdict {
    this.destroy(transportError(code, `mux: ${message}`));
    return Verdict.Stop;
  }

  /** The inbound budget is reached: stop reading the socket (TCP pushes back on the peer). */
  private stopReading(): void {
    if (this.ended) return;
    this.socket.pause();
    this.pinger.hold(true);
  }

  /** Consumers took enough of what was held: read again. */
  private startReading(): void {
    if (this.ended) return;
    this.socket.resume();
    this.pinger.hold(false);
  }

  // ------------------------------------------------------------------ writing

  /** The queued bytes may have fallen: call the watchers that are due; report writes only while some wait. */
  private checkQueue(): void {
    const watch = this.queueWatch;
    if (!watch.waiting) return;
    watch.check(this.queuedBytes);
    this.outbox.reportWrites = watch.waiting;
  }

  private sendGoAway(code: number): void {
    this.goAwaySent = true;
    this.outbox.frame(FrameType.GoAway, 0, 0, code);
  }

  // ------------------------------------------------------------------ table

  private remove(s: Stream): void {
    this.streams.delete(s.id, s);
    this.inbound.forget(s);
    if (this.localGoAway && this.streams.size === 0 && !this.ended) this.endSoon();
  }

  /**
   * After a graceful close, the last stream has left: end the session once the caller's frames of this
   * tick (the last FIN) are queued. (Its own method: the closure would cost remove() a context per call.)
   */
  private endSoon(): void {
    queueMicrotask(() => {
      if (!this.ended && this.streams.size === 0) this.destroy();
    });
  }

  private endReason(): TransportError {
    return this.endError ?? transportError('SESSION_CLOSED', 'mux: the session is closed');
  }
}

function noop(): void {}

function lost(message: string, cause?: unknown): TransportError {
  return transportError('CONNECTION_LOST', `mux: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * The GoAway code a session ended by `err` sends (PROTOCOL.md 6.1): 0 for a clean close (no error), 1 for
 * the peer's protocol errors, 2 for any other error; undefined when it sends none: CONNECTION_LOST (the
 * peer is gone) and GO_AWAY (the peer ended the session with a GoAway of its own, which is not answered).
 */
export function goAwayCodeFor(err: TransportError | undefined): number | undefined {
  if (err === undefined) return GoAwayCode.Normal;
  switch (err.code) {
    case 'PROTOCOL_ERROR':
    case 'WINDOW_EXCEEDED':
    case 'FRAME_TOO_LARGE':
      return GoAwayCode.ProtocolError;
    case 'CONNECTION_LOST':
    case 'GO_AWAY':
      return undefined;
    default:
      return GoAwayCode.InternalError;
  }
}
