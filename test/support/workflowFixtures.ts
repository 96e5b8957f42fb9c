/**
 * Bulk workflows for tests and benchmarks: inserted straight into the database as the
 * owner, with their relationships through the outbox, then applied to SpiceDB.
 */
import { randomUUID } from 'node:crypto';
import { enqueueRelationships, touch } from '../../src/authz/outbox/RelationshipOutbox.js';
import { workflowTuples } from '../../src/authz/RelationshipTuple.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import type { Gatehouse } from '../../src/server/createGatehouse.js';
import type { TestTenant } from './testDatabase.js';

/** Creates `count` workflows owned by user `ownerIndex` of `tenant`; returns their ids. */
export async function insertWorkflows(
  gatehouse: Gatehouse,
  tenant: TestTenant,
  count: number,
  ownerIndex: number,
): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await gatehouse.database.asOwner(async (_sql, prisma) => {
    const owner = new TenantDatabase(prisma, { timeoutMs: 60_000 });
    await owner.transaction({ tenantId: tenant.id, subject: 'fixtures' }, 'write', async (tx) => {
      const rows = ids.map((id, i) => ({
        tenantId: tenant.id,
        id,
        name: `bulk ${i}`,
        amount: `${i}.00`,
        ownerId: tenant.users[ownerIndex]!.id,
        teamId: null,
      }));
      await tx.workflow.createMany({ data: rows });
      await enqueueRelationships(
        tx,
        tenant.id,
        rows.flatMap((r) => workflowTuples(tenant.id, r).map(touch)),
      );
    });
  });
  await gatehouse.relay.drain();
  return ids;
}
