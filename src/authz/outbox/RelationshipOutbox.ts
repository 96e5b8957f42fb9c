/**
 * Appends relationship changes to `authz_outbox` inside the caller's tenant transaction,
 * so they commit (or roll back) together with the domain change that causes them.
 */
import type { TenantTx } from '../../data/TenantDatabase.js';
import type { RelationshipTuple } from '../RelationshipTuple.js';

export type OutboxOperation = 'TOUCH' | 'DELETE';

export interface RelationshipChange {
  readonly operation: OutboxOperation;
  readonly tuple: RelationshipTuple;
}

export const touch = (tuple: RelationshipTuple): RelationshipChange => ({
  operation: 'TOUCH',
  tuple,
});
export const remove = (tuple: RelationshipTuple): RelationshipChange => ({
  operation: 'DELETE',
  tuple,
});

export async function enqueueRelationships(
  tx: TenantTx,
  tenantId: string,
  changes: readonly RelationshipChange[],
): Promise<void> {
  if (changes.length === 0) return;
  const column = (k: keyof RelationshipTuple): string[] => changes.map((c) => c.tuple[k]);
  await tx.$executeRawUnsafe(
    `insert into authz_outbox
       (tenant_id, operation, resource_type, resource_id, relation, subject_type, subject_id, subject_relation)
     select $1::uuid, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
    tenantId,
    changes.map((c) => c.operation),
    column('resourceType'),
    column('resourceId'),
    column('relation'),
    column('subjectType'),
    column('subjectId'),
    column('subjectRelation'),
  );
}
