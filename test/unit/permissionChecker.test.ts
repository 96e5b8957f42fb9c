import { describe, expect, it } from 'vitest';
import { v1 } from '@authzed/authzed-node';
import { PermissionChecker } from '../../src/authz/PermissionChecker.js';
import { AuthzUnavailableError } from '../../src/authz/AuthzError.js';
import { NaiveChecker } from '../../bench/authorizationBaselines.js';
import type { SpiceDbConnection } from '../../src/authz/spicedb/SpiceDbConnection.js';
import { AuthzMetrics } from '../../src/authz/authzMetrics.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/Metrics.js';

const TENANT = '00000000-0000-4000-8000-000000000001';
const Perm = v1.CheckPermissionResponse_Permissionship;

/**
 * A SpiceDB that records every CheckBulkPermissions and allows an item when `allow` says
 * so; `fail` makes the whole RPC fail, `itemError` one item.
 */
function recordingSpiceDb(script: {
  allow: (resourceId: string, permission: string) => boolean;
  fail?: boolean;
  itemError?: string;
}) {
  const calls: string[][] = [];
  const permissions = {
    checkBulkPermissions: (req: v1.CheckBulkPermissionsRequest) => {
      calls.push(req.items.map((i) => `${i.resource?.objectId ?? ''}#${i.permission}`));
      if (script.fail) return Promise.reject(new Error('connection refused'));
      return Promise.resolve(
        v1.CheckBulkPermissionsResponse.create({
          pairs: req.items.map((item) => {
            const id = item.resource?.objectId ?? '';
            if (id === script.itemError) {
              return {
                response: { oneofKind: 'error', error: { code: 13, message: 'boom', details: [] } },
              };
            }
            const permissionship = script.allow(id, item.permission)
              ? Perm.HAS_PERMISSION
              : Perm.NO_PERMISSION;
            return { response: { oneofKind: 'item', item: { permissionship } } };
          }),
        }),
      );
    },
  } as unknown as SpiceDbConnection['permissions'];
  return { spicedb: connectionOf(permissions), calls };
}

/** A connection whose every call goes to `permissions`. */
function connectionOf(permissions: SpiceDbConnection['permissions']): SpiceDbConnection {
  return { kind: 'embedded', permissions, schema: permissions, close: () => undefined };
}

function checkerOn(spicedb: SpiceDbConnection, subjectId: string | null = `${TENANT}/u`) {
  return new PermissionChecker({
    spicedb,
    subjectId,
    tenantId: TENANT,
    tokens: () => Promise.resolve({ token: undefined, writtenAt: new Map() }),
    deadlineMs: 1_000,
  });
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `w${String(i)}`);

describe('PermissionChecker', () => {
  it('sends the checks of one tick as one deduplicated CheckBulkPermissions, with tenant object ids', async () => {
    const { spicedb, calls } = recordingSpiceDb({ allow: (id) => id.endsWith('/w1') });
    const checker = checkerOn(spicedb);
    const answers = await Promise.all([
      checker.check('workflow', 'w1', 'view'),
      checker.check('workflow', 'w2', 'view'),
      checker.check('workflow', 'w1', 'view'),
      checker.check('organization', 'ignored', 'create_workflow'),
    ]);
    expect(answers).toEqual([true, false, true, false]);
    expect(calls).toEqual([
      [`${TENANT}/w1#view`, `${TENANT}/w2#view`, `${TENANT}#create_workflow`],
    ]);
  });

  it('collects checks made by promise continuations before sending (one batch per level)', async () => {
    const { spicedb, calls } = recordingSpiceDb({ allow: () => true });
    const checker = checkerOn(spicedb);
    const nested = Promise.resolve()
      .then(() => undefined)
      .then(() => checker.check('workflow', 'late', 'view'));
    await Promise.all([checker.check('workflow', 'early', 'view'), nested]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(2);
  });

  it('knows an answer synchronously only once SpiceDB has given it, and memoises it', async () => {
    const { spicedb, calls } = recordingSpiceDb({ allow: (id) => id.endsWith('/yes') });
    const checker = checkerOn(spicedb);
    const pending = checker.check('workflow', 'yes', 'view');
    expect(checker.peek('workflow', 'yes', 'view')).toBeUndefined();
    await pending;
    await checker.check('workflow', 'no', 'view');
    expect(checker.peek('workflow', 'yes', 'view')).toBe(true);
    expect(checker.peek('workflow', 'no', 'view')).toBe(false);
    expect(checker.peek('workflow', 'yes', 'edit')).toBeUndefined();
    expect(checker.peek('team', 'yes', 'view')).toBeUndefined();
    await checker.check('workflow', 'yes', 'view');
    expect(calls).toHaveLength(2);
  });

  it('splits more than 1,000 checks into several requests, answering each in order', async () => {
    const { spicedb, calls } = recordingSpiceDb({
      allow: (id) => Number(id.split('/w')[1]) % 2 === 0,
    });
    const checker = checkerOn(spicedb);
    const answers = await Promise.all(
      ids(2_500).map((id) => checker.check('workflow', id, 'view')),
    );
    expect(calls.map((c) => c.length)).toEqual([1_000, 1_000, 500]);
    expect(answers.every((a, i) => a === (i % 2 === 0))).toBe(true);
  });

  it('fails closed: an RPC failure rejects every check of the batch and is never known as an answer', async () => {
    const { spicedb } = recordingSpiceDb({ allow: () => true, fail: true });
    const checker = checkerOn(spicedb);
    const checks = ids(3).map((id) => checker.check('workflow', id, 'view'));
    for (const check of checks) await expect(check).rejects.toBeInstanceOf(AuthzUnavailableError);
    expect(checker.peek('workflow', 'w0', 'view')).toBeUndefined();
    // The failure is memoised for the operation: no allow on a retry within it.
    await expect(checker.check('workflow', 'w0', 'view')).rejects.toBeInstanceOf(
      AuthzUnavailableError,
    );
  });

  it('rejects only the item SpiceDB could not answer', async () => {
    const { spicedb } = recordingSpiceDb({ allow: () => true, itemError: `${TENANT}/bad` });
    const checker = checkerOn(spicedb);
    const [good, bad] = await Promise.allSettled([
      checker.check('workflow', 'good', 'view'),
      checker.check('workflow', 'bad', 'view'),
    ]);
    expect(good).toEqual({ status: 'fulfilled', value: true });
    expect(bad.status).toBe('rejected');
    expect(checker.peek('workflow', 'bad', 'view')).toBeUndefined();
  });

  it('denies every check without asking SpiceDB when the caller has no account', async () => {
    const { spicedb, calls } = recordingSpiceDb({ allow: () => true });
    const checker = checkerOn(spicedb, null);
    await expect(checker.check('workflow', 'w1', 'view')).resolves.toBe(false);
    expect(calls).toHaveLength(0);
  });
});

describe('NaiveChecker (the naive benchmark baseline)', () => {
  /** A SpiceDB answering CheckPermission only; `stall` never answers. */
  function singleCheckSpiceDb(script: { allow: boolean; fail?: boolean; stall?: boolean }) {
    const calls: string[] = [];
    const permissions = {
      checkPermission: (req: v1.CheckPermissionRequest) => {
        calls.push(`${req.resource?.objectId ?? ''}#${req.permission}`);
        if (script.stall) return new Promise(() => undefined);
        if (script.fail) return Promise.reject(new Error('connection refused'));
        return Promise.resolve(
          v1.CheckPermissionResponse.create({
            permissionship: script.allow ? Perm.HAS_PERMISSION : Perm.NO_PERMISSION,
          }),
        );
      },
    } as unknown as SpiceDbConnection['permissions'];
    return { spicedb: connectionOf(permissions), calls };
  }

  function naiveOn(
    spicedb: SpiceDbConnection,
    metrics?: AuthzMetrics,
    subjectId: string | null = 'u',
  ) {
    return new NaiveChecker({
      spicedb,
      subjectId,
      tenantId: TENANT,
      tokens: () => ({ token: undefined, writtenAt: new Map() }),
      deadlineMs: 50,
      ...(metrics ? { metrics } : {}),
    });
  }

  it('asks one CheckPermission per check, remembering nothing, and counts each RPC', async () => {
    const { spicedb, calls } = singleCheckSpiceDb({ allow: true });
    const meters = await Metrics.open({
      prometheus: undefined,
      env: {},
      logger: createLogger('silent'),
    });
    const checker = naiveOn(spicedb, new AuthzMetrics(meters.meter));
    const answers = await Promise.all([
      checker.check('workflow', 'w1', 'view'),
      checker.check('workflow', 'w1', 'view'),
      checker.check('workflow', 'w2', 'edit'),
    ]);
    expect(answers).toEqual([true, true, true]);
    expect(calls).toEqual([`${TENANT}/w1#view`, `${TENANT}/w1#view`, `${TENANT}/w2#edit`]);
    expect(
      await meters.sum('gatehouse.spicedb.duration', { 'rpc.method': 'CheckPermission' }),
    ).toBe(3);
    expect(await meters.sum('gatehouse.spicedb.items', { 'rpc.method': 'CheckPermission' })).toBe(
      3,
    );
    await meters.close();
    expect(checker.peek()).toBeUndefined();
  });

  it('fails closed on an RPC error and on a missed deadline', async () => {
    const failing = naiveOn(singleCheckSpiceDb({ allow: true, fail: true }).spicedb);
    await expect(failing.check('workflow', 'w1', 'view')).rejects.toThrow(
      new AuthzUnavailableError('CheckPermission failed: connection refused'),
    );
    const stalled = naiveOn(singleCheckSpiceDb({ allow: true, stall: true }).spicedb);
    await expect(stalled.check('workflow', 'w1', 'view')).rejects.toThrow(
      new AuthzUnavailableError('CheckPermission failed: SpiceDB did not answer within 50 ms'),
    );
  });

  it('denies without asking when the caller has no account', async () => {
    const { spicedb, calls } = singleCheckSpiceDb({ allow: true });
    await expect(naiveOn(spicedb, undefined, null).check('workflow', 'w1', 'view')).resolves.toBe(
      false,
    );
    expect(calls).toHaveLength(0);
  });
});
