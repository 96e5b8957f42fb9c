/**
 * Lists are filtered in SQL (src/domain/workflowVisibility.ts, visibleCredentials in
 * src/domain/credentialCommands.ts) so pages fill and counts are exact; each filter must
 * describe exactly SpiceDB's `permission view` of its type. For every demo user, the
 * SQL-visible set equals SpiceDB's LookupResources answer.
 */
import { v1 } from '@authzed/authzed-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectId } from '../../src/authz/objectIds.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import { DEMO_TENANTS, DEMO_USERS } from '../../src/demo/demoData.js';
import { visibleWorkflows } from '../../src/domain/workflowVisibility.js';
import { visibleCredentials } from '../../src/domain/credentialCommands.js';
import type { TenantTx } from '../../src/data/TenantDatabase.js';
import type { User } from '../../src/generated/prisma/client.js';

const LISTS = {
  workflow: (tx: TenantTx, tenantId: string, me: User) =>
    tx.$queryRaw<Array<{ id: string }>>`
      select id::text as id from workflows w
       where w.tenant_id = ${tenantId}::uuid and ${visibleWorkflows({ ...me, kind: 'user' })}`,
  credential: (tx: TenantTx, tenantId: string, me: User) =>
    tx.credential.findMany({
      where: { AND: [{ tenantId }, visibleCredentials(me)] },
      select: { id: true },
    }),
};
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

  const cases = (['workflow', 'credential'] as const).flatMap((type) =>
    DEMO_USERS.map((u) => [type, u.key, u] as const),
  );
  it.each(cases)('%s for %s', async (type, _key, demo) => {
    const tenantId = DEMO_TENANTS[demo.tenant].id;
    const sqlVisible = await server.gatehouse.database.asOwner(async (_sql, prisma) => {
      const db = new TenantDatabase(prisma, { timeoutMs: 20_000 });
      return db.transaction({ tenantId, subject: 'test' }, 'read', async (tx) => {
        const me = await tx.user.findFirstOrThrow({ where: { tenantId, id: demo.id } });
        const rows = await LISTS[type](tx, tenantId, me);
        return rows.map((r) => objectId(tenantId, r.id)).sort();
      });
    });
    const found = await spicedb.real.permissions.lookupResources(
      v1.LookupResourcesRequest.create({
        consistency: v1.Consistency.create({
          requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
        }),
        resourceObjectType: type,
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
    // Owners, admins and auditors see credentials; members who own none (carol, erin) see none.
    const seesSome = type === 'workflow' || !['carol', 'erin'].includes(demo.key);
    expect(sqlVisible.length > 0).toBe(seesSome);
  });
});
