/**
 * Receive-window auto-tuning, session-wide: when a stream's receive window grows, and by how much.
 *
 * yamux fixes every stream's initial window at 256 KiB, and a sender never has more than the window in
 * flight, so one stream carries at most one window per round trip. When the consumer keeps up, the window
 * is the bottleneck; when it does not, a bigger window only buffers more. So a stream grows its window
 * (announced to the peer as extra credit in its next WindowUpdate) only when the consumer drained it
 * faster than a round trip allows, the rule quic-go uses for its flow-control windows: credit for a
 * `fraction` of the window, consumed within `TUNE_RTTS * fraction` round trips since the previous credit,
 * doubles the window. Whatever was buffered or paused makes the consumption slow, so a slow or paused
 * consumer never grows its window.
 *
 * Bounds: a window never passes `maxStreamWindow`, and the growth of all streams of a session together
 * never passes `windowGrowthBudget` (returned when a stream closes), so thousands of streams cannot each
 * reserve a large window. Windows never shrink while a stream lives (yamux cannot take credit back).
 *
 * The round-trip estimate comes from Ping answers (keepalive, `ping()`, and a probe this tuner asks for
 * when it has no recent sample). The probe is measured under the session's real load, which is what a
 * WindowUpdate waits behind too. With no sample (a peer that does not answer pings), windows stay put.
 */

/** A window grows when consumed within this many round trips per window's worth of credit (quic-go: 4). */
export const TUNE_RTTS = 4;
/** A round-trip sample older than this is refreshed with a probe Ping before it is trusted again, ms. */
export const RTT_MAX_AGE_MS = 1_000;

export class WindowTuner {
  /** Growth still available to the session's streams, bytes. */
  private budgetLeft: number;
  /** Smoothed round-trip time, ms; 0 = no sample yet. */
  private srtt = 0;
  private sampledAt = 0;

  /**
   * @param base every stream's window before tuning (`streamWindow`), bytes.
   * @param max the largest window a stream may grow to (`maxStreamWindow`), bytes.
   * @param budget the most all windows together may grow beyond `base` (`windowGrowthBudget`), bytes.
   * @param probe asks the session for a fresh round-trip sample (a Ping); it reports back via onRtt().
   */
  constructor(
    readonly base: number,
    readonly max: number,
    budget: number,
    private readonly probe: () => void,
  ) {
    this.budgetLeft = budget;
  }

  /** Growth not yet handed out, bytes. */
  get budget(): number {
    return this.budgetLeft;
  }

  /** The round-trip estimate in ms (0 = none yet). */
  get rttMs(): number {
    return this.srtt;
  }

  /** A round-trip sample in ms (from any Ping answer). Smoothed as TCP does (7/8 old, 1/8 new). */
  onRtt(ms: number, now: number): void {
    this.srtt = this.srtt === 0 ? ms : (this.srtt * 7 + ms) / 8;
    this.sampledAt = now;
  }

  /**
   * Bytes to add to a window of `size` whose consumer took `consumed` bytes in the `elapsedMs` since its
   * previous credit; 0 when it should not grow. What it returns is taken from the budget: the stream must
   * give it back with {@link release} when it closes.
   */
  grow(size: number, consumed: number, elapsedMs: number, now: number): number {
    if (size >= this.max || this.budgetLeft === 0) return 0;
    if (this.srtt === 0 || now - this.sampledAt > RTT_MAX_AGE_MS) this.probe();
    if (this.srtt === 0 || elapsedMs >= (TUNE_RTTS * consumed * this.srtt) / size) return 0;
    const n = Math.min(size, this.max - size, this.budgetLeft);
    this.budgetLeft -= n;
    return n;
  }

  /** A closing stream gives back the growth it was granted. */
  release(n: number): void {
    this.budgetLeft += n;
  }
}
