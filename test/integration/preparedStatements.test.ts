/**
 * Prepared statements on the request pool (DB_PREPARED_STATEMENTS, data/preparedStatements.ts),
 * against the real PostgreSQL of the run, on one connection so that every transaction
 * meets the statements the ones before it prepared: Prisma's statements are prepared
 * once and reused, and a plan made in one tenant's transaction — even PostgreSQL's
 * generic plan, forced — never shows another tenant's rows (RLS reads the tenant setting
 * when the statement runs, not when it was planned).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POOL } from '../../src/config.js';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import type { TenantTx } from '../../src/data/TenantDatabase.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import {
  createTestTenant,
  openTestDatabase,
  openTestPool,
  usingPostgres,
  type TestTenant,
} from '../support/testDatabase.js';

/** The request pool on a single connection, preparing up to `preparedStatements` texts. */
function oneConnection(preparedStatements: number): Promise<OpenDatabase> {
  return openTestPool({ max: 1, preparedStatements });
}

/** The workflows the transaction's tenant sees, by RLS alone: the statement names no tenant. */
async function visibleNames(tx: TenantTx): Promise<string[]> {
  const rows = await tx.workflow.findMany({
    where: { amount: { gte: 0 } },
    orderBy: { name: 'asc' },
  });
  return rows.map((r) => r.name);
}

interface Prepared {
  name: string;
  statement: string;
  generic_plans: bigint;
}

function preparedHere(tx: TenantTx): Promise<Prepared[]> {
  return tx.$queryRawUnsafe<Prepared[]>(
    `select name, statement, generic_plans from pg_prepared_statements where name like $1 order by name`,
    'gatehouse\\_%',
  );
}

describe.runIf(usingPostgres)('prepared statements on the request pool', () => {
  let setup: OpenDatabase;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    setup = await openTestDatabase();
    a = await createTestTenant(setup, 1);
    b = await createTestTenant(setup, 1);
    await setup.asOwner(async (_sql, prisma) => {
      const owner = new TenantDatabase(prisma, { timeoutMs: 20_000 });
      for (const [tenant, names] of [
        [a, ['a1', 'a2', 'a3']],
        [b, ['b1', 'b2']],
      ] as const) {
        await owner.transaction({ tenantId: tenant.id, subject: 'fixtures' }, 'write', (tx) =>
          tx.workflow.createMany({
            data: names.map((name) => ({
              tenantId: tenant.id,
              name,
              amount: '1.00',
              ownerId: tenant.users[0]!.id,
            })),
          }),
        );
      }
    });
  });

  afterAll(async () => {
    await setup.close();
  });

  it("reuses Prisma's statements, and a generic plan made for one tenant shows another none of its rows", async () => {
    const db = await oneConnection(DEFAULT_POOL.preparedStatements);
    try {
      const scopeA = { tenantId: a.id, subject: a.users[0]!.subject };
      const scopeB = { tenantId: b.id, subject: b.users[0]!.subject };
      for (let i = 0; i < 8; i++) {
        const names = await db.tenants.transaction(scopeA, 'read', async (tx) => {
          // Plan once for all executions: the plan does not know the tenant.
          await tx.$queryRawUnsafe(
            `select set_config('plan_cache_mode', $1, true)`,
            'force_generic_plan',
          );
          return visibleNames(tx);
        });
        expect(names).toEqual(['a1', 'a2', 'a3']);
      }
      const { names, prepared } = await db.tenants.transaction(scopeB, 'read', async (tx) => {
        await tx.$queryRawUnsafe(
          `select set_config('plan_cache_mode', $1, true)`,
          'force_generic_plan',
        );
        return { names: await visibleNames(tx), prepared: await preparedHere(tx) };
      });
      expect(names).toEqual(['b1', 'b2']);
      const list = prepared.find((p) => p.statement.includes('FROM "public"."workflows"'));
      expect(list, JSON.stringify(prepared.map((p) => p.statement))).toBeDefined();
      // Parsed once on the connection, planned once (generically), run nine times.
      expect(Number(list!.generic_plans)).toBe(9);
      // The tenant settings went with each BEGIN (settingsInBegin.ts), not as a statement.
      expect(db.tenants.settingsSentWithBegin).toBe(9);
      expect(prepared.some((p) => p.statement.includes('set_config($1, $2, true)'))).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('prepares nothing with DB_PREPARED_STATEMENTS=0', async () => {
    const db = await oneConnection(0);
    try {
      const scope = { tenantId: a.id, subject: a.users[0]!.subject };
      const prepared = await db.tenants.transaction(scope, 'read', async (tx) => {
        await visibleNames(tx);
        await visibleNames(tx);
        return preparedHere(tx);
      });
      expect(prepared).toEqual([]);
      expect(await db.tenants.transaction(scope, 'read', (tx) => visibleNames(tx))).toEqual([
        'a1',
        'a2',
        'a3',
      ]);
    } finally {
      await db.close();
    }
  });
});
