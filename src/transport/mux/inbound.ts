/**
 * Streams the peer opens, from their SYN until someone owns them: whether a SYN is taken or answered with
 * RST (stream limit, full backlog, a closing session), the ACK that must go out within
 * {@link ACK_DELAY_MS} when the stream sends nothing sooner, and delivery to `onStream` or the accept
 * backlog. The session has already judged the id (parity, not open).
 */
import type { TransportError } from '../errors.js';
import { AcceptQueue } from './accept-queue.js';
import { Flag, FrameType } from './frame.js';
import type { StreamHost } from './listener.js';
import { reportUnhandled } from './report.js';
import { Stream } from './stream.js';
import type { StreamTable } from './stream-table.js';

/** An inbound stream is acknowledged with its first outbound frame, or after this delay at the latest, ms. */
export const ACK_DELAY_MS = 20;

export class InboundStreams {
  /** Inbound streams are delivered here if set; otherwise they wait in the backlog for accept(). */
  onStream: ((stream: Stream) => void) | undefined = undefined;
  private readonly backlog = new AcceptQueue();
  /**
   * Ids of inbound streams to acknowledge when the ACK timer fires, unless a frame of their own carried
   * the ACK first. Ids, not streams: a reply stream closes long before the timer, and holding it for
   * those 20 ms made it survive young-generation GCs (measured: GC 48% -> 31% of the mux probe's CPU).
   */
  private readonly ackPending: number[] = [];
  private ackTimer: NodeJS.Timeout | undefined = undefined;
  /** sendAcks() for the timer, made once (an arrow inside admit() would cost a context per stream). */
  private readonly sendAcksLater = (): void => this.sendAcks();

  constructor(
    private readonly host: StreamHost,
    private readonly streams: StreamTable<Stream>,
  ) {}

  /**
   * The SYN for `id`: a new stream in the table, handed to onStream or the backlog. undefined when it is
   * refused (RST queued) because the session is `closing` or a limit is reached, or when onStream
   * closed it at once.
   */
  admit(id: number, closing: boolean): Stream | undefined {
    const config = this.host.config;
    const refuse =
      closing ||
      this.streams.size >= config.maxConcurrentStreams ||
      (this.onStream === undefined &&
        !this.backlog.hasWaiter &&
        this.backlog.size >= config.maxAcceptBacklog);
    if (refuse) {
      this.host.outbox.frame(FrameType.WindowUpdate, Flag.RST, id, 0);
      return undefined;
    }
    const s = new Stream(this.host, id, false);
    this.streams.add(id, s);
    this.ackPending.push(id);
    if (this.ackTimer === undefined) this.ackTimer = setTimeout(this.sendAcksLater, ACK_DELAY_MS);
    const onStream = this.onStream;
    if (onStream !== undefined) {
      try {
        onStream(s);
      } catch (err) {
        reportUnhandled(err);
      }
    } else {
      this.backlog.add(s);
    }
    return this.streams.get(id) === s ? s : undefined;
  }

  /** Next inbound stream from the backlog, or a promise of the next one. */
  accept(): Promise<Stream> {
    return this.backlog.next();
  }

  /** A stream left the table: it no longer waits to be accepted. */
  forget(s: Stream): void {
    this.backlog.delete(s);
  }

  /** The session ended: no more ACKs; the backlog is dropped and waiting accept() calls reject. */
  fail(reason: TransportError): void {
    clearTimeout(this.ackTimer);
    this.ackPending.length = 0;
    this.backlog.fail(reason);
  }

  /** Acknowledge inbound streams that have not sent a frame of their own since they arrived. */
  private sendAcks(): void {
    this.ackTimer = undefined;
    const ids = this.ackPending;
    for (let i = 0; i < ids.length; i++) this.streams.get(ids[i]!)?._sendOpenFlags();
    ids.length = 0;
  }
}
