/**
 * Where rate-limit buckets and failed-authentication counters live: in this process
 * (MemoryRateLimitStore) or in Redis, shared by every replica (RedisRateLimitStore).
 * Every operation is atomic for its key.
 */
import type { BucketPolicy, BucketVerdict } from './TokenBucket.js';

/** Failed authentications: `maxAttempts` within `windowMs` lock the key for `lockMs`. */
export interface LockoutRule {
  readonly maxAttempts: number;
  readonly windowMs: number;
  readonly lockMs: number;
}

/** What recording one failed authentication did. */
export type FailureOutcome =
  | { readonly kind: 'counted' }
  /** `newly`: this failure set the lock (it was not locked before). */
  | { readonly kind: 'locked'; readonly forMs: number; readonly newly: boolean };

export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Settles once the store can answer, or after `timeoutMs`: whether it can. */
  connect(timeoutMs?: number): Promise<boolean>;
  /** Takes `points` from the bucket `key` under `policy` (a new key starts full). */
  take(key: string, policy: BucketPolicy, points: number): Promise<BucketVerdict>;
  /** Counts a failed authentication of `key`, locking it once the rule says so. */
  recordFailure(key: string, rule: LockoutRule): Promise<FailureOutcome>;
  /** How much longer `key` is locked (0: not locked). */
  lockedForMs(key: string): Promise<number>;
  close(): Promise<void>;
}
