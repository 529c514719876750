/**
 * The actors of the worker example: `Primes` runs in the worker (CPU work off the main thread), and
 * `Console` in the main thread (the worker calls it back over a port of its own).
 */
import { Observable } from 'rxjs';
import { inject } from 'tsyringe';
import { actor, callContext } from '../../src/index.js';

@actor('primes')
export class Primes {
  /** How many primes are below `limit`; calls `progress` with the share done at 25, 50 and 75 %. */
  async count(limit: number, progress: (done: number) => Promise<void>): Promise<number> {
    const sieve = new Uint8Array(limit);
    let found = 0;
    for (let i = 2; i < limit; i++) {
      if (sieve[i] === 0) {
        found++;
        for (let j = i * i; j < limit; j += i) sieve[j] = 1;
      }
      if (i % Math.ceil(limit / 4) === 0) await progress(i / limit);
    }
    return found;
  }

  /** The primes, one by one, until the caller unsubscribes. */
  primes(): Observable<number> {
    return new Observable<number>((subscriber) => {
      let n = 1;
      const timer = setInterval(() => {
        do n++;
        while (!isPrime(n));
        subscriber.next(n);
      }, 5);
      return () => clearInterval(timer);
    });
  }

  /** Who is calling, as this worker's authorized keys name the caller. */
  whoami(): string {
    return callContext().caller?.name ?? 'nobody';
  }
}

function isPrime(n: number): boolean {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n > 1;
}

/** Where `Console` writes: registered in the main thread's container. */
export const CONSOLE_LINES = 'console lines';

@actor('console')
export class Console {
  constructor(@inject(CONSOLE_LINES) private readonly lines: string[]) {}

  print(line: string): void {
    this.lines.push(`${callContext().caller?.name ?? 'nobody'} says: ${line}`);
  }
}
