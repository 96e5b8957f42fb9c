/**
 * A user's organisation roles: the ones an admin granted and the ones the identity
 * provider's groups map to (roleMapping.ts), together the effective `roles` that SpiceDB
 * holds. Every change of them goes through here: the effective roles recomputed, the
 * relationship changes enqueued in the outbox in the same transaction, and the rule that
 * an organisation never loses its last active admin.
 */
import { enqueueRelationships, remove, touch } from '../../authz/outbox/RelationshipOutbox.js';
import { userRoleTuples } from '../../authz/RelationshipTuple.js';
import type { TenantTx } from '../../data/TenantDatabase.js';
import { OrgRole } from '../../generated/prisma/enums.js';
import { badUserInput, conflict } from '../../errors/clientErrors.js';

/** Every role, in the schema's order (ADMIN, MEMBER, VP, AUDITOR). */
const ORDER: readonly OrgRole[] = Object.values(OrgRole);

/** Distinct roles in the schema's order. */
export function sortedRoles(roles: Iterable<OrgRole>): OrgRole[] {
  const set = new Set(roles);
  return ORDER.filter((r) => set.has(r));
}

/** The roles a user holds: granted and mapped together. */
export function effectiveRoles(granted: readonly OrgRole[], mapped: readonly OrgRole[]): OrgRole[] {
  return sortedRoles([...granted, ...mapped]);
}

/** Roles given by a client: known values (the schema enforces it), duplicates dropped. */
export function requireRoles(roles: readonly OrgRole[], field = 'roles'): OrgRole[] {
  for (const role of roles) {
    if (!ORDER.includes(role)) throw badUserInput(`${field}: unknown role`, { field });
  }
  return sortedRoles(roles);
}

/**
 * The ids of the organisation's active admins, their rows locked until the transaction
 * ends — always in id order and before any other user row, so two changes that may each
 * remove an admin (two admins demoting or deactivating each other at once) are serialised
 * without a deadlock, and the second sees the first's change.
 */
export async function lockAdmins(tx: TenantTx, tenantId: string): Promise<string[]> {
  const admins = await tx.$queryRawUnsafe<Array<{ id: string }>>(
    `select id::text from users
      where tenant_id = $1::uuid and 'ADMIN' = any (roles) and deactivated_at is null
      order by id for update`,
    tenantId,
  );
  return admins.map((a) => a.id);
}

/**
 * Refuses (CONFLICT, reason LAST_ADMIN) when no active admin other than `userId` is among
 * `admins` (from {@link lockAdmins}, in this transaction).
 */
export function ensureAnotherAdmin(admins: readonly string[], userId: string): void {
  if (!admins.some((id) => id !== userId)) {
    throw conflict(
      'An organisation keeps at least one active admin: make another user admin first',
      { reason: 'LAST_ADMIN' },
    );
  }
}

/**
 * Enqueues the relationship changes from `before` to `after` effective roles of an active
 * user: new role relations TOUCHed, dropped ones DELETEd.
 */
export async function enqueueRoleChanges(
  tx: TenantTx,
  tenantId: string,
  userId: string,
  before: readonly OrgRole[],
  after: readonly OrgRole[],
): Promise<void> {
  const added = after.filter((r) => !before.includes(r));
  const dropped = before.filter((r) => !after.includes(r));
  if (added.length === 0 && dropped.length === 0) return;
  await enqueueRelationships(tx, tenantId, [
    ...userRoleTuples(tenantId, userId, added).map(touch),
    ...userRoleTuples(tenantId, userId, dropped).map(remove),
  ]);
}
