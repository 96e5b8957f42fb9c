/**
 * The store the configuration asks for: this process's memory, or Redis with the memory
 * store as its fallback (FallbackRateLimitStore).
 */
import type { RateLimitsConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { FallbackRateLimitStore } from './FallbackRateLimitStore.js';
import { MemoryRateLimitStore } from './MemoryRateLimitStore.js';
import type { RateLimitStore } from './RateLimitStore.js';
import { RedisRateLimitStore } from './RedisRateLimitStore.js';

export function openRateLimitStore(
  store: RateLimitsConfig['store'],
  logger: Logger,
): RateLimitStore {
  if (store.kind === 'memory') return new MemoryRateLimitStore();
  return new FallbackRateLimitStore({
    shared: new RedisRateLimitStore({ url: store.url, prefix: store.prefix }),
    local: new MemoryRateLimitStore(),
    logger,
  });
}
