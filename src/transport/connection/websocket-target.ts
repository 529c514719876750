/**
 * What both `dialWebSocket`s (Node's, ws-dial.ts; the browser's, platform/browser/websocket.ts) check
 * before they open anything (Node-free, so it is in the browser bundle too): the connection config, and the URL's canonical origin, which the in-band
 * handshake binds and which must be ws:// or wss://.
 */
import { isTransportError, transportError } from '../errors.js';
import { type ConnectionConfig, resolveConfig } from './config.js';
import { canonicalOrigin } from './inband-codec.js';

/**
 * The resolved config and origin of a dial to `options.url`. `check` may throw (an Error whose message
 * says what is wrong) for options one platform does not take. Throws TransportError INVALID_CONFIG
 * naming the URL, or the config's own INVALID_CONFIG.
 */
export function webSocketDialTarget(
  options: Partial<ConnectionConfig> & { readonly url: string },
  check?: () => void,
): { config: ConnectionConfig; origin: string } {
  try {
    const config = resolveConfig(options);
    const origin = canonicalOrigin(options.url);
    if (!origin.startsWith('ws://') && !origin.startsWith('wss://'))
      throw new Error('not a ws:// or wss:// URL');
    check?.();
    return { config, origin };
  } catch (err) {
    if (isTransportError(err)) throw err;
    throw transportError('INVALID_CONFIG', `dialWebSocket: ${options.url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
