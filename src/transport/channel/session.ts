/**
 * ChannelSession: channels over one multiplexer session (one per connection).
 *
 * Every inbound stream is routed by its preface: CHANNEL streams become Receivers for accept() /
 * onChannel (at most `maxAcceptBacklog` waiting); nested streams wait in the unclaimed table (at most
 * `maxUnclaimedStreams`) until a message names them. Beyond a limit, or with an unknown preface, the new
 * stream is reset and the session goes on.
 */
import { type TransportError, transportError } from '../errors.js';
import type { Session, Stream } from '../mux/index.js';
import { SessionHost } from './binding.js';
import { type ChannelConfig, resolveConfig } from './config.js';
import { bindDuplex, type DuplexEnds, writeOnceDuplex } from './duplex.js';
import { kBind, kOpenDuplexCall } from './internal.js';
import { StreamPort } from './port.js';
import { acceptorIsSilent, isPreface, PREFACE_BYTES, Preface } from './preface.js';
import { Receiver } from './receiver.js';
import type { EndCodec } from './references.js';
import { reportUnhandled } from './report.js';
import { Sender } from './sender.js';

interface AcceptWaiter {
  resolve: (r: Receiver) => void;
  reject: (err: TransportError) => void;
}

/**
 * Channels over one multiplexer session. Create it right after the multiplexer Session, before any
 * traffic: it takes the session's `onStream`.
 *
 * ```ts
 * const channels = new ChannelSession(new Session(socket, 'client'));
 * const mailbox = channels.open<{ text: string; reply: Sender<string> }>();
 * const reply = new Receiver<string>();
 * await mailbox.send({ text: 'hello', reply: ... });
 * ```
 */
export class ChannelSession {
  /** Resolves (never rejects) when the multiplexer session has ended: undefined for a clean close, else the error. */
  readonly closed: Promise<TransportError | undefined>;

  private readonly host: SessionHost;
  private readonly backlog: Receiver[] = [];
  private waiters: AcceptWaiter[] = [];
  private channelHandler: ((receiver: Receiver) => void) | undefined;
  /** Where DUPLEX streams the peer opens go; none: they are reset. */
  onDuplex: ((ends: DuplexEnds) => void) | undefined = undefined;
  private endError: TransportError | undefined;
  private ended = false;
  /** The one preface callback every inbound stream's port gets. */
  private readonly routePreface = (port: StreamPort, preface: number): void => this.onPreface(port, preface);

  /**
   * Takes `mux.onStream`. `ends` carries an application's own values as channels (see EndCodec). Throws
   * INVALID_CONFIG for a bad config.
   */
  constructor(
    readonly mux: Session,
    config?: Partial<ChannelConfig>,
    ends?: EndCodec,
  ) {
    this.host = new SessionHost(mux, resolveConfig(config), ends);
    mux.onStream = (stream) => this.route(stream);
    this.closed = mux.closed;
    void mux.closed.then((err) => this.onEnded(err));
  }

  /** The limits in force. */
  get config(): Readonly<ChannelConfig> {
    return this.host.config;
  }

  /** Nested streams the peer opened, still open, that no message has named yet (toward maxUnclaimedStreams). */
  get unclaimedCount(): number {
    return this.host.unclaimed.size;
  }

  /**
   * Every top-level channel the peer opens, instead of accept(). Setting it hands over the channels already
   * waiting. Exceptions it throws are reported as uncaught (never into the session).
   */
  get onChannel(): ((receiver: Receiver) => void) | undefined {
    return this.channelHandler;
  }

  set onChannel(handler: ((receiver: Receiver) => void) | undefined) {
    this.channelHandler = handler;
    if (handler !== undefined) for (const r of this.backlog.splice(0)) this.deliver(r);
  }

  /** Open a top-level channel to the peer (preface CHANNEL). Throws the multiplexer's STREAM_LIMIT,
   *  SESSION_CLOSED or GO_AWAY. */
  open<T = unknown>(): Sender<T> {
    const port = new StreamPort(this.mux.open(PREFACE_BYTES[Preface.CHANNEL]));
    const sender = new Sender<T>();
    sender[kBind](this.host, port);
    return sender;
  }

  /**
   * Open a DUPLEX stream (preface DUPLEX): write on `sender`, read the peer's answer on `receiver`. A
   * record that cannot be read on `receiver` resets the whole stream. Throws the multiplexer's
   * STREAM_LIMIT, SESSION_CLOSED or GO_AWAY.
   */
  openDuplex<Out = unknown, In = unknown>(): DuplexEnds<Out, In> {
    const port = new StreamPort(this.mux.open(PREFACE_BYTES[Preface.DUPLEX]));
    return bindDuplex<Out, In>(this.host, port, true);
  }

  /** @internal See {@link openDuplexCall}. */
  [kOpenDuplexCall]<In>(message: unknown): Receiver<In> {
    const port = new StreamPort(this.mux.open(PREFACE_BYTES[Preface.DUPLEX]));
    return writeOnceDuplex<In>(this.host, port, message);
  }

  /** The next top-level channel the peer opened. Rejects with the session's error (SESSION_CLOSED for a
   *  clean close) when the session ends. */
  accept<T = unknown>(): Promise<Receiver<T>> {
    const r = this.backlog.shift();
    if (r !== undefined) return Promise.resolve(r as Receiver<T>);
    if (this.ended) return Promise.reject(this.closeReason());
    return new Promise((resolve, reject) =>
      this.waiters.push({ resolve: resolve as (r: Receiver) => void, reject }),
    );
  }

  /** Graceful: the multiplexer's close (GoAway, wait for open streams up to its closeTimeoutMs). */
  async close(): Promise<void> {
    await this.mux.close();
  }

  /** Immediate: the multiplexer's destroy (every stream reset). Idempotent. */
  destroy(err?: TransportError): void {
    this.mux.destroy(err);
  }

  // ------------------------------------------------------------------ inbound streams

  private route(stream: Stream): void {
    new StreamPort(stream, this.routePreface);
  }

  private onPreface(port: StreamPort, preface: number): void {
    if (!isPreface(preface)) {
      port.reset();
      return;
    }
    if (acceptorIsSilent(preface)) port.end(); // we only read on it: half-close at once
    if (preface === Preface.CHANNEL) {
      this.onTopLevel(port);
      return;
    }
    if (preface === Preface.DUPLEX) {
      this.onDuplexStream(port);
      return;
    }
    if (!this.host.unclaimed.add(port)) port.reset();
  }

  private onTopLevel(port: StreamPort): void {
    if (
      this.channelHandler === undefined &&
      this.waiters.length === 0 &&
      this.backlog.length >= this.host.config.maxAcceptBacklog
    ) {
      port.reset();
      return;
    }
    const receiver = new Receiver();
    receiver[kBind](this.host, port);
    this.deliver(receiver);
  }

  private onDuplexStream(port: StreamPort): void {
    const handler = this.onDuplex;
    if (handler === undefined) {
      port.reset();
      return;
    }
    const ends = bindDuplex(this.host, port, false);
    try {
      handler(ends);
    } catch (err) {
      reportUnhandled(err);
      port.reset();
    }
  }

  private deliver(receiver: Receiver): void {
    const handler = this.channelHandler;
    if (handler !== undefined) {
      try {
        handler(receiver);
      } catch (err) {
        reportUnhandled(err);
      }
      return;
    }
    const w = this.waiters.shift();
    if (w !== undefined) w.resolve(receiver);
    else this.backlog.push(receiver);
  }

  private onEnded(err: TransportError | undefined): void {
    this.ended = true;
    this.endError = err;
    const reason = this.closeReason();
    for (const w of this.waiters.splice(0)) w.reject(reason);
    this.backlog.length = 0;
    this.host.unclaimed.clear();
  }

  private closeReason(): TransportError {
    return this.endError ?? transportError('SESSION_CLOSED', 'the channel session is closed');
  }
}

/**
 * Open a DUPLEX stream on `session`, write `message` and FIN on our half, and return the Receiver of the
 * peer's answer: {@link ChannelSession.openDuplex}, `sender.write(message)` and `sender.close()` in one,
 * with no Sender. A record that cannot be read on the Receiver resets the whole stream. Throws the
 * multiplexer's STREAM_LIMIT, SESSION_CLOSED or GO_AWAY, or what write() throws (the stream is reset then).
 * For the channel layer's users inside this package (not re-exported by the transport's index).
 */
export function openDuplexCall<In = unknown>(session: ChannelSession, message: unknown): Receiver<In> {
  return session[kOpenDuplexCall]<In>(message);
}
