/**
 * The shares loader (RequestData.sharesByWorkflow: one raw statement with the ids as an
 * array) returns exactly what Prisma's `workflowShare.findMany` returns for the same ids —
 * the same rows, fields, types and order (oldest first, ties by user id) — and, under RLS,
 * nothing of another tenant's workflow even when its id is asked for. Against the real
 * PostgreSQL of the run, or the embedded one.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { RequestUnitOfWork } from '../../src/data/RequestUnitOfWork.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import { AuditGroupCommit } from '../../src/audit/AuditGroupCommit.js';
import { OperationAuditLog } from '../../src/audit/OperationAuditLog.js';
import { createLogger } from '../../src/observability/logger.js';
import { RequestData } from '../../src/graphql/RequestData.js';
import { createTestTenant, openTestDatabase, type TestTenant } from '../support/testDatabase.js';

describe('the shares loader', () => {
  let db: OpenDatabase;
  let tenant: TestTenant;
  let other: TestTenant;
  const workflows = [randomUUID(), randomUUID(), randomUUID()];
  const foreign = randomUUID();

  beforeAll(async () => {
    db = await openTestDatabase();
    tenant = await createTestTenant(db, 4);
    other = await createTestTenant(db, 2);
    await db.asOwner(async (_sql, prisma) => {
      const owner = new TenantDatabase(prisma, { timeoutMs: 20_000 });
      const t0 = Date.parse('2026-12-01T10:00:00.000Z');
      await owner.transaction({ tenantId: tenant.id, subject: 'fixtures' }, 'write', async (tx) => {
        await tx.workflow.createMany({
          data: workflows.map((id, i) => ({
            tenantId: tenant.id,
            id,
            name: `w${i}`,
            amount: '1.00',
            ownerId: tenant.users[0]!.id,
          })),
        });
        // w0: three shares, two of them at the same instant (ordered by user id then);
        // w1: one; w2: none.
        await tx.workflowShare.createMany({
          data: [
            { userId: tenant.users[3]!.id, role: 'EDITOR', at: t0 + 2000 },
            { userId: tenant.users[1]!.id, role: 'VIEWER', at: t0 },
            { userId: tenant.users[2]!.id, role: 'VIEWER', at: t0 },
          ].map((s) => ({
            tenantId: tenant.id,
            workflowId: workflows[0]!,
            userId: s.userId,
            role: s.role as 'EDITOR' | 'VIEWER',
            createdAt: new Date(s.at),
          })),
        });
        await tx.workflowShare.create({
          data: {
            tenantId: tenant.id,
            workflowId: workflows[1]!,
            userId: tenant.users[2]!.id,
            role: 'EDITOR',
          },
        });
      });
      await owner.transaction({ tenantId: other.id, subject: 'fixtures' }, 'write', async (tx) => {
        await tx.workflow.create({
          data: {
            tenantId: other.id,
            id: foreign,
            name: 'foreign',
            amount: '1.00',
            ownerId: other.users[0]!.id,
          },
        });
        await tx.workflowShare.create({
          data: {
            tenantId: other.id,
            workflowId: foreign,
            userId: other.users[1]!.id,
            role: 'VIEWER',
          },
        });
      });
    });
  });

  afterAll(async () => {
    await db.close();
  });

  it("answers as Prisma's findMany does, and nothing of another tenant", async () => {
    const uow = new RequestUnitOfWork(db.tenants, {
      tenantId: tenant.id,
      subject: tenant.users[0]!.subject,
    });
    // (Reading writes no audit event: an append would fail the test.)
    const audit = new OperationAuditLog({
      appender: { append: () => Promise.reject(new Error('no audit event expected')) },
      commits: new AuditGroupCommit({
        tenants: db.tenants,
        appender: { append: () => Promise.reject(new Error('no audit event expected')) },
      }),
      specs: new Map(),
      tenantId: tenant.id,
      subject: tenant.users[0]!.subject,
      actorKind: 'user',
      ip: '127.0.0.1',
      requestId: 'shares-loader-test',
      traceId: null,
      logger: createLogger('silent'),
    });
    const data = new RequestData(uow, audit);
    try {
      const ids = [...workflows, foreign, randomUUID()];
      const loaded = await data.sharesByWorkflow.loadMany(ids);
      const tx = await data.tx();
      const expected = await Promise.all(
        ids.map((id) =>
          tx.workflowShare.findMany({
            where: { tenantId: tenant.id, workflowId: id },
            orderBy: [{ createdAt: 'asc' }, { userId: 'asc' }],
          }),
        ),
      );
      expect(loaded).toEqual(expected);
      expect(loaded.map((shares) => (shares as unknown[]).length)).toEqual([3, 1, 0, 0, 0]);
      const first = loaded[0] as Array<{ userId: string; createdAt: Date }>;
      expect(first.map((s) => s.userId)).toEqual(
        [tenant.users[1]!.id, tenant.users[2]!.id].sort().concat(tenant.users[3]!.id),
      );
      expect(first[0]!.createdAt).toBeInstanceOf(Date);
    } finally {
      await uow.finish();
    }
  });
});
