/**
 * Where the call scope of the running handler lives (see actors/context.ts): on Node, AsyncLocalStorage,
 * so the scope follows the handler across awaits, timers and promise callbacks.
 */
export { AsyncLocalStorage as ScopeStorage } from 'node:async_hooks';
