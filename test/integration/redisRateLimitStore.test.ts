/**
 * The Redis store against the real Redis server (127.0.0.1:6379, or TEST_REDIS_URL; CI
 * starts it): the same verdicts as the in-memory store, lockouts with their expiry, the
 * scripts reloaded after Redis forgets them, and fast failure when Redis is unreachable.
 * Each test uses its own key prefix and deletes its keys.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from '../../src/edge/MemoryRateLimitStore.js';
import { RedisRateLimitStore } from '../../src/edge/RedisRateLimitStore.js';
import type { BucketPolicy } from '../../src/edge/TokenBucket.js';

const URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const POLICY: BucketPolicy = { name: 'user', perHour: 36, burst: 5 }; // a point per 100 s

const admin = new Redis(URL);
const prefixes: string[] = [];

async function store(): Promise<RedisRateLimitStore> {
  const prefix = `gatehouse-test:${randomUUID()}:`;
  prefixes.push(prefix);
  const redis = new RedisRateLimitStore({ url: URL, prefix });
  expect(await redis.connect()).toBe(true);
  return redis;
}

async function keysOf(prefix: string): Promise<string[]> {
  return (await admin.keys(`${prefix}*`)).sort();
}

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  admin.disconnect();
});

describe('Redis rate-limit store', () => {
  it('answers a sequence of takes as the in-memory store does', async () => {
    const redis = await store();
    const memory = new MemoryRateLimitStore();
    const sequence = [1, 2, 1, 3, 1, 10, 1];
    const fromRedis = [];
    const fromMemory = [];
    for (const points of sequence) {
      fromRedis.push(await redis.take('user:t:alice', POLICY, points));
      fromMemory.push(await memory.take('user:t:alice', POLICY, points));
    }
    const shape = (v: { allowed: boolean; remaining: number }) => [v.allowed, v.remaining];
    expect(fromRedis.map(shape)).toEqual(fromMemory.map(shape));
    expect(fromRedis.map((v) => v.allowed)).toEqual([true, true, true, false, true, false, false]);
    // The wait is the refill time of the missing points (3 asked, 1 left: 200 s), less the
    // test's own run time.
    expect(fromRedis[3]?.retryAfterMs).toBeGreaterThan(199_000);
    expect(fromRedis[3]?.retryAfterMs).toBeLessThanOrEqual(200_000);
    await redis.close();
  });

  it('keeps a bucket only until it would be full again, under the prefix and a hash tag', async () => {
    const redis = await store();
    const prefix = prefixes.at(-1) ?? '';
    await redis.take('ip:203.0.113.7', POLICY, 1);
    expect(await keysOf(prefix)).toEqual([`${prefix}bucket:{ip:203.0.113.7}`]);
    const ttl = await admin.pttl(`${prefix}bucket:{ip:203.0.113.7}`);
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(101_000);
    await redis.close();
  });

  it('locks after maxAttempts failures, shares the lock across clients, and lets it expire', async () => {
    const first = await store();
    const prefix = prefixes.at(-1) ?? '';
    const second = new RedisRateLimitStore({ url: URL, prefix });
    await second.connect();
    const rule = { maxAttempts: 3, windowMs: 60_000, lockMs: 1_000 };
    expect(await first.recordFailure('ip:198.51.100.4', rule)).toEqual({ kind: 'counted' });
    expect(await second.recordFailure('ip:198.51.100.4', rule)).toEqual({ kind: 'counted' });
    expect(await first.recordFailure('ip:198.51.100.4', rule)).toEqual({
      kind: 'locked',
      forMs: 1_000,
      newly: true,
    });
    expect(await second.lockedForMs('ip:198.51.100.4')).toBeGreaterThan(0);
    const again = await second.recordFailure('ip:198.51.100.4', rule);
    expect(again).toMatchObject({ kind: 'locked', newly: false });
    expect(await keysOf(prefix)).toEqual([`${prefix}lock:{ip:198.51.100.4}`]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await first.lockedForMs('ip:198.51.100.4')).toBe(0);
    await Promise.all([first.close(), second.close()]);
  });

  it('reloads its scripts when Redis has forgotten them (SCRIPT FLUSH, a restart)', async () => {
    const redis = await store();
    await redis.take('k', POLICY, 1);
    await admin.script('FLUSH');
    expect((await redis.take('k', POLICY, 1)).remaining).toBe(3);
    await redis.close();
  });

  it('fails fast, without queueing, while Redis cannot be reached', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const down = new RedisRateLimitStore({ url: `redis://127.0.0.1:${port}` });
    expect(await down.connect(300)).toBe(false);
    await expect(down.take('k', POLICY, 1)).rejects.toThrow();
    await expect(down.lockedForMs('k')).rejects.toThrow();
    await down.close();
  });
});
