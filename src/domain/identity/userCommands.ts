/**
 * Users of an organisation, managed by its admins (identity administration, issue 12):
 * invitations, granted roles, deactivation and reactivation. Each runs in the caller's
 * tenant transaction; every lookup goes through RLS and names the tenant, so another
 * organisation's user id is NOT_FOUND exactly like an id that does not exist.
 *
 * Relationship effects go through the outbox in the same transaction (read-after-write):
 * role relations follow the effective roles; deactivation removes the user's role and team
 * relations (the rows stay, as a record and for reactivation), so every permission that
 * came from the organisation or a team is gone from the next check — a live audit feed of
 * the user ends at its next event — besides the account itself being refused on its next
 * request (RequestAuthorizer.standing).
 *
 * Guard rails: the organisation keeps at least one active admin (LAST_ADMIN); no one
 * deactivates themselves (SELF); emails are valid and unique per tenant whatever their
 * case. Who may call these at all is gate 2's (`administer` on the organisation).
 */
import { randomUUID } from 'node:crypto';
import { enqueueRelationships, remove, touch } from '../../authz/outbox/RelationshipOutbox.js';
import { membershipTuple, userRoleTuples, userTuples } from '../../authz/RelationshipTuple.js';
import type { TenantTx } from '../../data/TenantDatabase.js';
import type { User } from '../../generated/prisma/client.js';
import type { OrgRole } from '../../generated/prisma/enums.js';
import { conflict, notFound } from '../../errors/clientErrors.js';
import { diff, type Changed } from '../Changed.js';
import { requireEmail, requireId, requireText } from '../inputValidation.js';
import {
  effectiveRoles,
  ensureAnotherAdmin,
  enqueueRoleChanges,
  lockAdmins,
  requireRoles,
} from './userRoles.js';
import type { Actor } from '../workflowCommands.js';
import { isUniqueViolation } from '../uniqueViolation.js';

export interface Invitation {
  readonly email: string;
  readonly displayName: string;
  readonly roles?: readonly OrgRole[] | null | undefined;
  /** The identity provider's `sub`, when known: the account is bound to it at once. */
  readonly subject?: string | null | undefined;
}

/** The fields of a user an audit event shows (never the email: personal data). */
const AUDITED: ReadonlyArray<keyof User> = [
  'displayName',
  'subject',
  'grantedRoles',
  'roles',
  'deactivatedAt',
];

/**
 * The user's row, locked until the transaction ends (changes of one user are serialised),
 * after the organisation's admins (lockAdmins: the lock order every change of roles keeps).
 */
async function lockUser(
  tx: TenantTx,
  tenantId: string,
  id: string,
): Promise<{ user: User; admins: string[] }> {
  const admins = await lockAdmins(tx, tenantId);
  await tx.$queryRawUnsafe(
    'select 1 from users where tenant_id = $1::uuid and id = $2::uuid for update',
    tenantId,
    id,
  );
  const user = await tx.user.findFirst({ where: { tenantId, id } });
  if (!user) throw notFound('User');
  return { user, admins };
}

/**
 * Adds a user with granted `roles` (default MEMBER). Without `subject` it is an
 * invitation: the first token of this tenant whose verified email is `email` binds it
 * (domain/signIn.ts). CONFLICT when the email (any case) or the subject is taken.
 */
export async function inviteUser(
  tx: TenantTx,
  actor: Actor,
  input: Invitation,
): Promise<Changed<User>> {
  const email = requireEmail(input.email, 'email');
  const displayName = requireText(input.displayName, 'displayName', { min: 1, max: 200 });
  const subject =
    input.subject === null || input.subject === undefined
      ? null
      : requireText(input.subject, 'subject', { min: 1, max: 255 });
  const roles = requireRoles(input.roles ?? ['MEMBER']);
  const clash = await tx.$queryRawUnsafe<Array<{ email: boolean }>>(
    `select lower(email) = $2 as email from users
      where tenant_id = $1::uuid and (lower(email) = $2 or subject = $3) limit 1`,
    actor.tenantId,
    email,
    subject,
  );
  if (clash[0]) {
    throw conflict(
      clash[0].email
        ? 'A user with this email exists in the organisation'
        : 'A user with this subject exists in the organisation',
    );
  }
  let user: User;
  try {
    user = await tx.user.create({
      data: {
        tenantId: actor.tenantId,
        id: randomUUID(),
        subject,
        email,
        displayName,
        roles,
        grantedRoles: roles,
        invitedAt: subject === null ? new Date() : null,
      },
    });
  } catch (error) {
    // A concurrent invitation of the same email or subject got there first.
    if (isUniqueViolation(error)) throw conflict('A user with this email or subject exists');
    throw error;
  }
  await enqueueRelationships(tx, actor.tenantId, userTuples(actor.tenantId, user).map(touch));
  return {
    value: user,
    resource: { type: 'user', id: user.id },
    changes: { ...diff(null, user, AUDITED), email: { before: null, after: '[personal data]' } },
  };
}

/**
 * Replaces the roles an admin granted (`[]` for none); the effective roles add the mapped
 * ones. Refused for a deactivated user (CONFLICT) and when it would leave no active admin
 * (CONFLICT, LAST_ADMIN) — which also stops the last admin demoting themselves.
 */
export async function setUserRoles(
  tx: TenantTx,
  actor: Actor,
  id: string,
  roles: readonly OrgRole[],
): Promise<Changed<User>> {
  const userId = requireId(id, 'userId');
  const granted = requireRoles(roles);
  const { user: before, admins } = await lockUser(tx, actor.tenantId, userId);
  if (before.deactivatedAt) {
    throw conflict('The user is deactivated: reactivate them first', { reason: 'DEACTIVATED' });
  }
  const after = effectiveRoles(granted, before.mappedRoles);
  if (before.roles.includes('ADMIN') && !after.includes('ADMIN')) {
    ensureAnotherAdmin(admins, userId);
  }
  const updated = await tx.user.update({
    where: { tenantId_id: { tenantId: actor.tenantId, id: userId } },
    data: { grantedRoles: granted, roles: after },
  });
  await enqueueRoleChanges(tx, actor.tenantId, userId, before.roles, after);
  return {
    value: updated,
    resource: { type: 'user', id: userId },
    changes: diff(before, updated, AUDITED),
  };
}

/** The relationships of a user's roles and team memberships (deactivation's scope). */
async function accessTuples(tx: TenantTx, tenantId: string, user: User) {
  const memberships = await tx.teamMembership.findMany({
    where: { tenantId, userId: user.id },
    select: { teamId: true, userId: true, role: true },
  });
  return [
    ...userRoleTuples(tenantId, user.id, user.roles),
    ...memberships.map((m) => membershipTuple(tenantId, m)),
  ];
}

/**
 * Deactivates a user: refused from their next request on, whatever token they bring, and
 * their role and team relationships removed. Idempotent. CONFLICT for oneself (SELF) and
 * for the last active admin (LAST_ADMIN).
 */
export async function deactivateUser(
  tx: TenantTx,
  actor: Actor,
  id: string,
): Promise<Changed<User>> {
  const userId = requireId(id, 'userId');
  const { user: before, admins } = await lockUser(tx, actor.tenantId, userId);
  if (userId === actor.userId) {
    throw conflict('You cannot deactivate your own account', { reason: 'SELF' });
  }
  if (before.deactivatedAt) {
    return { value: before, resource: { type: 'user', id: userId }, changes: {} };
  }
  if (before.roles.includes('ADMIN')) ensureAnotherAdmin(admins, userId);
  const updated = await tx.user.update({
    where: { tenantId_id: { tenantId: actor.tenantId, id: userId } },
    data: { deactivatedAt: new Date() },
  });
  await enqueueRelationships(
    tx,
    actor.tenantId,
    (await accessTuples(tx, actor.tenantId, before)).map(remove),
  );
  return {
    value: updated,
    resource: { type: 'user', id: userId },
    changes: diff(before, updated, AUDITED),
  };
}

/** Reactivates a user: their roles and team memberships count again. Idempotent. */
export async function reactivateUser(
  tx: TenantTx,
  actor: Actor,
  id: string,
): Promise<Changed<User>> {
  const userId = requireId(id, 'userId');
  const { user: before } = await lockUser(tx, actor.tenantId, userId);
  if (!before.deactivatedAt) {
    return { value: before, resource: { type: 'user', id: userId }, changes: {} };
  }
  const updated = await tx.user.update({
    where: { tenantId_id: { tenantId: actor.tenantId, id: userId } },
    data: { deactivatedAt: null },
  });
  await enqueueRelationships(
    tx,
    actor.tenantId,
    (await accessTuples(tx, actor.tenantId, updated)).map(touch),
  );
  return {
    value: updated,
    resource: { type: 'user', id: userId },
    changes: diff(before, updated, AUDITED),
  };
}
