/**
 * The ticker actor: an endless stream per subscriber, and a report of how each stream ended, so a client
 * can see that its unsubscribe reached the server.
 */
import 'reflect-metadata';
import { defer, finalize, interval, map, type Observable, tap } from 'rxjs';
import { inject } from 'tsyringe';
import { actor, callContext, isRpcError } from '../../src/index.js';
import type { Log } from '../lib/run.js';

/** Token of the server's log in the actor system's container. */
export const SERVER_LOG = 'ticker.serverLog';

export interface Tick {
  /** 0, 1, 2, ... per subscription. */
  n: number;
  /** The server's clock when the tick was sent, ms since the epoch. */
  at: number;
}

/** What the server knows about its subscriptions. */
export interface TickerReport {
  /** Subscriptions running now. */
  live: number;
  /** One line per subscription that ended: who, how many ticks were sent, and why it ended. */
  ended: string[];
}

@actor('ticker')
export class Ticker {
  private live = 0;
  private readonly ended: string[] = [];

  constructor(@inject(SERVER_LOG) private readonly log: Log) {}

  /**
   * A tick every `periodMs`, until the subscriber unsubscribes (or the connection ends). Each
   * subscription is one call: `defer` runs per subscription, `finalize` when the server tears it down.
   */
  ticks(periodMs: number): Observable<Tick> {
    const ctx = callContext();
    return defer(() => {
      this.live++;
      let sent = 0;
      this.log(`${ctx.caller.name} subscribed (${this.live} live)`);
      return interval(periodMs).pipe(
        map((n) => ({ n, at: Date.now() })),
        tap(() => sent++),
        finalize(() => {
          this.live--;
          const reason: unknown = ctx.signal.reason;
          const why = !ctx.signal.aborted ? 'ended' : isRpcError(reason) ? reason.code : String(reason);
          const line = `${ctx.caller.name} after ${sent} ticks: ${why}`;
          this.ended.push(line);
          this.log(`torn down: ${line} (${this.live} live)`);
        }),
      );
    });
  }

  report(): TickerReport {
    return { live: this.live, ended: [...this.ended] };
  }
}
