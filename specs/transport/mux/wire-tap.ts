/**
 * A passive observer of the frames arriving on a socket: it adds its own 'data' listener (Node hands the
 * same chunks to every listener) and parses them without judging, so a spec can count what the peer
 * really put on the wire while the real receiver (a Session, libp2p-yamux) reads the same bytes.
 */
import type { Duplex } from 'node:stream';
import { Flag } from '../../../src/transport/mux/frame.js';
import { FrameReader, Verdict } from '../../../src/transport/mux/reader.js';

export interface TappedFrame {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

export class WireTap {
  readonly frames: TappedFrame[] = [];

  /** Taps `socket`: attach it before the receiver may have read anything. */
  constructor(socket: Duplex) {
    const reader = new FrameReader({
      onHeader: (_v, type, flags, streamId, length) => {
        this.frames.push({ type, flags, streamId, length });
        return Verdict.Next;
      },
      onPayload() {},
    });
    socket.on('data', (c: Buffer) => reader.push(c));
  }

  /** Frames from index `from` on, optionally of one stream only. */
  since(from: number, streamId?: number): TappedFrame[] {
    return this.frames.slice(from).filter((f) => streamId === undefined || f.streamId === streamId);
  }

  /** Frames from `from` on as short strings ("Data SYN|FIN 5 #1"), for readable assertions. */
  describe(from = 0, streamId?: number): string[] {
    return this.since(from, streamId).map(describeFrame);
  }
}

const TYPES = ['Data', 'WindowUpdate', 'Ping', 'GoAway'];

/** "Data SYN|FIN 5 #1": type, flags, length, stream id. */
function describeFrame(f: TappedFrame): string {
  const flags = (Object.entries(Flag) as [string, number][])
    .filter(([, bit]) => (f.flags & bit) !== 0)
    .map(([name]) => name)
    .join('|');
  const type = TYPES[f.type] ?? `type${f.type}`;
  return `${type} ${flags || '-'} ${f.length} #${f.streamId}`;
}
