/**
 * Errors of the auth layer (identities, key files, certificates, trust lists).
 *
 * Every error that leaves `src/auth` is an {@link AuthError} with a stable string {@link AuthError.code}.
 * Code matches on `code`, never on message text. Messages name the file (and line) involved and, where
 * there is one, the fix. Every code is listed in `docs/SECURITY.md`.
 */

/** Stable codes. Adding one means adding it to `docs/SECURITY.md` as well. */
export const AuthErrorCode = {
  /** A key file can be read (or written) by group or others. The message names the file and `chmod 600 FILE`. */
  KEY_FILE_PERMISSIONS: 'KEY_FILE_PERMISSIONS',
  /** A key file is not in the rxchan key format, or its public key does not match its seed. */
  KEY_FILE_INVALID: 'KEY_FILE_INVALID',
  /** A key file does not exist (or is not a regular file). */
  KEY_FILE_NOT_FOUND: 'KEY_FILE_NOT_FOUND',
  /** Saving would overwrite an existing key file and `overwrite` was not set. */
  KEY_FILE_EXISTS: 'KEY_FILE_EXISTS',
  /** A key or seed in text or bytes is malformed (not 43 base64url characters / not 32 bytes). */
  INVALID_KEY: 'INVALID_KEY',
  /** An authorized-keys text has a malformed line or a duplicate key; the message names the line. */
  AUTHORIZED_KEYS_INVALID: 'AUTHORIZED_KEYS_INVALID',
  /**
   * An authorized-keys file that others could have written: writable by group or others, owned by
   * someone other than us or root, or in a directory others may write to (without the sticky bit).
   * The message names the file and the fix.
   */
  AUTHORIZED_KEYS_PERMISSIONS: 'AUTHORIZED_KEYS_PERMISSIONS',
  /** A known-hosts text has a malformed line; the message names the line. */
  KNOWN_HOSTS_INVALID: 'KNOWN_HOSTS_INVALID',
  /** A certificate is not ed25519, its self-signature fails, or it is outside its validity period. */
  CERTIFICATE_INVALID: 'CERTIFICATE_INVALID',
  /** A delegation grant is malformed, its signature fails, its admin is not trusted, or it has expired. */
  GRANT_INVALID: 'GRANT_INVALID',
} as const;

export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** The error every auth function throws or rejects with. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  /** The stable code: match on this. */
  readonly code: AuthErrorCode;
  /** The file involved, if any. */
  readonly file: string | undefined;
  /** The 1-based line involved (trust lists), if any. */
  readonly line: number | undefined;

  constructor(
    code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown; file?: string; line?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options?.file;
    this.line = options?.line;
  }
}

/** The one factory: `authError('KEY_FILE_INVALID', 'key.rx: no key line', { file })`. */
export function authError(
  code: AuthErrorCode,
  message: string,
  options?: { cause?: unknown; file?: string; line?: number },
): AuthError {
  return new AuthError(code, message, options);
}

/** True when `err` is an AuthError, optionally with the given code. */
export function isAuthError(err: unknown, code?: AuthErrorCode): err is AuthError {
  return err instanceof AuthError && (code === undefined || err.code === code);
}
