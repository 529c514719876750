/**
 * A process-level trap for what must never happen under bad input: an exception escaping a socket or
 * stream handler (`uncaughtException`, also what `reportUnhandled` turns a throwing callback into) and a
 * promise rejected with nobody listening (`unhandledRejection`). Install it before a batch of cases,
 * assert it stayed empty after, remove it.
 */
import assert from 'node:assert/strict';
import { TransportError, TransportErrorCode } from '../../src/transport/errors.js';

export class ProcessTrap {
  /** Everything caught, in order. */
  readonly caught: { kind: 'uncaughtException' | 'unhandledRejection'; error: unknown }[] = [];
  private readonly onException = (error: unknown) => {
    this.caught.push({ kind: 'uncaughtException', error });
  };
  private readonly onRejection = (error: unknown) => {
    this.caught.push({ kind: 'unhandledRejection', error });
  };

  constructor() {
    process.on('uncaughtException', this.onException);
    process.on('unhandledRejection', this.onRejection);
  }

  /** Fails with what was caught, if anything. */
  assertEmpty(): void {
    assert.deepEqual(
      this.caught.map((c) => `${c.kind}: ${describe(c.error)}`),
      [],
      'nothing escaped to the process',
    );
  }

  dispose(): void {
    process.off('uncaughtException', this.onException);
    process.off('unhandledRejection', this.onRejection);
  }
}

/** Every code `TransportError` may carry. */
const KNOWN = new Set<string>(Object.values(TransportErrorCode));

/**
 * Asserts that `err` is a TransportError whose code is one of `allowed` (and a known code at all).
 * INTERNAL_ERROR is never in `allowed` for peer input: it means an exception of ours was caught.
 */
export function assertTyped(err: unknown, allowed: readonly string[], where: string): void {
  assert.ok(err instanceof TransportError, `${where}: not a TransportError: ${describe(err)}`);
  assert.ok(KNOWN.has(err.code), `${where}: unknown code ${err.code}`);
  assert.ok(
    allowed.includes(err.code),
    `${where}: code ${err.code} not in ${allowed.join(', ')}: ${err.message}`,
  );
}

export function describe(err: unknown): string {
  if (err instanceof Error)
    return `${err.name}${'code' in err ? ` ${String(err.code)}` : ''}: ${err.message}`;
  return String(err);
}
