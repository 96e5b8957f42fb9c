/**
 * Lockout after failed authentication (seed 004): `maxAttempts` failures from one client
 * address within `windowMs` lock that address for `lockMs` — every request from it is
 * then answered 429 with `Retry-After`, even one with a valid token. Locks are logged and
 * counted when they begin and when they end (the end as seen by the instance that set it).
 */
import type { Logger } from '../observability/logger.js';
import { subjectKey } from './RateLimiter.js';
import type { LockoutRule, RateLimitStore } from './RateLimitStore.js';

export interface LockoutCounters {
  failures: number;
  locks: number;
  unlocks: number;
  /** Requests refused because their address was locked. */
  refusals: number;
}

export class AuthLockout {
  readonly rule: LockoutRule;
  readonly counters: LockoutCounters = { failures: 0, locks: 0, unlocks: 0, refusals: 0 };
  readonly #store: RateLimitStore;
  readonly #logger: Logger;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(rule: LockoutRule, store: RateLimitStore, logger: Logger) {
    this.rule = rule;
    this.#store = store;
    this.#logger = logger;
  }

  /** How much longer requests from `clientIp` are refused (0: not locked). */
  async lockedForMs(clientIp: string): Promise<number> {
    const ms = await this.#store.lockedForMs(subjectKey({ principal: null, clientIp }));
    if (ms > 0) this.counters.refusals += 1;
    return ms;
  }

  /** Records a failed authentication from `clientIp`; how long it is now locked (0: not). */
  async recordFailure(clientIp: string): Promise<number> {
    this.counters.failures += 1;
    const key = subjectKey({ principal: null, clientIp });
    const outcome = await this.#store.recordFailure(key, this.rule);
    if (outcome.kind === 'counted') return 0;
    if (outcome.newly) {
      this.counters.locks += 1;
      this.#logger.warn('authentication lockout begins', {
        clientIp,
        attempts: this.rule.maxAttempts,
        windowMs: this.rule.windowMs,
        lockMs: outcome.forMs,
      });
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.counters.unlocks += 1;
        this.#logger.info('authentication lockout ends', { clientIp });
      }, outcome.forMs);
      timer.unref();
      this.#timers.add(timer);
    }
    return outcome.forMs;
  }

  /** Stops the timers that would log lock ends. */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
