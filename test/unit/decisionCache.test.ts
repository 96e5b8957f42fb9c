import { describe, expect, it } from 'vitest';
import { DecisionCache } from '../../src/authz/DecisionCache.js';

describe('DecisionCache', () => {
  const at = 1_000_000;

  it('serves a decision within its TTL and forgets it after', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    cache.set('k', true, at, cache.generation);
    expect(cache.get('k', at + 4_999, undefined)?.allowed).toBe(true);
    expect(cache.get('k', at + 5_000, undefined)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never serves a decision older than the object’s last recorded write', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    cache.set('k', false, at, cache.generation);
    expect(cache.get('k', at + 10, at - 1)?.allowed).toBe(false);
    expect(cache.get('k', at + 10, at)).toBeUndefined();
    expect(cache.get('k', at + 10, at + 5)).toBeUndefined();
  });

  it('drops everything on invalidate, and refuses decisions computed across an invalidation', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 10 });
    cache.set('a', true, at, cache.generation);
    const before = cache.generation; // a check is sent…
    cache.invalidate(); // …a relationship changes while it is in flight…
    cache.set('b', true, at, before); // …its answer may be stale: not stored
    expect(cache.get('a', at, undefined)).toBeUndefined();
    expect(cache.get('b', at, undefined)).toBeUndefined();
    cache.set('c', true, at, cache.generation);
    expect(cache.get('c', at, undefined)?.allowed).toBe(true);
  });

  it('is bounded, evicting the oldest entries', () => {
    const cache = new DecisionCache({ ttlMs: 5_000, maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, true, at, cache.generation);
    expect(cache.size).toBe(3);
    expect(cache.get('a', at, undefined)).toBeUndefined();
    expect(cache.get('d', at, undefined)?.allowed).toBe(true);
  });

  it('is off with a TTL of 0', () => {
    const cache = new DecisionCache({ ttlMs: 0, maxEntries: 3 });
    cache.set('a', true, at, cache.generation);
    expect(cache.enabled).toBe(false);
    expect(cache.get('a', at, undefined)).toBeUndefined();
  });
});
