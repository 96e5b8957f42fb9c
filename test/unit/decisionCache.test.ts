import { describe, expect, it } from 'vitest';
import { DecisionCache, type DecisionKey } from '../../src/authz/DecisionCache.js';

const key = (resourceId: string, permission = 'view', resourceType = 'workflow'): DecisionKey => ({
  resourceType,
  resourceId,
  permission,
});

describe('DecisionCache', () => {
  const at = 1_000_000;
  const alice = 't/alice';

  it('serves a decision within its TTL and forgets it after', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    cache.set(alice, key('k'), true, at, cache.generation);
    expect(cache.get(alice, key('k'), at + 4_999, undefined)?.allowed).toBe(true);
    expect(cache.get(alice, key('k'), at + 5_000, undefined)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keys by subject, resource type, permission and object', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    cache.set(alice, key('k'), true, at, cache.generation);
    expect(cache.get('t/bob', key('k'), at, undefined)).toBeUndefined();
    expect(cache.get(alice, key('k', 'edit'), at, undefined)).toBeUndefined();
    expect(cache.get(alice, key('k', 'view', 'team'), at, undefined)).toBeUndefined();
    expect(cache.get(alice, key('other'), at, undefined)).toBeUndefined();
    cache.set(alice, key('k'), false, at + 1, cache.generation);
    expect(cache.get(alice, key('k'), at + 1, undefined)?.allowed).toBe(false);
    expect(cache.size).toBe(1);
  });

  it('never serves a decision older than the object’s last recorded write', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    cache.set(alice, key('k'), false, at, cache.generation);
    expect(cache.get(alice, key('k'), at + 10, at - 1)?.allowed).toBe(false);
    expect(cache.get(alice, key('k'), at + 10, at)).toBeUndefined();
    expect(cache.get(alice, key('k'), at + 10, at + 5)).toBeUndefined();
  });

  it('drops everything on invalidate, and refuses decisions computed across an invalidation', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    cache.set(alice, key('a'), true, at, cache.generation);
    const before = cache.generation; // a check is sent…
    cache.invalidate(); // …a relationship changes while it is in flight…
    cache.set(alice, key('b'), true, at, before); // …its answer may be stale: not stored
    expect(cache.get(alice, key('a'), at, undefined)).toBeUndefined();
    expect(cache.get(alice, key('b'), at, undefined)).toBeUndefined();
    cache.set(alice, key('c'), true, at, cache.generation);
    expect(cache.get(alice, key('c'), at, undefined)?.allowed).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('is bounded, evicting the oldest subjects first, then the subject’s own', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 3 });
    for (const subject of ['t/a', 't/b', 't/c', 't/d']) {
      cache.set(subject, key('k'), true, at, cache.generation);
    }
    expect(cache.size).toBe(3);
    expect(cache.get('t/a', key('k'), at, undefined)).toBeUndefined();
    expect(cache.get('t/d', key('k'), at, undefined)?.allowed).toBe(true);
    const own = new DecisionCache({ ttlMs: 5_000, maxEntries: 3 });
    for (const id of ['1', '2', '3', '4']) own.set(alice, key(id), true, at, own.generation);
    expect(own.size).toBeLessThanOrEqual(3);
  });

  it('shares a check in flight, unless invalidated since or older than a write', async () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    const answer = Promise.resolve(true);
    cache.fly(alice, key('k'), answer, at);
    expect(cache.inFlight(alice, key('k'), undefined)).toBe(answer);
    expect(cache.inFlight(alice, key('k'), at)).toBeUndefined();
    expect(cache.inFlight('t/bob', key('k'), undefined)).toBeUndefined();
    cache.invalidate();
    expect(cache.inFlight(alice, key('k'), undefined)).toBeUndefined();
    await answer;
  });

  it('is off with a TTL of 0', () => {
    const cache = new DecisionCache({ ttlMs: 0, maxEntries: 3 });
    cache.set(alice, key('a'), true, at, cache.generation);
    expect(cache.enabled).toBe(false);
    expect(cache.get(alice, key('a'), at, undefined)).toBeUndefined();
  });
});
