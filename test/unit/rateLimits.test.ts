/**
 * The edge's parts without a server: the token bucket's arithmetic, the in-memory store
 * (bounded, lockouts), the fallback when the shared store fails, the cost-aware
 * rate limiter's budgets and keys, the RateLimit headers, and the client address under
 * each TRUST_PROXY setting.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/authn/Principal.js';
import { loadConfig, parseTrustProxy } from '../../src/config.js';
import { addressKey, clientAddress } from '../../src/edge/clientAddress.js';
import { AuthLockout } from '../../src/edge/AuthLockout.js';
import { FallbackRateLimitStore } from '../../src/edge/FallbackRateLimitStore.js';
import { MemoryRateLimitStore } from '../../src/edge/MemoryRateLimitStore.js';
import { RateLimiter } from '../../src/edge/RateLimiter.js';
import type { RateLimitStore } from '../../src/edge/RateLimitStore.js';
import { policyHeader, rateLimitHeaders } from '../../src/edge/rateLimitHeaders.js';
import { refilled, take, type BucketPolicy } from '../../src/edge/TokenBucket.js';
import { recordingLogger } from '../support/recordingLogger.js';

const POLICY: BucketPolicy = { name: 'user', perHour: 3600, burst: 10 }; // a point a second

function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    kind: 'user',
    subject: 'demo|alice',
    tenantId: '00000000-0000-4000-8000-000000000001',
    roles: [],
    scopes: [],
    amr: [],
    expiresAt: 0,
    tokenId: undefined,
    ...overrides,
  };
}

describe('token bucket', () => {
  it('starts full, takes points, refills continuously up to the burst', () => {
    expect(refilled(POLICY, undefined, 0)).toBe(10);
    const first = take(POLICY, 10, 4, 1_000);
    expect(first.verdict).toEqual({ allowed: true, remaining: 6, retryAfterMs: 0, resetMs: 4_000 });
    expect(refilled(POLICY, first.state, 3_500)).toBeCloseTo(8.5);
    expect(refilled(POLICY, first.state, 1_000_000)).toBe(10);
  });

  it('refuses with the wait until the points are there, taking nothing', () => {
    const refused = take(POLICY, 2.5, 4, 0);
    expect(refused.verdict).toEqual({
      allowed: false,
      remaining: 2,
      retryAfterMs: 1_500,
      resetMs: 7_500,
    });
    expect(refused.state.points).toBe(2.5);
  });

  it('charges a request dearer than the burst a whole bucket (it can run, once full)', () => {
    expect(take(POLICY, 10, 50, 0).verdict).toMatchObject({ allowed: true, remaining: 0 });
    expect(take(POLICY, 9, 50, 0).verdict).toMatchObject({ allowed: false, retryAfterMs: 1_000 });
  });
});

describe('memory store', () => {
  it('keeps one bucket per key and forgets the least recently used past its bound', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore({ maxKeys: 2, now: () => now });
    await store.take('a', POLICY, 10);
    await store.take('b', POLICY, 10);
    expect((await store.take('a', POLICY, 1)).allowed).toBe(false);
    await store.take('c', POLICY, 10); // evicts b, the least recently used
    expect((await store.take('b', POLICY, 1)).remaining).toBe(9);
    now = 2_000;
    expect((await store.take('a', POLICY, 1)).allowed).toBe(true);
  });

  it('locks a key after maxAttempts failures within the window, for lockMs', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore({ now: () => now });
    const rule = { maxAttempts: 3, windowMs: 1_000, lockMs: 5_000 };
    expect(await store.recordFailure('ip', rule)).toEqual({ kind: 'counted' });
    now = 1_500; // the window passed: counting starts again
    expect(await store.recordFailure('ip', rule)).toEqual({ kind: 'counted' });
    expect(await store.recordFailure('ip', rule)).toEqual({ kind: 'counted' });
    expect(await store.recordFailure('ip', rule)).toEqual({
      kind: 'locked',
      forMs: 5_000,
      newly: true,
    });
    now = 2_500;
    expect(await store.lockedForMs('ip')).toBe(4_000);
    expect(await store.recordFailure('ip', rule)).toEqual({
      kind: 'locked',
      forMs: 4_000,
      newly: false,
    });
    expect(await store.lockedForMs('other')).toBe(0);
    now = 6_500;
    expect(await store.lockedForMs('ip')).toBe(0);
    expect(await store.recordFailure('ip', rule)).toEqual({ kind: 'counted' });
  });
});

describe('fallback store', () => {
  function failing(): RateLimitStore & { calls: number } {
    const down = () => Promise.reject(new Error('connect ECONNREFUSED'));
    return {
      kind: 'redis',
      calls: 0,
      connect: () => Promise.resolve(false),
      take() {
        this.calls += 1;
        return down();
      },
      recordFailure: down,
      lockedForMs: down,
      close: () => Promise.resolve(),
    };
  }

  it('answers from memory while the shared store fails: limits per instance, never none', async () => {
    const { logger, lines } = recordingLogger();
    let now = 0;
    const shared = failing();
    const store = new FallbackRateLimitStore({
      shared,
      local: new MemoryRateLimitStore({ now: () => now }),
      logger,
      retryMs: 1_000,
      now: () => now,
    });
    for (let i = 0; i < 10; i += 1) expect((await store.take('k', POLICY, 1)).allowed).toBe(true);
    expect((await store.take('k', POLICY, 1)).allowed).toBe(false);
    expect(store.degraded).toBe(true);
    // Tried once, then left alone for retryMs (a hung Redis must not slow every request).
    expect(shared.calls).toBe(1);
    now = 1_000;
    await store.take('k', POLICY, 1);
    expect(shared.calls).toBe(2);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'rate-limit store unavailable: limits hold per instance until it is back',
    ]);
    expect(store.counters.fallbacks).toBe(12);
  });

  it('goes back to the shared store when it answers again, and says so', async () => {
    const { logger, lines } = recordingLogger();
    let up = false;
    const memory = new MemoryRateLimitStore();
    const shared: RateLimitStore = {
      kind: 'redis',
      connect: () => Promise.resolve(true),
      take: (key, policy, points) =>
        up ? memory.take(key, policy, points) : Promise.reject(new Error('down')),
      recordFailure: () => Promise.reject(new Error('down')),
      lockedForMs: () => Promise.reject(new Error('down')),
      close: () => Promise.resolve(),
    };
    const store = new FallbackRateLimitStore({
      shared,
      local: new MemoryRateLimitStore(),
      logger,
      retryMs: 0,
    });
    await store.take('k', POLICY, 1);
    up = true;
    await store.take('k', POLICY, 1);
    expect(store.degraded).toBe(false);
    expect(lines.map((l) => l.message)).toEqual([
      'rate-limit store unavailable: limits hold per instance until it is back',
      'rate-limit store reachable again: limits are shared again',
    ]);
  });
});

describe('rate limiter', () => {
  const config = loadConfig({}).rateLimits;

  it('has the documented defaults (per hour: 1,000 users, 10,000 premium, 100 anonymous)', () => {
    expect(config).toMatchObject({
      store: { kind: 'memory' },
      user: { perHour: 1000, burst: 100 },
      premium: { perHour: 10000, burst: 1000 },
      anonymous: { perHour: 100, burst: 10 },
      premiumScopes: ['gatehouse:premium'],
      premiumRoles: ['premium'],
      costPerPoint: 100,
    });
  });

  it('charges cost-aware points: one per costPerPoint of query cost, at least one', () => {
    const limiter = new RateLimiter(config, new MemoryRateLimitStore());
    expect([1, 100, 101, 1_000, 10_000].map((c) => limiter.pointsFor(c))).toEqual([
      1, 1, 2, 10, 100,
    ]);
  });

  it('gives premium scopes and roles the premium budget, anonymous callers the anonymous one', () => {
    const limiter = new RateLimiter(config, new MemoryRateLimitStore());
    expect(limiter.policyFor(principal()).name).toBe('user');
    expect(limiter.policyFor(principal({ scopes: ['gatehouse:premium'] })).name).toBe('premium');
    expect(limiter.policyFor(principal({ roles: ['premium'] })).name).toBe('premium');
    expect(limiter.policyFor(null).name).toBe('anonymous');
  });

  it('keeps separate budgets per tenant and subject, and per address for anonymous callers', async () => {
    const tight = {
      ...config,
      user: { name: 'user', perHour: 1, burst: 1 },
      anonymous: { name: 'anonymous', perHour: 1, burst: 1 },
    };
    const limiter = new RateLimiter(tight, new MemoryRateLimitStore());
    const alice = principal();
    const otherTenant = principal({ tenantId: '00000000-0000-4000-8000-000000000002' });
    expect((await limiter.charge({ principal: alice, clientIp: '1.1.1.1' }, 1)).allowed).toBe(true);
    expect((await limiter.charge({ principal: alice, clientIp: '2.2.2.2' }, 1)).allowed).toBe(
      false,
    );
    expect((await limiter.charge({ principal: otherTenant, clientIp: '1.1.1.1' }, 1)).allowed).toBe(
      true,
    );
    expect((await limiter.charge({ principal: null, clientIp: '1.1.1.1' }, 1)).allowed).toBe(true);
    expect((await limiter.charge({ principal: null, clientIp: '1.1.1.1' }, 1)).allowed).toBe(false);
    // An IPv6 client's /64 is one budget: rotating addresses inside it gains nothing.
    expect((await limiter.charge({ principal: null, clientIp: '2001:db8::1' }, 1)).allowed).toBe(
      true,
    );
    expect(
      (await limiter.charge({ principal: null, clientIp: '2001:db8::ffff:2' }, 1)).allowed,
    ).toBe(false);
  });

  it('advertises the bucket as RateLimit-Policy and RateLimit, with Retry-After on refusal', async () => {
    const limiter = new RateLimiter(
      { ...config, user: { name: 'user', perHour: 1000, burst: 100 } },
      new MemoryRateLimitStore({ now: () => 0 }),
    );
    expect(policyHeader(config.user)).toBe('"user";q=100;w=360');
    const ok = await limiter.charge({ principal: principal(), clientIp: '' }, 9_000);
    expect(rateLimitHeaders(ok)).toEqual({
      'RateLimit-Policy': '"user";q=100;w=360',
      RateLimit: '"user";r=10;t=324',
    });
    const refused = await limiter.charge({ principal: principal(), clientIp: '' }, 2_000);
    expect(rateLimitHeaders(refused)).toEqual({
      'RateLimit-Policy': '"user";q=100;w=360',
      RateLimit: '"user";r=10;t=324',
      'Retry-After': '36', // 10 points short, at 1,000 an hour
    });
  });
});

describe('authentication lockout', () => {
  it('logs and counts the lock and its end', async () => {
    const { logger, lines } = recordingLogger();
    const lockout = new AuthLockout(
      { maxAttempts: 2, windowMs: 60_000, lockMs: 50 },
      new MemoryRateLimitStore(),
      logger,
    );
    expect(await lockout.recordFailure('203.0.113.9')).toBe(0);
    expect(await lockout.recordFailure('203.0.113.9')).toBe(50);
    expect(await lockout.lockedForMs('203.0.113.9')).toBeGreaterThan(0);
    expect(await lockout.lockedForMs('203.0.113.10')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await lockout.lockedForMs('203.0.113.9')).toBe(0);
    expect(lockout.counters).toEqual({ failures: 2, locks: 1, unlocks: 1, refusals: 1 });
    expect(lines.map((l) => [l.level, l.message, l.fields['clientIp']])).toEqual([
      ['warn', 'authentication lockout begins', '203.0.113.9'],
      ['info', 'authentication lockout ends', '203.0.113.9'],
    ]);
    lockout.close();
  });
});

describe('client address (TRUST_PROXY)', () => {
  it('believes no X-Forwarded-For by default', () => {
    const none = parseTrustProxy(undefined);
    expect(clientAddress('10.0.0.5', '6.6.6.6', none)).toBe('10.0.0.5');
    expect(clientAddress('::ffff:10.0.0.5', undefined, none)).toBe('10.0.0.5');
  });

  it('with a hop count, takes the address that many proxies back', () => {
    const one = parseTrustProxy('1');
    expect(clientAddress('10.0.0.5', '6.6.6.6, 203.0.113.7', one)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', ['6.6.6.6', '203.0.113.7'], parseTrustProxy('2'))).toBe(
      '6.6.6.6',
    );
    expect(clientAddress('10.0.0.5', 'garbage', one)).toBe('10.0.0.5');
  });

  it('with addresses and CIDRs, skips trusted proxies from the right', () => {
    const trust = parseTrustProxy('10.0.0.0/8, 192.168.1.7, fd00::/8');
    expect(clientAddress('10.0.0.5', '203.0.113.7, 192.168.1.7', trust)).toBe('203.0.113.7');
    // The client's own (spoofed) entry is left of the first untrusted hop: never believed.
    expect(clientAddress('10.0.0.5', '1.2.3.4, 203.0.113.7', trust)).toBe('203.0.113.7');
    expect(clientAddress('198.51.100.1', '1.2.3.4', trust)).toBe('198.51.100.1');
    expect(clientAddress('fd00::1', '2001:db8::9', trust)).toBe('2001:db8::9');
  });

  it('refuses what would let clients choose their address, naming the entry', () => {
    expect(() => parseTrustProxy('true')).toThrow(/any client choose its address/);
    expect(() => parseTrustProxy('11')).toThrow(/at most 10/);
    expect(() => parseTrustProxy('10.0.0.0/33')).toThrow('"10.0.0.0/33" is not an address or CIDR');
    expect(() => parseTrustProxy('proxy.local')).toThrow('"proxy.local" is not an address or CIDR');
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY: "true"/);
  });

  it('keys IPv6 addresses by their /64 and IPv4 addresses as they are', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0db8:0000:0001:1:2:3:4')).toBe('2001:db8:0:1::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('rate-limit configuration', () => {
  it('refuses a burst above the hourly budget and a bad Redis URL, naming the variable', () => {
    expect(() => loadConfig({ RATE_LIMIT_USER_BURST: '2000' })).toThrow(
      /RATE_LIMIT_USER_BURST: must not exceed/,
    );
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL/);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).rateLimits.store).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
      prefix: 'gatehouse:',
    });
  });
});
