/**
 * The `authorizedKeys` option of a listener (TLS, WebSocket, MessagePort): an AuthorizedKeys, or a
 * list made into one.
 */
import { type AuthorizedKeyInput, AuthorizedKeys } from '../../auth/index.js';
import { transportError } from '../errors.js';

/**
 * `keys` as an AuthorizedKeys. Throws TransportError INVALID_CONFIG, naming `where` (the function the
 * option was given to), for anything else or a bad list.
 */
export function toAuthorizedKeys(
  keys: AuthorizedKeys | readonly AuthorizedKeyInput[],
  where: string,
): AuthorizedKeys {
  if (keys instanceof AuthorizedKeys) return keys;
  if (!Array.isArray(keys)) {
    throw transportError('INVALID_CONFIG', `${where}: authorizedKeys must be an AuthorizedKeys or a list`);
  }
  try {
    return AuthorizedKeys.fromList(keys);
  } catch (err) {
    throw transportError('INVALID_CONFIG', `${where}: authorizedKeys: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
