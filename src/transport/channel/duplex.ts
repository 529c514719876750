/**
 * DUPLEX streams (preface 0x06, docs/PROTOCOL.md 4.1): one multiplexer stream whose two halves are
 * channels. The opener writes records on its half and reads the peer's records on the return half; the
 * acceptor the other way round. Each half ends on its own (FIN after its last record). An actor call is
 * one: the CALL record goes one way, the reply comes back the other.
 *
 * The Sender and the Receiver share the stream's one port: the Receiver is its handler, and passes the
 * stream's close on to the Sender's handler, so neither end attaches itself.
 */
import { type TransportError, transportError } from '../errors.js';
import { type ChannelHost, kBindShared, kWriteEncoded, type PreparedRecord } from './internal.js';
import type { StreamPort } from './port.js';
import { Receiver } from './receiver.js';
import { asTransportError, Sender } from './sender.js';

/** The two ends of one DUPLEX stream, as one side holds them. */
export interface DuplexEnds<Out = unknown, In = unknown> {
  /** This side's half: what it writes. */
  readonly sender: Sender<Out>;
  /** The other side's half: what it reads. */
  readonly receiver: Receiver<In>;
}

/**
 * Bind a new Sender and Receiver to `port` (a DUPLEX stream, ours or the peer's). `resetOnError`: a bad
 * record on the read half resets the whole stream (the opener's choice: its call failed); false on the
 * acceptor, which still answers on its half and discards what follows.
 */
export function bindDuplex<Out, In>(
  host: ChannelHost,
  port: StreamPort,
  resetOnError: boolean,
): DuplexEnds<Out, In> {
  const sender = new Sender<Out>();
  const receiver = new Receiver<In>();
  const tx = sender[kBindShared](host, port);
  port.attach(receiver[kBindShared](host, port, resetOnError, tx), false);
  return { sender, receiver };
}

/**
 * The opener's side of a DUPLEX stream whose half carries exactly one record: write `message` and FIN on
 * `port` (our new stream), and return the Receiver of the return half, which resets the stream on a bad
 * record. The same bytes as {@link bindDuplex} then `sender.write(message)` and `sender.close()`, without
 * a Sender: the record is encoded once and written on the port. Only a record whose references the
 * reference gate holds back goes through a Sender (it writes the record when the gate allows, then FIN).
 *
 * Throws TransportError: what encoding throws (ENCODE_ERROR, REFERENCE_LIMIT, MESSAGE_TOO_LARGE), the
 * multiplexer's STREAM_LIMIT / SESSION_CLOSED / GO_AWAY from opening a reference's stream, or the write's
 * error (CHANNEL_CANCELLED for a reset). The stream is reset then, so the peer sees no half without a record.
 */
export function writeOnceDuplex<In>(host: ChannelHost, port: StreamPort, message: unknown): Receiver<In> {
  const receiver = new Receiver<In>();
  let record: PreparedRecord;
  try {
    record = host.encode(message);
    const n = record.prefaces.length;
    if (n > 0 && !host.gate.mayOpen(port, n)) {
      const sender = new Sender<unknown>();
      const tx = sender[kBindShared](host, port);
      port.attach(receiver[kBindShared](host, port, true, tx), false);
      sender[kWriteEncoded](record);
      sender.close();
      return receiver;
    }
    host.write(port, record);
  } catch (err) {
    port.reset();
    throw writeError(err);
  }
  port.end();
  port.attach(receiver[kBindShared](host, port, true, undefined), false);
  return receiver;
}

/** A failed write as a Sender reports it: a reset stream is a cancelled channel. */
function writeError(err: unknown): TransportError {
  const e = asTransportError(err);
  if (e.code === 'STREAM_RESET') {
    return transportError('CHANNEL_CANCELLED', 'the receiver cancelled the channel', { cause: e });
  }
  return e;
}
