/**
 * Stream prefaces (docs/PROTOCOL.md section 4.1): the first byte the opener of a stream writes, in the
 * same Data frame as the SYN. It says what the stream is for and which side writes on it.
 */

/** Preface byte values. Any other value resets the stream (`DECODE_ERROR`). */
export const Preface = {
  /** The opener sends messages on a top-level channel; the peer gets a Receiver from `accept()`. */
  CHANNEL: 0x01,
  /** The opener sends messages on a channel named in a message; the peer gets a Receiver. */
  NESTED_SEND: 0x02,
  /** The opener receives messages on a channel named in a message; the peer gets a Sender. */
  NESTED_RECV: 0x03,
  /** The opener sends raw bytes named in a message; the peer gets a `Readable`. */
  BYTES_SEND: 0x04,
  /** The opener receives raw bytes named in a message; the peer gets a `Writable`. */
  BYTES_RECV: 0x05,
  /**
   * Both sides write: the opener's half carries its records to the peer, the return half the peer's
   * records back (the peer gets a Receiver and a Sender, from `onDuplex`). An actor call is one.
   */
  DUPLEX: 0x06,
} as const;

export type Preface = (typeof Preface)[keyof typeof Preface];

/** Length of the preface on the wire, bytes. */
export const PREFACE_SIZE = 1;

const NAMES: Record<number, string> = {
  [Preface.CHANNEL]: 'CHANNEL',
  [Preface.NESTED_SEND]: 'NESTED_SEND',
  [Preface.NESTED_RECV]: 'NESTED_RECV',
  [Preface.BYTES_SEND]: 'BYTES_SEND',
  [Preface.BYTES_RECV]: 'BYTES_RECV',
  [Preface.DUPLEX]: 'DUPLEX',
};

/** True for the six defined preface values. */
export function isPreface(value: number): value is Preface {
  return NAMES[value] !== undefined;
}

/** `NESTED_SEND`, or `0x2a` for an unknown value: for error messages. */
export function prefaceName(value: number): string {
  return NAMES[value] ?? `0x${value.toString(16).padStart(2, '0')}`;
}

/** True when the opener of a stream with this preface is the side that writes on it. The other side
 *  writes nothing and half-closes at once, except on a DUPLEX stream, where both sides write. */
export function openerWrites(preface: Preface): boolean {
  return (
    preface === Preface.CHANNEL ||
    preface === Preface.NESTED_SEND ||
    preface === Preface.BYTES_SEND ||
    preface === Preface.DUPLEX
  );
}

/** True when the accepting side of a stream with this preface writes nothing (and half-closes at once). */
export function acceptorIsSilent(preface: Preface): boolean {
  return preface !== Preface.DUPLEX && openerWrites(preface);
}

/** True for the prefaces of streams that are named by a reference inside a message. */
export function isNested(preface: Preface): boolean {
  return preface !== Preface.CHANNEL && preface !== Preface.DUPLEX;
}

/** One preface byte, ready to pass to `mux.open(preface)`. Shared, so never mutate it. */
export const PREFACE_BYTES: Readonly<Record<Preface, Uint8Array>> = {
  [Preface.CHANNEL]: Uint8Array.of(Preface.CHANNEL),
  [Preface.NESTED_SEND]: Uint8Array.of(Preface.NESTED_SEND),
  [Preface.NESTED_RECV]: Uint8Array.of(Preface.NESTED_RECV),
  [Preface.BYTES_SEND]: Uint8Array.of(Preface.BYTES_SEND),
  [Preface.BYTES_RECV]: Uint8Array.of(Preface.BYTES_RECV),
  [Preface.DUPLEX]: Uint8Array.of(Preface.DUPLEX),
};
