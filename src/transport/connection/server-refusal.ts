/** Why a dialer refuses a server: the codes, apart from the trust logic (server-trust.ts) so the browser build has them. */
/** Why a dialer refused a server (the `remoteCode` of its UNAUTHENTICATED error). */
export const ServerRefusal = {
  /** The server's key is not the pinned one (or not the one known-hosts has for this address). */
  SERVER_KEY_MISMATCH: 'SERVER_KEY_MISMATCH',
  /** Known-hosts has no key for this address and trust on first use is off. */
  SERVER_UNKNOWN: 'SERVER_UNKNOWN',
  /** The server's certificate is missing, not ed25519, not self-signed by its key, or out of date. */
  SERVER_BAD_CERTIFICATE: 'SERVER_BAD_CERTIFICATE',
  /**
   * In-band handshake: the server's signature of the transcript does not verify (it is not the
   * holder of the key it showed, or it bound another origin).
   */
  SERVER_BAD_SIGNATURE: 'SERVER_BAD_SIGNATURE',
  /**
   * The dialer requires a grant from the server (`serverGrant`: cluster refs) and the server's
   * certificate carries none that holds.
   */
  SERVER_NO_GRANT: 'SERVER_NO_GRANT',
} as const;
export type ServerRefusal = (typeof ServerRefusal)[keyof typeof ServerRefusal];
