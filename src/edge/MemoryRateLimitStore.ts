/**
 * Rate-limit state in this process: the default when no REDIS_URL is set (one instance),
 * and the fallback while Redis cannot be reached (limits per instance, never none). Its
 * maps are bounded: past `maxKeys` the least recently used key is forgotten (a forgotten
 * bucket is full again, a forgotten counter is zero), so a flood of new client addresses
 * costs bounded memory.
 */
import type { FailureOutcome, LockoutRule, RateLimitStore } from './RateLimitStore.js';
import {
  refilled,
  take,
  type BucketPolicy,
  type BucketState,
  type BucketVerdict,
} from './TokenBucket.js';

/** A failed-authentication counter (fixed window from its first failure) and its lock. */
interface Failures {
  readonly count: number;
  readonly windowEnds: number;
  readonly lockedUntil: number;
}

/** A Map that keeps at most `max` entries, forgetting the least recently used. */
class BoundedMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}

export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  readonly #buckets: BoundedMap<BucketState>;
  readonly #failures: BoundedMap<Failures>;
  readonly #now: () => number;

  constructor(options: { readonly maxKeys?: number; readonly now?: () => number } = {}) {
    this.#buckets = new BoundedMap(options.maxKeys ?? 100_000);
    this.#failures = new BoundedMap(options.maxKeys ?? 100_000);
    this.#now = options.now ?? Date.now;
  }

  connect(): Promise<boolean> {
    return Promise.resolve(true);
  }

  take(key: string, policy: BucketPolicy, points: number): Promise<BucketVerdict> {
    const now = this.#now();
    const result = take(policy, refilled(policy, this.#buckets.get(key), now), points, now);
    this.#buckets.set(key, result.state);
    return Promise.resolve(result.verdict);
  }

  recordFailure(key: string, rule: LockoutRule): Promise<FailureOutcome> {
    const now = this.#now();
    const seen = this.#failures.get(key);
    if (seen && seen.lockedUntil > now) {
      return Promise.resolve({ kind: 'locked', forMs: seen.lockedUntil - now, newly: false });
    }
    const count = seen && seen.windowEnds > now ? seen.count + 1 : 1;
    const windowEnds = count === 1 ? now + rule.windowMs : (seen?.windowEnds ?? now);
    if (count >= rule.maxAttempts) {
      this.#failures.set(key, { count: 0, windowEnds: now, lockedUntil: now + rule.lockMs });
      return Promise.resolve({ kind: 'locked', forMs: rule.lockMs, newly: true });
    }
    this.#failures.set(key, { count, windowEnds, lockedUntil: 0 });
    return Promise.resolve({ kind: 'counted' });
  }

  lockedForMs(key: string): Promise<number> {
    const lockedUntil = this.#failures.get(key)?.lockedUntil ?? 0;
    return Promise.resolve(Math.max(0, lockedUntil - this.#now()));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
