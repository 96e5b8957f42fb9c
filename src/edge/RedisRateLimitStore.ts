/**
 * Rate-limit state in Redis, shared by every replica: each operation is one Lua script
 * (atomic per key, timed by the Redis server's clock so replicas' clocks do not matter).
 * The bucket script is TokenBucket.ts's arithmetic; keys expire once a bucket would be
 * full again or a counter's window has passed. Keys carry a hash tag (`{…}`), so a
 * counter and its lock stay on one node of a Redis Cluster.
 *
 * Commands fail fast while Redis is unreachable (no offline queue, a short command
 * timeout): FallbackRateLimitStore then answers from memory.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { FailureOutcome, LockoutRule, RateLimitStore } from './RateLimitStore.js';
import {
  costIn,
  refillPerMs,
  verdictOf,
  type BucketPolicy,
  type BucketVerdict,
} from './TokenBucket.js';

/** KEYS: bucket. ARGV: points per ms, burst, cost. Returns [allowed, points left]. */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(state[1])
if points == nil then
  points = burst
else
  points = math.min(burst, points + math.max(0, now - tonumber(state[2])) * rate)
end
local allowed = 0
if points >= cost then
  points = points - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'points', string.format('%.6f', points), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - points) / rate) + 1000)
return {allowed, string.format('%.6f', points)}
`;

/**
 * KEYS: counter, lock. ARGV: max attempts, window ms, lock ms.
 * Returns [0, 0] counted, [1, ms] already locked, [2, ms] locked by this failure.
 */
const FAIL = `
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return {1, locked} end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return {2, tonumber(ARGV[3])}
end
return {0, 0}
`;

class Script {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, loading the script on NOSCRIPT (a restarted or new Redis). */
  async run(
    redis: Redis,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const take = new Script(TAKE);
const fail = new Script(FAIL);

export interface RedisRateLimitStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  readonly url: string;
  /** Prefix of every key (several deployments may share one Redis). */
  readonly prefix?: string;
  /** How long one command may take before the fallback answers (ms). */
  readonly commandTimeoutMs?: number;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: RedisRateLimitStoreOptions) {
    this.#prefix = options.prefix ?? 'gatehouse:';
    this.#redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: 2_000,
      // Keep reconnecting (at most every 2 s); until then commands fail at once.
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    // Connection errors surface as failed commands (the fallback logs them), not as
    // unhandled 'error' events.
    this.#redis.on('error', () => undefined);
  }

  /**
   * Settles once connected, or after `timeoutMs` (commands sent before then fail, and the
   * fallback answers them): whether it connected.
   */
  connect(timeoutMs = 2_000): Promise<boolean> {
    if (this.#redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (connected: boolean) => {
        clearTimeout(timer);
        this.#redis.off('ready', onReady);
        resolve(connected);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#redis.once('ready', onReady);
    });
  }

  async take(key: string, policy: BucketPolicy, points: number): Promise<BucketVerdict> {
    const cost = costIn(policy, points);
    const reply = (await take.run(
      this.#redis,
      [`${this.#prefix}bucket:{${key}}`],
      [refillPerMs(policy).toFixed(12), policy.burst, cost],
    )) as [number, string];
    return verdictOf(policy, reply[0] === 1, Number(reply[1]), cost);
  }

  async recordFailure(key: string, rule: LockoutRule): Promise<FailureOutcome> {
    const [state, ms] = (await fail.run(
      this.#redis,
      [`${this.#prefix}failures:{${key}}`, `${this.#prefix}lock:{${key}}`],
      [rule.maxAttempts, rule.windowMs, rule.lockMs],
    )) as [number, number];
    if (state === 0) return { kind: 'counted' };
    return { kind: 'locked', forMs: ms, newly: state === 2 };
  }

  async lockedForMs(key: string): Promise<number> {
    const ms = await this.#redis.pttl(`${this.#prefix}lock:{${key}}`);
    return Math.max(0, ms);
  }

  close(): Promise<void> {
    this.#redis.disconnect();
    return Promise.resolve();
  }
}
