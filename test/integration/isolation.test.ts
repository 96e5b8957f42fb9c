/**
 * Gate 4 (tenant isolation), attacked through the real data layer: tenant A's transactions
 * on the app-role path (`db.tenants.transaction`) try every way of reaching tenant B's rows.
 * Most queries below deliberately leave out the tenant filter, so what keeps B's data out is
 * PostgreSQL row-level security and the composite (tenant_id, id) keys, not application code.
 *
 * Runs against embedded PGlite, or the real PostgreSQL of DATABASE_URL / DATABASE_OWNER_URL.
 */
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import type { AccessMode, TenantTx } from '../../src/data/TenantDatabase.js';
import { APP_ROLE, OWNER_ROLE } from '../../src/data/roles.js';
import { createWorkflow, findWorkflow, shareWorkflow } from '../../src/domain/workflowCommands.js';
import { Prisma } from '../../src/generated/prisma/client.js';
import {
  createTestTenant,
  openTestDatabase,
  openTestPool,
  usingPostgres,
  type TestTenant,
} from '../support/testDatabase.js';
import { rejection, sqlRejection, type SqlFailure } from '../support/sqlErrors.js';

/** Every table holding tenant data, with the column naming its tenant. */
const TENANT_TABLES = {
  tenants: 'id',
  users: 'tenant_id',
  teams: 'tenant_id',
  team_memberships: 'tenant_id',
  workflows: 'tenant_id',
  workflow_shares: 'tenant_id',
  approvals: 'tenant_id',
} as const;

interface Seeded {
  readonly tenant: TestTenant;
  /** Workflows: the first has a team, shares and an approval. */
  readonly workflowIds: readonly string[];
  readonly approvalId: string;
}

let db: OpenDatabase;
let a: Seeded;
let b: Seeded;

function as<T>(t: Seeded, mode: AccessMode, work: (tx: TenantTx) => Promise<T>): Promise<T> {
  return db.tenants.transaction(
    { tenantId: t.tenant.id, subject: t.tenant.users[0]!.subject },
    mode,
    work,
  );
}

/** Provisions a tenant (owner role) and gives it rows in every table (app role). */
async function seed(): Promise<Seeded> {
  const tenant = await createTestTenant(db);
  const [owner, other] = [tenant.users[0]!.id, tenant.users[1]!.id];
  const seeded = { tenant, workflowIds: [] as string[], approvalId: '' };
  await as(seeded, 'write', async (tx) => {
    await tx.teamMembership.create({
      data: { tenantId: tenant.id, teamId: tenant.teamId, userId: other, role: 'MAINTAINER' },
    });
    for (const [i, teamId] of [tenant.teamId, null, null].entries()) {
      const workflow = await tx.workflow.create({
        data: { tenantId: tenant.id, name: `W${i}`, amount: '10.50', ownerId: owner, teamId },
      });
      seeded.workflowIds.push(workflow.id);
    }
    const first = seeded.workflowIds[0]!;
    await tx.workflowShare.create({
      data: { tenantId: tenant.id, workflowId: first, userId: other, role: 'APPROVER' },
    });
    const approval = await tx.approval.create({
      data: { tenantId: tenant.id, workflowId: first, approverId: other, decision: 'APPROVED' },
    });
    seeded.approvalId = approval.id;
  });
  return seeded;
}

/** Everything tenant `t` can see, as plain JSON (Decimal and Date become strings). */
async function snapshot(t: Seeded): Promise<unknown> {
  const rows = await as(t, 'read', async (tx) => ({
    tenants: await tx.tenant.findMany({ orderBy: { id: 'asc' } }),
    users: await tx.user.findMany({ orderBy: { id: 'asc' } }),
    teams: await tx.team.findMany({ orderBy: { id: 'asc' } }),
    memberships: await tx.teamMembership.findMany({
      orderBy: [{ teamId: 'asc' }, { userId: 'asc' }],
    }),
    workflows: await tx.workflow.findMany({ orderBy: { id: 'asc' } }),
    shares: await tx.workflowShare.findMany({
      orderBy: [{ workflowId: 'asc' }, { userId: 'asc' }],
    }),
    approvals: await tx.approval.findMany({ orderBy: { id: 'asc' } }),
  }));
  return JSON.parse(JSON.stringify(rows)) as unknown;
}

const rlsViolation = (table: string): SqlFailure => ({
  code: '42501',
  message: `new row violates row-level security policy for table "${table}"`,
});

const fkViolation = (table: string, constraint: string): SqlFailure => ({
  code: '23503',
  message: `insert or update on table "${table}" violates foreign key constraint "${constraint}"`,
});

/** Runs steps one after another: a transaction is one connection, which runs one query at a time. */
async function inSequence<T>(steps: ReadonlyArray<() => PromiseLike<T>>): Promise<T[]> {
  const results: T[] = [];
  for (const step of steps) results.push(await step());
  return results;
}

/** Aborts a transaction on purpose so that nothing it did is kept. */
class Rollback extends Error {
  constructor(readonly value: unknown) {
    super('rollback');
  }
}

async function rolledBack<T>(t: Seeded, work: (tx: TenantTx) => Promise<T>): Promise<T> {
  const error = await rejection(
    as(t, 'write', async (tx) => {
      throw new Rollback(await work(tx));
    }),
  );
  if (!(error instanceof Rollback)) throw error;
  return error.value as T;
}

beforeAll(async () => {
  db = await openTestDatabase();
  a = await seed();
  b = await seed();
});

afterAll(async () => {
  await db.close();
});

describe('tenant A cannot reach tenant B by id', () => {
  it('reads of B’s rows by id return null, exactly like a random id, while B sees them', async () => {
    const bUser = b.tenant.users[0]!.id;
    const bWorkflow = b.workflowIds[0]!;
    const lookups = (tx: TenantTx, tenantId: string, userId: string, workflowId: string) =>
      inSequence<object | null>([
        () => tx.user.findFirst({ where: { id: userId } }),
        () => tx.user.findUnique({ where: { tenantId_id: { tenantId, id: userId } } }),
        () => tx.workflow.findFirst({ where: { id: workflowId } }),
        () => tx.workflow.findUnique({ where: { tenantId_id: { tenantId, id: workflowId } } }),
        () => tx.workflowShare.findFirst({ where: { workflowId } }),
        () => tx.approval.findFirst({ where: { workflowId } }),
        () => tx.tenant.findUnique({ where: { id: tenantId } }),
      ]);

    const fromA = await as(a, 'read', (tx) => lookups(tx, b.tenant.id, bUser, bWorkflow));
    const random = await as(a, 'read', (tx) =>
      lookups(tx, randomUUID(), randomUUID(), randomUUID()),
    );
    expect(fromA).toEqual([null, null, null, null, null, null, null]);
    expect(fromA).toEqual(random);

    // Control: the same lookups find the rows inside B's own transaction.
    const fromB = await as(b, 'read', (tx) => lookups(tx, b.tenant.id, bUser, bWorkflow));
    expect(fromB.every((row) => row !== null)).toBe(true);
    expect(fromB[2]).toMatchObject({ tenantId: b.tenant.id, id: bWorkflow });
  });

  it('updates and deletes of B’s rows by id affect 0 rows, like a random id; B is unchanged', async () => {
    const before = await snapshot(b);
    const attack = (tx: TenantTx, ids: { user: string; team: string; workflow: string }) =>
      inSequence<number | { count: number }>([
        () => tx.workflow.updateMany({ where: { id: ids.workflow }, data: { name: 'pwned' } }),
        () =>
          tx.user.updateMany({ where: { id: ids.user }, data: { email: 'pwned@evil.example' } }),
        () => tx.team.updateMany({ where: { id: ids.team }, data: { name: 'pwned' } }),
        () =>
          tx.workflowShare.updateMany({
            where: { workflowId: ids.workflow },
            data: { role: 'EDITOR' },
          }),
        () => tx.workflowShare.deleteMany({ where: { workflowId: ids.workflow } }),
        () => tx.teamMembership.deleteMany({ where: { teamId: ids.team } }),
        () => tx.workflow.deleteMany({ where: { id: ids.workflow } }),
        () => tx.user.deleteMany({ where: { id: ids.user } }),
        () => tx.team.deleteMany({ where: { id: ids.team } }),
        () =>
          tx.$executeRawUnsafe(`update workflows set amount = 0 where id = $1::uuid`, ids.workflow),
        () => tx.$executeRawUnsafe(`delete from workflows where id = $1::uuid`, ids.workflow),
      ]);

    const onB = await as(a, 'write', (tx) =>
      attack(tx, {
        user: b.tenant.users[1]!.id,
        team: b.tenant.teamId,
        workflow: b.workflowIds[0]!,
      }),
    );
    const onRandom = await as(a, 'write', (tx) =>
      attack(tx, { user: randomUUID(), team: randomUUID(), workflow: randomUUID() }),
    );
    const counts = (results: ReadonlyArray<number | { count: number }>) =>
      results.map((r) => (typeof r === 'number' ? r : r.count));
    expect(counts(onB)).toEqual(Array.from({ length: 11 }, () => 0));
    expect(counts(onB)).toEqual(counts(onRandom));
    expect(await snapshot(b)).toEqual(before);
  });
});

describe('unfiltered queries in A’s transaction return only A’s rows', () => {
  it('raw SQL without any tenant filter sees exactly A’s rows in every table', async () => {
    const seen = await as(a, 'read', async (tx) => ({
      workflows: await tx.$queryRawUnsafe<Array<{ tenant_id: string; id: string }>>(
        'select tenant_id::text, id::text from workflows order by id',
      ),
      userCount: await tx.$queryRawUnsafe<Array<{ n: number }>>(
        'select count(*)::int as n from users',
      ),
      tenantsPerTable: await inSequence(
        Object.entries(TENANT_TABLES).map(([table, column]) => async () => ({
          table,
          tenants: (
            await tx.$queryRawUnsafe<Array<{ t: string }>>(
              `select distinct ${column}::text as t from ${table}`,
            )
          ).map((r) => r.t),
        })),
      ),
      // A join that ignores tenant_id altogether.
      joined: await tx.$queryRawUnsafe<Array<{ t: string }>>(
        `select distinct u.tenant_id::text as t
           from workflows w join users u on u.id = w.owner_id
           join workflow_shares s on s.workflow_id = w.id`,
      ),
      tagged: await tx.$queryRaw<Array<{ n: number }>>`select count(*)::int as n from workflows`,
    }));

    expect(seen.workflows).toEqual(
      [...a.workflowIds].sort().map((id) => ({ tenant_id: a.tenant.id, id })),
    );
    expect(seen.userCount).toEqual([{ n: a.tenant.users.length }]);
    for (const { table, tenants } of seen.tenantsPerTable) {
      expect({ table, tenants }).toEqual({ table, tenants: [a.tenant.id] });
    }
    expect(seen.joined).toEqual([{ t: a.tenant.id }]);
    expect(seen.tagged).toEqual([{ n: a.workflowIds.length }]);
  });

  it('Prisma queries without a tenant filter return only A’s rows', async () => {
    const seen = await as(a, 'read', async (tx) => ({
      workflows: await tx.workflow.findMany(),
      users: await tx.user.findMany(),
      shares: await tx.workflowShare.findMany(),
      approvals: await tx.approval.findMany(),
      tenants: await tx.tenant.findMany(),
      workflowCount: await tx.workflow.count(),
    }));
    expect(seen.workflows.map((w) => w.id).sort()).toEqual([...a.workflowIds].sort());
    expect(seen.users.map((u) => u.id).sort()).toEqual(a.tenant.users.map((u) => u.id).sort());
    expect(seen.shares.map((s) => s.tenantId)).toEqual([a.tenant.id]);
    expect(seen.approvals.map((r) => r.id)).toEqual([a.approvalId]);
    expect(seen.tenants.map((t) => t.id)).toEqual([a.tenant.id]);
    expect(seen.workflowCount).toBe(a.workflowIds.length);
  });

  it('an unfiltered raw UPDATE and DELETE touch only A’s rows (rolled back); B is unchanged', async () => {
    const before = await snapshot(b);
    const counts = await rolledBack(a, async (tx) => ({
      updated: await tx.$executeRawUnsafe(`update workflows set name = 'pwned'`),
      sharesDeleted: await tx.$executeRawUnsafe('delete from workflow_shares'),
      membershipsDeleted: await tx.$executeRawUnsafe('delete from team_memberships'),
    }));
    expect(counts).toEqual({
      updated: a.workflowIds.length,
      sharesDeleted: 1,
      membershipsDeleted: 1,
    });
    expect(await snapshot(b)).toEqual(before);
  });
});

describe('A cannot write rows into B', () => {
  it('inserting a row with B’s tenant_id is rejected by the RLS WITH CHECK, in every table', async () => {
    const before = await snapshot(b);
    const bt = b.tenant;
    const [bUser, bOther] = [bt.users[0]!.id, bt.users[1]!.id];
    const bWorkflow = b.workflowIds[1]!;
    const attempts: Array<[string, (tx: TenantTx) => Promise<unknown>]> = [
      [
        'users',
        (tx) =>
          tx.user.create({
            data: { tenantId: bt.id, subject: 'evil', email: 'evil@x.example', displayName: 'E' },
          }),
      ],
      ['teams', (tx) => tx.team.create({ data: { tenantId: bt.id, name: 'Evil team' } })],
      [
        'team_memberships',
        (tx) =>
          tx.teamMembership.create({ data: { tenantId: bt.id, teamId: bt.teamId, userId: bUser } }),
      ],
      [
        'workflows',
        (tx) =>
          tx.workflow.create({
            data: { tenantId: bt.id, name: 'Evil', amount: '1', ownerId: bUser },
          }),
      ],
      [
        'workflow_shares',
        (tx) =>
          tx.workflowShare.create({
            data: { tenantId: bt.id, workflowId: bWorkflow, userId: bOther, role: 'EDITOR' },
          }),
      ],
      [
        'approvals',
        (tx) =>
          tx.approval.create({
            data: {
              tenantId: bt.id,
              workflowId: bWorkflow,
              approverId: bUser,
              decision: 'APPROVED',
            },
          }),
      ],
      [
        'workflows',
        (tx) =>
          tx.$executeRawUnsafe(
            `insert into workflows (tenant_id, name, amount, owner_id) values ($1::uuid, 'Evil', 1, $2::uuid)`,
            bt.id,
            bUser,
          ),
      ],
    ];
    for (const [table, attempt] of attempts) {
      expect(await sqlRejection(as(a, 'write', attempt))).toEqual(rlsViolation(table));
    }
    // Tenants are provisioned by the owner only: the app role has no INSERT on them at all.
    expect(
      await sqlRejection(
        as(a, 'write', (tx) =>
          tx.tenant.create({
            data: { id: randomUUID(), slug: `evil-${randomUUID().slice(0, 8)}`, name: 'E' },
          }),
        ),
      ),
    ).toEqual({ code: '42501', message: 'permission denied for table tenants' });
    expect(await snapshot(b)).toEqual(before);
  });

  it('moving A’s row to B by updating tenant_id is rejected by the RLS WITH CHECK', async () => {
    const before = await snapshot(b);
    const aBefore = await snapshot(a);
    const { workflowIds } = a;
    const attempts: Array<[string, (tx: TenantTx) => Promise<unknown>]> = [
      [
        'workflows',
        (tx) =>
          tx.workflow.updateMany({
            where: { id: workflowIds[2]! },
            data: { tenantId: b.tenant.id },
          }),
      ],
      [
        'teams',
        (tx) =>
          tx.$executeRawUnsafe(
            'update teams set tenant_id = $1::uuid where id = $2::uuid',
            b.tenant.id,
            a.tenant.teamId,
          ),
      ],
      [
        'approvals',
        // Approvals are immutable for the app role: UPDATE is not even granted.
        (tx) =>
          tx.approval.updateMany({ where: { id: a.approvalId }, data: { tenantId: b.tenant.id } }),
      ],
    ];
    const failures = [];
    for (const [, attempt] of attempts) failures.push(await sqlRejection(as(a, 'write', attempt)));
    expect(failures).toEqual([
      rlsViolation('workflows'),
      rlsViolation('teams'),
      { code: '42501', message: 'permission denied for table approvals' },
    ]);
    expect(await snapshot(a)).toEqual(aBefore);
    expect(await snapshot(b)).toEqual(before);
  });
});

describe('A cannot point at B’s rows', () => {
  it('foreign keys are (tenant_id, id): referencing B’s user, team or workflow fails like a random id', async () => {
    const before = await snapshot(b);
    const at = a.tenant;
    const [aUser, aOther] = [at.users[0]!.id, at.users[1]!.id];
    const attempts = (ids: {
      user: string;
      team: string;
      workflow: string;
    }): Array<(tx: TenantTx) => Promise<unknown>> => [
      (tx: TenantTx) =>
        tx.workflow.create({
          data: { tenantId: at.id, name: 'X', amount: '1', ownerId: ids.user },
        }),
      (tx: TenantTx) =>
        tx.workflow.create({
          data: { tenantId: at.id, name: 'X', amount: '1', ownerId: aUser, teamId: ids.team },
        }),
      (tx: TenantTx) =>
        tx.workflowShare.create({
          data: { tenantId: at.id, workflowId: ids.workflow, userId: aOther, role: 'EDITOR' },
        }),
      (tx: TenantTx) =>
        tx.workflowShare.create({
          data: {
            tenantId: at.id,
            workflowId: a.workflowIds[1]!,
            userId: ids.user,
            role: 'VIEWER',
          },
        }),
      (tx: TenantTx) =>
        tx.teamMembership.create({
          data: { tenantId: at.id, teamId: at.teamId, userId: ids.user },
        }),
      (tx: TenantTx) =>
        tx.teamMembership.create({ data: { tenantId: at.id, teamId: ids.team, userId: aOther } }),
      (tx: TenantTx) =>
        tx.approval.create({
          data: {
            tenantId: at.id,
            workflowId: ids.workflow,
            approverId: aUser,
            decision: 'REJECTED',
          },
        }),
    ];
    const run = async (ids: { user: string; team: string; workflow: string }) => {
      const failures = [];
      for (const attempt of attempts(ids))
        failures.push(await sqlRejection(as(a, 'write', attempt)));
      return failures;
    };

    const pointingAtB = await run({
      user: b.tenant.users[0]!.id,
      team: b.tenant.teamId,
      workflow: b.workflowIds[0]!,
    });
    const pointingAtNothing = await run({
      user: randomUUID(),
      team: randomUUID(),
      workflow: randomUUID(),
    });
    expect(pointingAtB).toEqual([
      fkViolation('workflows', 'workflows_tenant_id_owner_id_fkey'),
      fkViolation('workflows', 'workflows_tenant_id_team_id_fkey'),
      fkViolation('workflow_shares', 'workflow_shares_tenant_id_workflow_id_fkey'),
      fkViolation('workflow_shares', 'workflow_shares_tenant_id_user_id_fkey'),
      fkViolation('team_memberships', 'team_memberships_tenant_id_user_id_fkey'),
      fkViolation('team_memberships', 'team_memberships_tenant_id_team_id_fkey'),
      fkViolation('approvals', 'approvals_tenant_id_workflow_id_fkey'),
    ]);
    expect(pointingAtB).toEqual(pointingAtNothing);
    expect(await snapshot(b)).toEqual(before);
  });

  it('the domain layer answers NOT_FOUND for B’s team, workflow and user, identical to a random id', async () => {
    const actor = { tenantId: a.tenant.id, userId: a.tenant.users[0]!.id };
    const summary = (error: unknown) => {
      expect(error).toBeInstanceOf(GraphQLError);
      const { message, extensions } = error as GraphQLError;
      return { message, extensions };
    };
    const create = (teamId: string) =>
      as(a, 'write', (tx) => createWorkflow(tx, actor, { name: 'X', amount: '1', teamId }));
    const find = (id: string) => as(a, 'read', (tx) => findWorkflow(tx, a.tenant.id, id));
    const share = (userId: string) =>
      as(a, 'write', (tx) => shareWorkflow(tx, actor, a.workflowIds[0]!, userId, 'VIEWER'));

    const teamOfB = summary(await rejection(create(b.tenant.teamId)));
    expect(teamOfB).toEqual({ message: 'Team not found', extensions: { code: 'NOT_FOUND' } });
    expect(teamOfB).toEqual(summary(await rejection(create(randomUUID()))));

    const workflowOfB = summary(await rejection(find(b.workflowIds[0]!)));
    expect(workflowOfB).toEqual({
      message: 'Workflow not found',
      extensions: { code: 'NOT_FOUND' },
    });
    expect(workflowOfB).toEqual(summary(await rejection(find(randomUUID()))));

    const userOfB = summary(await rejection(share(b.tenant.users[1]!.id)));
    expect(userOfB).toEqual({ message: 'User not found', extensions: { code: 'NOT_FOUND' } });
    expect(userOfB).toEqual(summary(await rejection(share(randomUUID()))));
  });
});

describe('uniqueness is per tenant', () => {
  it('A can reuse B’s team name, user email and subject, so no clash reveals B’s values', async () => {
    // Two fresh tenants, so the rows created here do not change what other tests expect.
    const [c, d] = [await createTestTenant(db), await createTestTenant(db)];
    const [a, b] = [c, d].map((tenant): Seeded => ({
      tenant,
      workflowIds: [],
      approvalId: '',
    })) as [Seeded, Seeded];
    const tag = randomUUID().slice(0, 8);
    const name = `Shared team ${tag}`;
    const email = `shared-${tag}@same.example`;
    const subject = `idp|shared-${tag}`;
    const create = (t: Seeded) =>
      as(t, 'write', async (tx) => ({
        team: await tx.team.create({ data: { tenantId: t.tenant.id, name } }),
        user: await tx.user.create({
          data: { tenantId: t.tenant.id, subject, email, displayName: 'Shared' },
        }),
      }));
    const inB = await create(b);
    const inA = await create(a);
    expect(inA.team).toMatchObject({ tenantId: a.tenant.id, name });
    expect(inA.user).toMatchObject({ tenantId: a.tenant.id, email, subject });
    expect(inA.team.id).not.toBe(inB.team.id);

    // Control: uniqueness still holds inside one tenant.
    const again = await rejection(create(a));
    expect(again).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect((again as Prisma.PrismaClientKnownRequestError).code).toBe('P2002');
    expect(await as(b, 'read', (tx) => tx.team.findFirst({ where: { id: inB.team.id } }))).toEqual(
      inB.team,
    );
  });
});

describe('concurrency', () => {
  it('200 interleaved concurrent transactions of A and B each see only their own tenant', async () => {
    const expected = async (t: Seeded) =>
      as(t, 'read', async (tx) => ({
        workflows: (
          await tx.workflow.findMany({ select: { id: true }, orderBy: { id: 'asc' } })
        ).map((w) => w.id),
        users: (await tx.user.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map(
          (u) => u.id,
        ),
      }));
    const want = new Map([
      [a.tenant.id, await expected(a)],
      [b.tenant.id, await expected(b)],
    ]);

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const t = i % 2 === 0 ? a : b;
        const mode: AccessMode = i % 4 < 2 ? 'read' : 'write';
        return as(t, mode, async (tx) => {
          const workflows = await tx.workflow.findMany({ orderBy: { id: 'asc' } });
          const users = await tx.user.findMany({ orderBy: { id: 'asc' } });
          const raw = await tx.$queryRawUnsafe<Array<{ t: string }>>(
            'select distinct tenant_id::text as t from workflows',
          );
          const setting = await tx.$queryRawUnsafe<Array<{ t: string }>>(
            `select current_setting('app.tenant_id') as t`,
          );
          return { expectedTenant: t.tenant.id, workflows, users, raw, setting };
        });
      }),
    );

    expect(results).toHaveLength(200);
    for (const r of results) {
      const tenant = r.expectedTenant;
      expect(r.workflows.every((w) => w.tenantId === tenant)).toBe(true);
      expect(r.users.every((u) => u.tenantId === tenant)).toBe(true);
      expect({
        workflows: r.workflows.map((w) => w.id),
        users: r.users.map((u) => u.id),
      }).toEqual(want.get(tenant));
      expect(r.raw).toEqual([{ t: tenant }]);
      expect(r.setting).toEqual([{ t: tenant }]);
    }
  });
});

describe('no tenant means no rows', () => {
  it('the owner role in a transaction without app.tenant_id sees nothing and cannot write (FORCE RLS)', async () => {
    const result = await db.asOwner(async (sql) => {
      await sql.exec('begin');
      try {
        const who = await sql.query<{ user: string; tenant: string | null }>(
          `select current_user as "user", current_setting('app.tenant_id', true) as tenant`,
        );
        const tables = await sql.query<{ name: string }>(
          `select tablename as name from pg_tables where schemaname = 'public' order by 1`,
        );
        const counts: Record<string, number> = {};
        for (const { name } of tables) {
          const rows = await sql.query<{ n: number }>(`select count(*)::int as n from ${name}`);
          counts[name] = rows[0]!.n;
        }
        let insertError: unknown;
        try {
          await sql.query(
            `insert into teams (tenant_id, name) values ($1, 'Owner without tenant')`,
            [a.tenant.id],
          );
        } catch (error) {
          insertError = error;
        }
        return { who: who[0], counts, insertError };
      } finally {
        await sql.exec('rollback');
      }
    });
    expect(result.who?.user).toBe(OWNER_ROLE);
    expect(result.who?.tenant ?? '').toBe('');
    // Every table in public (the tenant tables and any added later) has no visible row.
    expect(Object.keys(result.counts)).toEqual(expect.arrayContaining(Object.keys(TENANT_TABLES)));
    expect(result.counts).toEqual(
      Object.fromEntries(Object.keys(result.counts).map((table) => [table, 0])),
    );
    expect(result.insertError).toMatchObject(rlsViolation('teams'));
  });

  it('the app role with an empty app.tenant_id sees nothing in any table', async () => {
    const counts = await as(a, 'read', async (tx) => {
      await tx.$queryRawUnsafe(`select set_config('app.tenant_id', '', true)`);
      const result: Record<string, number> = {};
      for (const table of Object.keys(TENANT_TABLES)) {
        const rows = await tx.$queryRawUnsafe<Array<{ n: number }>>(
          `select count(*)::int as n from ${table}`,
        );
        result[table] = rows[0]!.n;
      }
      return result;
    });
    expect(counts).toEqual(Object.fromEntries(Object.keys(TENANT_TABLES).map((t) => [t, 0])));
  });

  it('TenantDatabase refuses a tenant id that is not a UUID before touching the database', async () => {
    let ran = false;
    for (const tenantId of ['', 'not-a-uuid', `${a.tenant.id}' or true --`, ` ${a.tenant.id}`]) {
      await expect(
        db.tenants.transaction({ tenantId, subject: 'x' }, 'read', () => {
          ran = true;
          return Promise.resolve();
        }),
      ).rejects.toThrow(new Error('TenantDatabase.transaction: tenantId must be a UUID'));
    }
    expect(ran).toBe(false);
  });
});

describe('the app role cannot switch RLS off', () => {
  it('`set local row_security = off` makes queries fail instead of bypassing RLS', async () => {
    const failure = await sqlRejection(
      as(a, 'read', async (tx) => {
        await tx.$executeRawUnsafe('set local row_security = off');
        return tx.$queryRawUnsafe('select * from workflows');
      }),
    );
    expect(failure).toEqual({
      code: '42501',
      message: 'query would be affected by row-level security policy for table "workflows"',
    });
  });

  it('DDL that would weaken RLS is refused: the app role owns no table', async () => {
    const statements = [
      'alter table workflows disable row level security',
      'alter table users no force row level security',
      'drop policy tenant_isolation on teams',
      `create policy open_door on workflows using (true)`,
      'alter table tenants owner to gatehouse_app',
    ];
    const failures = [];
    for (const statement of statements) {
      failures.push(await sqlRejection(as(a, 'write', (tx) => tx.$executeRawUnsafe(statement))));
    }
    expect(failures.map((f) => f.code)).toEqual(statements.map(() => '42501'));
    // PostgreSQL versions word it "table" or "relation".
    expect(failures.map((f) => f.message)).toEqual(
      ['workflows', 'users', 'teams', 'workflows', 'tenants'].map(
        (table) =>
          expect.stringMatching(
            new RegExp(`^must be owner of (table|relation) ${table}$`),
          ) as unknown,
      ),
    );
  });

  it('the app role is neither superuser nor BYPASSRLS', async () => {
    const rows = await as(a, 'read', (tx) =>
      tx.$queryRawUnsafe<Array<{ user: string; rolbypassrls: boolean; rolsuper: boolean }>>(
        `select current_user as "user", rolbypassrls, rolsuper from pg_roles where rolname = current_user`,
      ),
    );
    expect(rows).toEqual([{ user: APP_ROLE, rolbypassrls: false, rolsuper: false }]);
  });

  // Embedded PGlite's only session is a superuser that assumes the app role with SET LOCAL
  // ROLE, so there it could switch back; production refuses the embedded database.
  it.runIf(usingPostgres)('the app role cannot become the owner or a superuser', async () => {
    for (const role of [OWNER_ROLE, 'postgres']) {
      expect(
        await sqlRejection(as(a, 'read', (tx) => tx.$executeRawUnsafe(`set role ${role}`))),
      ).toEqual({ code: '42501', message: `permission denied to set role "${role}"` });
    }
  });
});

describe('read transactions', () => {
  it('are READ ONLY: writes fail with SQLSTATE 25006 and cannot be switched back to read-write', async () => {
    const before = await snapshot(a);
    const readOnly = {
      code: '25006',
      message: 'cannot execute INSERT in a read-only transaction',
    };
    expect(
      await sqlRejection(
        as(a, 'read', (tx) => tx.team.create({ data: { tenantId: a.tenant.id, name: 'RO' } })),
      ),
    ).toEqual(readOnly);
    expect(
      await sqlRejection(
        as(a, 'read', (tx) =>
          tx.$executeRawUnsafe(
            `insert into teams (tenant_id, name) values ($1::uuid, 'RO')`,
            a.tenant.id,
          ),
        ),
      ),
    ).toEqual(readOnly);
    expect(
      await sqlRejection(as(a, 'read', (tx) => tx.workflow.updateMany({ data: { name: 'RO' } }))),
    ).toEqual({ code: '25006', message: 'cannot execute UPDATE in a read-only transaction' });
    expect(
      await sqlRejection(as(a, 'read', (tx) => tx.$executeRawUnsafe('set transaction read write'))),
    ).toEqual({
      code: '25001',
      message: 'transaction read-write mode must be set before any query',
    });
    expect(await snapshot(a)).toEqual(before);
  });
});

describe('app.tenant_id is transaction-local', () => {
  it('each transaction sees only its own tenant, and nothing is left on the connection afterwards', async () => {
    // One connection for everything, so a leak would show. Embedded: PGlite has exactly one
    // connection, shared by the app path and asOwner. PostgreSQL: the request pool (its
    // settings sent with each BEGIN, its statements prepared) with a single connection.
    const single = usingPostgres ? await openTestPool({ max: 1 }) : undefined;
    const tenants = single?.tenants ?? db.tenants;
    type Probe = { pid: number; tenant: string | null; user: string | null; ro: string };
    const probeSql = `select pg_backend_pid() as pid, current_setting('app.tenant_id', true) as tenant,
        current_setting('app.user_id', true) as "user", current_setting('transaction_read_only') as ro`;
    const inTx = (t: Seeded, mode: AccessMode) =>
      tenants.transaction(
        { tenantId: t.tenant.id, subject: t.tenant.users[0]!.subject },
        mode,
        async (tx) => (await tx.$queryRawUnsafe<Probe[]>(probeSql))[0]!,
      );
    const between = async (): Promise<Probe> =>
      single
        ? (await single.prisma.$queryRawUnsafe<Probe[]>(probeSql))[0]!
        : db.asOwner(async (sql) => (await sql.query<Probe>(probeSql))[0]!);

    try {
      const first = await inTx(a, 'read');
      const afterCommit = await between();
      const second = await inTx(b, 'write');
      const failed = await rejection(
        tenants.transaction({ tenantId: a.tenant.id, subject: 'x' }, 'read', () =>
          Promise.reject(new Error('abort')),
        ),
      );
      const afterRollback = await between();
      const third = await inTx(b, 'read');

      // The database is told the tenant only, never the principal's subject.
      expect(first).toMatchObject({ tenant: a.tenant.id, user: null, ro: 'on' });
      expect(second).toMatchObject({ tenant: b.tenant.id, user: null, ro: 'off' });
      expect(third).toMatchObject({ tenant: b.tenant.id, ro: 'on' });
      expect(failed).toEqual(new Error('abort'));
      for (const probe of [afterCommit, afterRollback]) {
        expect(probe.tenant ?? '').toBe('');
        expect(probe.user ?? '').toBe('');
        expect(probe.ro).toBe('off');
      }
      // All of it happened on one and the same server connection.
      const pids = new Set([first, afterCommit, second, afterRollback, third].map((p) => p.pid));
      expect(pids.size).toBe(1);
      // PostgreSQL: every one of the four transactions had its settings sent with its BEGIN.
      if (single) expect(single.tenants.settingsSentWithBegin).toBe(4);
    } finally {
      await single?.close();
    }
  });
});
