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

  describe('invalidating written objects', () => {
    const selfContainedTypes = new Set(['workflow']);
    const bob = 't/bob';
    const written = (...ids: string[]) =>
      ids.map((resourceId) => ({ resourceType: 'workflow', resourceId }));

    it("forgets every subject's decisions about the written objects and keeps the rest", () => {
      const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10, selfContainedTypes });
      for (const subject of [alice, bob]) {
        for (const permission of ['view', 'edit']) {
          cache.set(subject, key('w1', permission), true, at, cache.generation);
          cache.set(subject, key('w2', permission), true, at, cache.generation);
        }
      }
      cache.set(alice, key('w1', 'view', 'team'), true, at, cache.generation);
      cache.invalidate(written('w1'));
      for (const subject of [alice, bob]) {
        for (const permission of ['view', 'edit']) {
          expect(cache.get(subject, key('w1', permission), at, undefined)).toBeUndefined();
          expect(cache.get(subject, key('w2', permission), at, undefined)?.allowed).toBe(true);
        }
      }
      // Another type with the same id is another object.
      expect(cache.get(alice, key('w1', 'view', 'team'), at, undefined)?.allowed).toBe(true);
      expect(cache.size).toBe(5);
    });

    it('returns the decisions it forgot one by one, and none when it forgets everything', () => {
      const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10, selfContainedTypes });
      cache.set(alice, key('w1', 'view'), true, at, cache.generation);
      cache.set(bob, key('w1', 'edit'), false, at, cache.generation);
      cache.set(bob, key('w2', 'view'), true, at, cache.generation);
      expect(cache.invalidate(written('w1'))).toEqual([
        { subject: alice, key: key('w1', 'view') },
        { subject: bob, key: key('w1', 'edit') },
      ]);
      expect(cache.invalidate(written('w1'))).toEqual([]);
      expect(cache.invalidate([{ resourceType: 'team', resourceId: 't1' }])).toEqual([]);
    });

    it('refuses a decision about a written object computed across the write, and takes others', async () => {
      const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10, selfContainedTypes });
      const before = cache.generation;
      const answer = Promise.resolve(true);
      cache.fly(alice, key('w1'), answer, at);
      cache.fly(alice, key('w2'), answer, at);
      cache.invalidate(written('w1'));
      expect(cache.inFlight(alice, key('w1'), undefined)).toBeUndefined();
      expect(cache.inFlight(alice, key('w2'), undefined)).toBe(answer);
      cache.set(alice, key('w1'), true, at, before);
      cache.set(alice, key('w2'), true, at, before);
      expect(cache.get(alice, key('w1'), at, undefined)).toBeUndefined();
      expect(cache.get(alice, key('w2'), at, undefined)?.allowed).toBe(true);
      // Checked after the write: stored again.
      cache.set(alice, key('w1'), false, at + 1, cache.generation);
      expect(cache.get(alice, key('w1'), at + 1, undefined)?.allowed).toBe(false);
      await answer;
    });

    it('forgets everything when a written object is of a type others reach, or of any type without the option', () => {
      const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10, selfContainedTypes });
      cache.set(alice, key('w1'), true, at, cache.generation);
      const before = cache.generation;
      cache.invalidate([...written('w2'), { resourceType: 'team', resourceId: 't1' }]);
      expect(cache.size).toBe(0);
      cache.set(alice, key('w3'), true, at, before);
      expect(cache.get(alice, key('w3'), at, undefined)).toBeUndefined();
      const plain = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
      plain.set(alice, key('w1'), true, at, plain.generation);
      plain.invalidate(written('w2'));
      expect(plain.size).toBe(0);
    });

    it('remembers at most maxEntries written objects, then forgets everything once', () => {
      const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 3, selfContainedTypes });
      cache.set(alice, key('keep'), true, at, cache.generation);
      cache.invalidate(written('a', 'b'));
      expect(cache.size).toBe(1);
      cache.invalidate(written('c', 'd'));
      expect(cache.size).toBe(0);
      cache.set(alice, key('keep'), true, at, cache.generation);
      cache.invalidate(written('e'));
      expect(cache.size).toBe(1);
    });
  });

  it('is off with a TTL of 0', () => {
    const cache = new DecisionCache({ ttlMs: 0, maxEntries: 3 });
    cache.set(alice, key('a'), true, at, cache.generation);
    expect(cache.enabled).toBe(false);
    expect(cache.get(alice, key('a'), at, undefined)).toBeUndefined();
  });
});
