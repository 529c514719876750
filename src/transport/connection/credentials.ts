/**
 * Our own certificate, kept fresh: short-lived certificates are made again before they expire. A
 * listener renews on a timer and swaps the secure context for new handshakes; a dialer renews lazily
 * when it next dials.
 */
import { type CertificateMaterial, type Identity, makeCertificate } from '../../auth/index.js';

/** A renewing source of certificates for one identity (and optional grant). */
export class Credentials {
  readonly identity: Identity;
  readonly validityMs: number;
  readonly renewBeforeMs: number;
  readonly grant: Uint8Array | undefined;
  #latest: CertificateMaterial | undefined;
  #making: Promise<CertificateMaterial> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onRenew: ((material: CertificateMaterial) => void) | undefined;

  constructor(
    identity: Identity,
    options: { validityMs: number; renewBeforeMs: number; grant?: Uint8Array },
  ) {
    this.identity = identity;
    this.validityMs = options.validityMs;
    this.renewBeforeMs = options.renewBeforeMs;
    this.grant = options.grant;
  }

  /** The last certificate made, or undefined before the first {@link current}. */
  get latest(): CertificateMaterial | undefined {
    return this.#latest;
  }

  /** True when `material` has less than `renewBeforeMs` left (or is gone). */
  isStale(material = this.#latest, now = Date.now()): boolean {
    return material === undefined || material.notAfter.getTime() - now <= this.renewBeforeMs;
  }

  /**
   * A certificate with more than `renewBeforeMs` left, made now if needed. Concurrent callers share
   * one making. Rejects if the certificate cannot be made (a bug or a broken crypto provider).
   */
  async current(): Promise<CertificateMaterial> {
    if (!this.isStale()) return this.#latest!;
    return this.renew();
  }

  /** Makes a new certificate now (shared with a making already under way). */
  renew(): Promise<CertificateMaterial> {
    this.#making ??= makeCertificate(this.identity, {
      validityMs: this.validityMs,
      ...(this.grant ? { grant: this.grant } : {}),
    })
      .then((material) => {
        this.#latest = material;
        this.#onRenew?.(material);
        return material;
      })
      .finally(() => {
        this.#making = undefined;
      });
    return this.#making;
  }

  /**
   * Renews `renewBeforeMs` before each expiry, and calls `onRenew` with every new certificate from
   * then on (whoever asked for it: this timer, {@link current} or {@link renew}). The timer
   * does not keep the process alive. A failed renewal is passed to `onError` and retried in a minute.
   */
  startRenewal(onRenew: (material: CertificateMaterial) => void, onError: (err: unknown) => void): void {
    this.stopRenewal();
    this.#onRenew = onRenew;
    const schedule = (delayMs: number) => {
      // Node timers hold at most 2^31-1 ms; a longer wait simply wakes up early and reschedules.
      this.#timer = setTimeout(tick, Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
      this.#timer.unref();
    };
    const tick = () => {
      if (!this.isStale()) {
        schedule(this.#latest!.notAfter.getTime() - this.renewBeforeMs - Date.now());
        return;
      }
      this.renew().then(
        (material) => {
          schedule(material.notAfter.getTime() - this.renewBeforeMs - Date.now());
        },
        (err) => {
          onError(err);
          schedule(60_000);
        },
      );
    };
    schedule(this.#latest ? this.#latest.notAfter.getTime() - this.renewBeforeMs - Date.now() : 0);
  }

  stopRenewal(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onRenew = undefined;
  }
}

// Dialers share one Credentials per identity and settings, so repeated dials do not each make a
// certificate (and so resumed sessions carry the same client certificate).
const shared = new WeakMap<Identity, Map<string, Credentials>>();

/** The shared dialer credentials for `identity` with these settings. */
export function sharedCredentials(
  identity: Identity,
  options: { validityMs: number; renewBeforeMs: number; grant?: Uint8Array },
): Credentials {
  const key = `${options.validityMs}/${options.renewBeforeMs}/${options.grant ? Buffer.from(options.grant).toString('base64url') : ''}`;
  let byKey = shared.get(identity);
  if (!byKey) {
    byKey = new Map();
    shared.set(identity, byKey);
  }
  let creds = byKey.get(key);
  if (!creds) {
    creds = new Credentials(identity, options);
    byKey.set(key, creds);
  }
  return creds;
}
