/**
 * How the secure step of a listener fails: the refused reason to report, and the error.
 */
import type { PeerIdentity } from '../../auth/index.js';
import type { TransportError } from '../errors.js';
import type { RefusedReason } from './connection.js';

/** A failure of the secure step, with the refused reason to report. */
export class SecureStepError extends Error {
  constructor(
    readonly reason: RefusedReason,
    readonly error: TransportError,
    readonly peer?: PeerIdentity,
    /** True when a REJECT was written (the socket then closes on its own, after the linger). */
    readonly rejected = false,
  ) {
    super(error.message, { cause: error });
  }
}
