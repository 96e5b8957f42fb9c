/**
 * The `workflows` list's one-statement page read (src/graphql/workflowPage.ts: its condition,
 * the SQL visibility of src/domain/workflowVisibility.ts with the status filter, and the
 * keyset of paging.ts keysetSql)
 * returns exactly what Prisma's `workflow.findMany` and `workflowShare.findMany` return for
 * the same caller, filter and page: the same models (types, exact decimals, millisecond
 * times, text that JSON must escape), the same order with ties on `created_at`, the same
 * shares — for every kind of caller (owner, shared-with, team member, organisation role
 * that sees all, service account through its team, nobody), for both paging directions
 * across every page, with and without the status filter. Nothing of another tenant, even
 * when its tenant id is asked for inside this tenant's transaction (RLS). Against the real
 * PostgreSQL of the run, or the embedded one.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { TenantDatabase, type TenantTx } from '../../src/data/TenantDatabase.js';
import { Prisma } from '../../src/generated/prisma/client.js';
import type { OrgRole, WorkflowStatus } from '../../src/generated/prisma/enums.js';
import { listCondition, readWorkflowPage } from '../../src/graphql/workflowPage.js';
import { keyset, type PageRequest } from '../../src/graphql/resolvers/paging.js';
import type { CursorPosition } from '../../src/graphql/cursor.js';
import { createTestTenant, openTestDatabase, type TestTenant } from '../support/testDatabase.js';

interface Caller {
  readonly kind: 'user' | 'service_account';
  readonly id: string;
  readonly roles: readonly OrgRole[];
}

/**
 * The reference: `permission view` of policies/authz.zed as a Prisma filter, written
 * independently of the SQL under test.
 */
function referenceVisibility(caller: Caller): Prisma.WorkflowWhereInput {
  if (caller.roles.some((r) => r === 'ADMIN' || r === 'VP' || r === 'AUDITOR')) return {};
  if (caller.kind === 'service_account') {
    return { team: { serviceAccountMemberships: { some: { serviceAccountId: caller.id } } } };
  }
  return {
    OR: [
      { ownerId: caller.id },
      { shares: { some: { userId: caller.id } } },
      { team: { memberships: { some: { userId: caller.id } } } },
    ],
  };
}

const STATUSES: readonly WorkflowStatus[] = ['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'REJECTED'];

describe('the workflows page read', () => {
  let db: OpenDatabase;
  let tenant: TestTenant;
  let other: TestTenant;
  let otherTeam: string;
  const serviceAccount = randomUUID();
  const ids: string[] = [];

  beforeAll(async () => {
    db = await openTestDatabase();
    tenant = await createTestTenant(db, 5);
    other = await createTestTenant(db, 2);
    await db.asOwner(async (_sql, prisma) => {
      const owner = new TenantDatabase(prisma, { timeoutMs: 20_000 });
      const t0 = Date.parse('2026-12-01T10:00:00.000Z');
      await owner.transaction({ tenantId: tenant.id, subject: 'fixtures' }, 'write', async (tx) => {
        const users = tenant.users.map((u) => u.id);
        otherTeam = (await tx.team.create({ data: { tenantId: tenant.id, name: 'second' } })).id;
        // users[2] is in the tenant's team, users[3] in the second, users[4] an ADMIN.
        await tx.teamMembership.deleteMany({ where: { tenantId: tenant.id } });
        await tx.teamMembership.createMany({
          data: [
            { tenantId: tenant.id, teamId: tenant.teamId, userId: users[2]! },
            { tenantId: tenant.id, teamId: otherTeam, userId: users[3]! },
          ],
        });
        await tx.user.update({
          where: { tenantId_id: { tenantId: tenant.id, id: users[4]! } },
          data: { roles: ['ADMIN'], grantedRoles: ['ADMIN'] },
        });
        await tx.serviceAccount.create({
          data: { tenantId: tenant.id, id: serviceAccount, name: 'robot', roles: [] },
        });
        await tx.serviceAccountTeamMembership.create({
          data: { tenantId: tenant.id, teamId: otherTeam, serviceAccountId: serviceAccount },
        });
        // 23 workflows: owners users[0] and users[1], teams none/first/second, every
        // status, pairs at the same instant (ordered by id then), amounts at the range's
        // ends, and text JSON must escape.
        for (let i = 0; i < 23; i++) {
          const id = randomUUID();
          ids.push(id);
          await tx.workflow.create({
            data: {
              tenantId: tenant.id,
              id,
              name: i === 5 ? 'quote " backslash \\ newline \n tab \t é 🚀 \u0001' : `w${i}`,
              description: i % 4 === 0 ? '' : `about ${i} <b>&</b>`,
              amount: ['0.00', '0.10', '999999999999.99', '12.34', '7.5'][i % 5]!,
              status: STATUSES[i % 4]!,
              ownerId: users[i % 2]!,
              teamId: [null, tenant.teamId, otherTeam][i % 3] ?? null,
              version: 1 + (i % 3),
              createdAt: new Date(t0 + Math.floor(i / 2) * 1000 + (i % 7 === 0 ? 1 : 0)),
              updatedAt: new Date(t0 + 50_000 + i * 37),
            },
          });
        }
        // Shares: users[1] is shared some of users[0]'s. w4 has three: the latest is the
        // smallest user id's, the other two at one instant, so neither time alone nor user
        // id alone gives the order.
        const [first, second, third] = [users[1]!, users[2]!, users[3]!].sort();
        const shares: Array<[number, string, 'VIEWER' | 'EDITOR', number]> = [
          [4, first!, 'EDITOR', t0 + 2000],
          [4, third!, 'VIEWER', t0],
          [4, second!, 'VIEWER', t0],
          [8, users[1]!, 'VIEWER', t0 + 5],
          [10, users[3]!, 'EDITOR', t0 + 9],
          [13, users[2]!, 'VIEWER', t0 + 1],
        ];
        await tx.workflowShare.createMany({
          data: shares.map(([w, userId, role, at]) => ({
            tenantId: tenant.id,
            workflowId: ids[w]!,
            userId,
            role,
            createdAt: new Date(at),
          })),
        });
      });
      await owner.transaction({ tenantId: other.id, subject: 'fixtures' }, 'write', async (tx) => {
        await tx.workflow.create({
          data: {
            tenantId: other.id,
            name: 'foreign',
            amount: '1.00',
            ownerId: other.users[0]!.id,
          },
        });
      });
    });
  });

  afterAll(async () => {
    await db.close();
  });

  const read = <T>(tenantId: string, work: (tx: TenantTx) => Promise<T>) =>
    db.tenants.transaction({ tenantId, subject: 'test' }, 'read', work);

  /** Every page of the list for `caller`, by both implementations, in `direction`. */
  async function allPages(
    caller: Caller,
    status: WorkflowStatus | undefined,
    direction: PageRequest<CursorPosition>['direction'],
    size: number,
  ): Promise<void> {
    let cursor: CursorPosition | null = null;
    let pages = 0;
    for (;;) {
      const request: PageRequest<CursorPosition> = { direction, size, cursor };
      const { actual, expected } = await read(tenant.id, async (tx) => {
        const condition = listCondition(caller, status);
        const actual = await readWorkflowPage(tx, tenant.id, condition, request, true);
        const page = keyset(request);
        const rows = await tx.workflow.findMany({
          where: {
            AND: [
              { tenantId: tenant.id },
              status ? { status } : {},
              referenceVisibility(caller),
              page.where,
            ],
          },
          orderBy: page.orderBy,
          take: page.take,
        });
        const shares = await Promise.all(
          rows.map((r) =>
            tx.workflowShare.findMany({
              where: { tenantId: tenant.id, workflowId: r.id },
              orderBy: [{ createdAt: 'asc' }, { userId: 'asc' }],
            }),
          ),
        );
        return { actual, expected: { rows, shares } };
      });
      expect(actual.rows).toEqual(expected.rows);
      expect(actual.rows.map((r) => actual.shares!.get(r.id))).toEqual(expected.shares);
      // Decimals are Prisma's Decimal with the exact value, times are Dates.
      for (const [i, row] of actual.rows.entries()) {
        expect(row.amount).toBeInstanceOf(Prisma.Decimal);
        expect(row.amount.toFixed(2)).toBe(expected.rows[i]!.amount.toFixed(2));
        expect(row.createdAt).toBeInstanceOf(Date);
      }
      pages += 1;
      if (actual.rows.length <= size) break;
      const last = actual.rows[size - 1]!;
      cursor = { createdAt: last.createdAt, id: last.id };
      expect(pages).toBeLessThan(30);
    }
  }

  const callers = (): Array<[string, Caller]> => [
    ['the owner of half', { kind: 'user', id: tenant.users[0]!.id, roles: ['MEMBER'] }],
    ['an owner with shares', { kind: 'user', id: tenant.users[1]!.id, roles: ['MEMBER'] }],
    ['a team member', { kind: 'user', id: tenant.users[2]!.id, roles: ['MEMBER'] }],
    ['a second-team member', { kind: 'user', id: tenant.users[3]!.id, roles: ['MEMBER'] }],
    ['an admin', { kind: 'user', id: tenant.users[4]!.id, roles: ['ADMIN'] }],
    ['an auditor', { kind: 'user', id: tenant.users[3]!.id, roles: ['AUDITOR', 'MEMBER'] }],
    ['a service account', { kind: 'service_account', id: serviceAccount, roles: [] }],
    ['a VP service account', { kind: 'service_account', id: serviceAccount, roles: ['VP'] }],
    ['nobody known', { kind: 'user', id: randomUUID(), roles: [] }],
  ];

  it('reads what findMany reads, for every caller, filter and direction, page by page', async () => {
    for (const [name, caller] of callers()) {
      for (const status of [undefined, 'DRAFT', 'APPROVED'] as const) {
        for (const direction of ['forward', 'backward'] as const) {
          for (const size of [1, 4, 100]) {
            try {
              await allPages(caller, status, direction, size);
            } catch (error) {
              throw new Error(`${name}, ${status ?? 'any status'}, ${direction}, size ${size}`, {
                cause: error,
              });
            }
          }
        }
      }
    }
  });

  it('reads no shares when not asked, and the same rows', async () => {
    const request: PageRequest<CursorPosition> = { direction: 'forward', size: 100, cursor: null };
    const [withShares, without] = await read(tenant.id, async (tx) => [
      await readWorkflowPage(tx, tenant.id, Prisma.sql`true`, request, true),
      await readWorkflowPage(tx, tenant.id, Prisma.sql`true`, request, false),
    ]);
    expect(without.shares).toBeUndefined();
    expect(without.rows).toEqual(withShares.rows);
    expect(without.rows).toHaveLength(23);
    expect([...withShares.shares!.values()].flat()).toHaveLength(6);
  });

  it("returns nothing of another tenant, even asked for its id inside this tenant's transaction", async () => {
    const request: PageRequest<CursorPosition> = { direction: 'forward', size: 100, cursor: null };
    const inOwn = await read(other.id, (tx) =>
      readWorkflowPage(tx, other.id, Prisma.sql`true`, request, true),
    );
    expect(inOwn.rows.map((r) => r.name)).toEqual(['foreign']);
    const acrossTenants = await read(tenant.id, (tx) =>
      readWorkflowPage(tx, other.id, Prisma.sql`true`, request, true),
    );
    expect(acrossTenants.rows).toEqual([]);
    expect(acrossTenants.shares!.size).toBe(0);
  });
});
