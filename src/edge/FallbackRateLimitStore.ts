/**
 * The shared store (Redis) with a fallback in memory: while Redis cannot be reached every
 * limit holds per instance — never no limit, never a refusal of all traffic — and the
 * change is logged once each way. While it is down, Redis is tried again at most once a
 * `retryMs` (a hung Redis must not add its command timeout to every request).
 */
import type { Logger } from '../observability/logger.js';
import type { FailureOutcome, LockoutRule, RateLimitStore } from './RateLimitStore.js';
import type { BucketPolicy, BucketVerdict } from './TokenBucket.js';

export interface FallbackCounters {
  /** Operations the fallback answered because the shared store failed. */
  fallbacks: number;
}

export class FallbackRateLimitStore implements RateLimitStore {
  readonly kind: RateLimitStore['kind'];
  readonly counters: FallbackCounters = { fallbacks: 0 };
  readonly #shared: RateLimitStore;
  readonly #local: RateLimitStore;
  readonly #logger: Logger;
  readonly #retryMs: number;
  readonly #now: () => number;
  /** While the shared store is failing: when it may be tried again. */
  #downUntil: number | undefined;

  constructor(options: {
    readonly shared: RateLimitStore;
    readonly local: RateLimitStore;
    readonly logger: Logger;
    readonly retryMs?: number;
    readonly now?: () => number;
  }) {
    this.#shared = options.shared;
    this.#local = options.local;
    this.kind = options.shared.kind;
    this.#logger = options.logger;
    this.#retryMs = options.retryMs ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  /** Whether limits are per instance at the moment (the shared store failed). */
  get degraded(): boolean {
    return this.#downUntil !== undefined;
  }

  /** Waits for the shared store; when it does not answer in time, starts degraded (logged). */
  async connect(timeoutMs?: number): Promise<boolean> {
    if (await this.#shared.connect(timeoutMs)) return true;
    this.#failed(undefined);
    return false;
  }

  take(key: string, policy: BucketPolicy, points: number): Promise<BucketVerdict> {
    return this.#run((store) => store.take(key, policy, points));
  }

  recordFailure(key: string, rule: LockoutRule): Promise<FailureOutcome> {
    return this.#run((store) => store.recordFailure(key, rule));
  }

  lockedForMs(key: string): Promise<number> {
    return this.#run((store) => store.lockedForMs(key));
  }

  async close(): Promise<void> {
    await Promise.all([this.#shared.close(), this.#local.close()]);
  }

  async #run<T>(operation: (store: RateLimitStore) => Promise<T>): Promise<T> {
    if (this.#downUntil !== undefined && this.#now() < this.#downUntil) {
      this.counters.fallbacks += 1;
      return operation(this.#local);
    }
    try {
      const result = await operation(this.#shared);
      if (this.#downUntil !== undefined) {
        this.#downUntil = undefined;
        this.#logger.info('rate-limit store reachable again: limits are shared again', {
          store: this.kind,
        });
      }
      return result;
    } catch (error) {
      this.#failed(error);
      this.counters.fallbacks += 1;
      return operation(this.#local);
    }
  }

  /** The shared store failed (`error`, if one was thrown): logged once, retried after retryMs. */
  #failed(error: unknown): void {
    if (this.#downUntil === undefined) {
      this.#logger.warn('rate-limit store unavailable: limits hold per instance until it is back', {
        store: this.kind,
        ...(error === undefined ? {} : { error }),
      });
    }
    this.#downUntil = this.#now() + this.#retryMs;
  }
}
