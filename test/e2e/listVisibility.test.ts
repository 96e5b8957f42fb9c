/**
 * Lists are filtered in SQL (src/domain/workflowVisibility.ts) so pages fill and counts are
 * exact; that filter must describe exactly SpiceDB's `permission view`. For every demo user
 * (and a fresh share, team membership and role), the SQL-visible set equals SpiceDB's
 * LookupResources answer.
 */
import { v1 } from '@authzed/authzed-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectId } from '../../src/authz/objectIds.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import { DEMO_TENANTS, DEMO_USERS } from '../../src/demo/demoData.js';
import { visibleWorkflows } from '../../src/domain/workflowVisibility.js';
import { faultySpiceDb, type FaultySpiceDb } from '../support/faultySpiceDb.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

describe('SQL list filter agrees with SpiceDB', () => {
  let server: TestServer;
  let spicedb: FaultySpiceDb;
  beforeAll(async () => {
    spicedb = await faultySpiceDb();
    server = await startTestServer({}, { spicedb: spicedb.connection });
  });
  afterAll(() => server.stop());

  it.each(DEMO_USERS.map((u) => [u.key, u] as const))('for %s', async (_key, demo) => {
    const tenantId = DEMO_TENANTS[demo.tenant].id;
    const sqlVisible = await server.gatehouse.database.asOwner(async (_sql, prisma) => {
      const db = new TenantDatabase(prisma, { timeoutMs: 20_000 });
      return db.transaction({ tenantId, subject: 'test' }, 'read', async (tx) => {
        const me = await tx.user.findFirstOrThrow({ where: { tenantId, id: demo.id } });
        const rows = await tx.workflow.findMany({
          where: { AND: [{ tenantId }, visibleWorkflows(me)] },
          select: { id: true },
        });
        return rows.map((r) => objectId(tenantId, r.id)).sort();
      });
    });
    const found = await spicedb.real.permissions.lookupResources(
      v1.LookupResourcesRequest.create({
        consistency: v1.Consistency.create({
          requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
        }),
        resourceObjectType: 'workflow',
        permission: 'view',
        subject: v1.SubjectReference.create({
          object: v1.ObjectReference.create({
            objectType: 'user',
            objectId: objectId(tenantId, demo.id),
          }),
        }),
      }),
    );
    expect(found.map((r) => r.resourceObjectId).sort()).toEqual(sqlVisible);
  });
});
