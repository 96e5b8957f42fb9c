/**
 * Asking again what a relationship write made the decision cache forget
 * (src/authz/DecisionRefresher.ts), against a SpiceDB stand-in whose answers the test
 * releases: one bulk check after the write, at least as fresh as its token; nothing asked
 * for a write that failed; answers kept out when the object was written again meanwhile or
 * when SpiceDB failed; requests meanwhile share the answer. (The real embedded SpiceDB:
 * test/e2e/authorization.test.ts.)
 */
import { v1 } from '@authzed/authzed-node';
import { describe, expect, it } from 'vitest';
import { DecisionCache, type DecisionKey } from '../../src/authz/DecisionCache.js';
import { DecisionRefresher } from '../../src/authz/DecisionRefresher.js';
import type { SpiceDbConnection } from '../../src/authz/spicedb/SpiceDbConnection.js';
import { createLogger } from '../../src/observability/logger.js';

const key = (resourceId: string, permission = 'view'): DecisionKey => ({
  resourceType: 'workflow',
  resourceId,
  permission,
});
const written = (id: string) => [{ resourceType: 'workflow', resourceId: id }];
const alice = 't/alice';
const robot = 'service_account:t/robot';

/** A SpiceDB whose CheckBulkPermissions answers when the test says, as it says. */
function spicedb() {
  const requests: v1.CheckBulkPermissionsRequest[] = [];
  let release: (allowed: Array<boolean | 'error'>) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const connection = {
    kind: 'embedded',
    permissions: {
      checkBulkPermissions: (request: v1.CheckBulkPermissionsRequest) => {
        requests.push(request);
        return new Promise<v1.CheckBulkPermissionsResponse>((resolve, reject) => {
          fail = reject;
          release = (allowed) =>
            resolve(
              v1.CheckBulkPermissionsResponse.create({
                pairs: allowed.map((a) =>
                  a === 'error'
                    ? {
                        response: {
                          oneofKind: 'error',
                          error: { code: 14, message: 'down', details: [] },
                        },
                      }
                    : {
                        response: {
                          oneofKind: 'item',
                          item: {
                            permissionship: a
                              ? v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION
                              : v1.CheckPermissionResponse_Permissionship.NO_PERMISSION,
                          },
                        },
                      },
                ),
              }),
            );
        });
      },
    },
    schema: {},
    close: () => undefined,
  } as unknown as SpiceDbConnection;
  return {
    connection,
    requests,
    release: (a: Array<boolean | 'error'>) => release(a),
    fail: (e: Error) => fail(e),
  };
}

function setup() {
  const cache = new DecisionCache({
    ttlMs: 60_000,
    maxEntries: 100,
    selfContainedTypes: new Set(['workflow']),
  });
  const s = spicedb();
  const refresher = new DecisionRefresher({
    cache,
    spicedb: s.connection,
    deadlineMs: 5_000,
    logger: createLogger('silent'),
  });
  const now = Date.now();
  cache.set(alice, key('w1'), false, now, cache.generation);
  cache.set(robot, key('w1', 'edit'), true, now, cache.generation);
  cache.set(alice, key('w2'), true, now, cache.generation);
  return { cache, refresher, ...s };
}

describe('DecisionRefresher', () => {
  it('asks again in ONE check, as fresh as the write, what the write made the cache forget', async () => {
    const { cache, refresher, requests, release } = setup();
    const w = written('w1');
    refresher.onWrite(w, { phase: 'before' });
    expect(cache.get(alice, key('w1'), Date.now(), undefined)).toBeUndefined();
    expect(requests).toHaveLength(0); // nothing before the write is applied
    refresher.onWrite(w, { phase: 'after', token: 'zed-1' });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.consistency?.requirement).toEqual({
      oneofKind: 'atLeastAsFresh',
      atLeastAsFresh: { token: 'zed-1' },
    });
    expect(
      request!.items.map((i) => [
        i.subject?.object?.objectType,
        i.subject?.object?.objectId,
        i.resource?.objectId,
        i.permission,
      ]),
    ).toEqual([
      ['user', 't/alice', 'w1', 'view'],
      ['service_account', 't/robot', 'w1', 'edit'],
    ]);
    // A request meanwhile waits for this answer instead of asking.
    const shared = cache.inFlight(alice, key('w1'), undefined);
    expect(shared).toBeDefined();
    release([true, false]);
    await refresher.settled();
    expect(await shared).toBe(true);
    expect(cache.get(alice, key('w1'), Date.now(), undefined)?.allowed).toBe(true);
    expect(cache.get(robot, key('w1', 'edit'), Date.now(), undefined)?.allowed).toBe(false);
    expect(cache.get(alice, key('w2'), Date.now(), undefined)?.allowed).toBe(true);
  });

  it('asks nothing after a write that failed (no token)', async () => {
    const { cache, refresher, requests } = setup();
    const w = written('w1');
    refresher.onWrite(w, { phase: 'before' });
    refresher.onWrite(w, { phase: 'after', token: undefined });
    await refresher.settled();
    expect(requests).toHaveLength(0);
    expect(cache.get(alice, key('w1'), Date.now(), undefined)).toBeUndefined();
  });

  it('keeps the answers out when the object was written again while they were on their way', async () => {
    const { cache, refresher, release } = setup();
    const w = written('w1');
    refresher.onWrite(w, { phase: 'before' });
    refresher.onWrite(w, { phase: 'after', token: 'zed-1' });
    cache.invalidate(written('w1')); // the next write's invalidation
    expect(cache.inFlight(alice, key('w1'), undefined)).toBeUndefined();
    release([true, true]);
    await refresher.settled();
    expect(cache.get(alice, key('w1'), Date.now(), undefined)).toBeUndefined();
    expect(cache.get(robot, key('w1', 'edit'), Date.now(), undefined)).toBeUndefined();
  });

  it('stores nothing that SpiceDB did not answer: a failed item, a failed call', async () => {
    const one = setup();
    const w = written('w1'); // (the relay passes the same array before and after)
    one.refresher.onWrite(w, { phase: 'before' });
    one.refresher.onWrite(w, { phase: 'after', token: 'zed-1' });
    one.release(['error', true]);
    await one.refresher.settled();
    expect(one.cache.get(alice, key('w1'), Date.now(), undefined)).toBeUndefined();
    expect(one.cache.get(robot, key('w1', 'edit'), Date.now(), undefined)?.allowed).toBe(true);

    const two = setup();
    two.refresher.onWrite(w, { phase: 'before' });
    two.refresher.onWrite(w, { phase: 'after', token: 'zed-1' });
    const shared = two.cache.inFlight(alice, key('w1'), undefined);
    two.fail(new Error('SpiceDB down'));
    await two.refresher.settled();
    expect(await shared).toBeInstanceOf(Error); // a request that waited on it: unavailable
    expect(two.cache.size).toBe(1); // w2 only
  });
});
