/**
 * The ticker actor: one price feed shared by every subscriber. A few symbols take a small random step
 * every `PERIOD_MS`; `prices()` gives a subscriber the latest quote of every symbol at once, then every
 * new one. The feed runs only while someone is subscribed (`share` starts it with the first subscriber
 * and stops it after the last one unsubscribes or its connection goes).
 */
import 'reflect-metadata';
import { interval, map, type Observable, share, startWith } from 'rxjs';
import { actor } from '../../src/index.js';

/** How often the prices move, ms. */
export const PERIOD_MS = 500;

/** One symbol's price at one moment. */
export interface Quote {
  symbol: string;
  /** Dollars, two decimals. */
  price: number;
  /** The change since the previous quote, dollars. */
  change: number;
  /** The server's clock, ms since the epoch. */
  at: number;
}

const START: Record<string, number> = { RXJS: 120, MSGP: 42.5, YMUX: 310, NACL: 77.25 };

@actor('ticker')
export class Ticker {
  private readonly latest = new Map<string, Quote>(
    Object.entries(START).map(([symbol, price]) => [symbol, { symbol, price, change: 0, at: Date.now() }]),
  );

  private readonly feed: Observable<Quote[]> = interval(PERIOD_MS).pipe(
    map(() => [...this.latest.values()].map((q) => this.step(q))),
    share(),
  );

  /** Every symbol's quote now, then all of them again every `PERIOD_MS`, until unsubscribed. */
  prices(): Observable<Quote[]> {
    return this.feed.pipe(startWith([...this.latest.values()]));
  }

  /** The symbols this ticker quotes. */
  symbols(): string[] {
    return [...this.latest.keys()];
  }

  private step(q: Quote): Quote {
    // A random walk of at most 1 % a step, never below one cent.
    const price = Math.max(0.01, Math.round(q.price * (1 + (Math.random() - 0.5) * 0.02) * 100) / 100);
    const next = {
      symbol: q.symbol,
      price,
      change: Math.round((price - q.price) * 100) / 100,
      at: Date.now(),
    };
    this.latest.set(q.symbol, next);
    return next;
  }
}
