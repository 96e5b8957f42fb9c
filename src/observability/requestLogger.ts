/**
 * The logger of the operation being served, for code that runs on its behalf without
 * being handed its context (Apollo's `formatError`): the transports run each operation in
 * {@link withRequestLogger}, so those lines carry its request id, trace id, tenant and
 * subject like the operation's own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from './logger.js';

const current = new AsyncLocalStorage<Logger>();

export function withRequestLogger<T>(logger: Logger, work: () => T): T {
  return current.run(logger, work);
}

/** The operation's logger, or `fallback` outside one. */
export function requestLogger(fallback: Logger): Logger {
  return current.getStore() ?? fallback;
}
