/**
 * What a user's token does to their account on a request (identity administration, issue
 * 12), decided cheaply in the operation's read transaction and applied, when there is
 * something to apply, in a write transaction of its own:
 *
 * - **binding an invitation**: an account invited without a subject (inviteUser) is bound
 *   to the first token of the tenant whose *verified* email (`email_verified: true`) is
 *   the invitation's;
 * - **just-in-time provisioning** (AUTH_JIT_PROVISIONING, off by default): the first token
 *   of an unknown subject in a provisioned tenant, with a verified email no account has,
 *   creates the account — with no granted roles: what its groups map to is all it holds;
 * - **group mapping** (AUTH_GROUPS_CLAIM): the token's groups are mapped through the
 *   tenant's mapping (roleMapping.ts) to organisation roles and team memberships. Each
 *   account remembers the fingerprint of the groups and mapping version it was last mapped
 *   with, so a request compares one string; only a change reconciles (roles, memberships,
 *   their relationships through the outbox, an audit event).
 *
 * A deactivated account is never changed here (it is refused: RequestAuthorizer.standing).
 */
import { randomUUID } from 'node:crypto';
import { appendAuditEvents } from '../../audit/appendAuditEvents.js';
import type { AuditEventInput, FieldChanges } from '../../audit/AuditEvent.js';
import { enqueueRelationships, remove, touch } from '../../authz/outbox/RelationshipOutbox.js';
import { membershipTuple, userTuples } from '../../authz/RelationshipTuple.js';
import type { TenantTx } from '../../data/TenantDatabase.js';
import type { User } from '../../generated/prisma/client.js';
import type { OrgRole } from '../../generated/prisma/enums.js';
import { jsonOf } from '../Changed.js';
import { groupsFingerprint, mappedAccess, readRoleMapping } from './roleMapping.js';
import { effectiveRoles, ensureAnotherAdmin, enqueueRoleChanges, lockAdmins } from './userRoles.js';
import { isUniqueViolation } from '../uniqueViolation.js';
import { isEmail } from '../inputValidation.js';

/** What the verified token says about its subject (authn's Principal, as the domain needs it). */
export interface SignInIdentity {
  readonly tenantId: string;
  readonly subject: string;
  readonly email: string | null;
  readonly emailVerified: boolean;
  /** `name`, else `preferred_username`. */
  readonly name: string | null;
  /** The groups claim; null when AUTH_GROUPS_CLAIM is not set (no mapping at all). */
  readonly groups: readonly string[] | null;
}

/** Where the request came from, for the audit events. */
export interface SignInRequest {
  readonly requestId: string;
  readonly traceId: string | null;
  readonly ip: string | null;
}

export type SignInPlan =
  | { readonly kind: 'bind'; readonly invitationId: string }
  | { readonly kind: 'provision' }
  | { readonly kind: 'map'; readonly userId: string };

/**
 * A concurrent request bound or created the account, or took its email, first (a unique
 * violation, which rolled the sign-in back): read the account again instead.
 */
export function isSignInRace(error: unknown): boolean {
  return isUniqueViolation(error);
}

function verifiedEmail(identity: SignInIdentity): string | null {
  if (!identity.emailVerified || !identity.email) return null;
  const email = identity.email.trim().toLowerCase();
  return isEmail(email) ? email : null;
}

/**
 * Whether this request has anything to apply to the account (`user`: the subject's
 * account as read, or null), read-only. Null: nothing (the common case, one comparison
 * once the mapping's version is known).
 */
export async function planSignIn(
  tx: TenantTx,
  identity: SignInIdentity,
  user: User | null,
  options: { readonly jit: boolean },
): Promise<SignInPlan | null> {
  const { tenantId } = identity;
  if (user) {
    if (user.deactivatedAt || identity.groups === null) return null;
    const version = await tx.roleMappingVersion.findFirst({
      where: { tenantId },
      select: { version: true },
    });
    const fingerprint = groupsFingerprint(version?.version ?? 0, identity.groups);
    return fingerprint === user.groupsFingerprint ? null : { kind: 'map', userId: user.id };
  }
  const email = verifiedEmail(identity);
  if (!email) return null;
  const holder = await tx.user.findFirst({
    where: { tenantId, email },
    select: { id: true, subject: true },
  });
  if (holder) return holder.subject === null ? { kind: 'bind', invitationId: holder.id } : null;
  if (!options.jit) return null;
  // Only into a tenant that exists (provisioned by the operator: npm run tenant:create).
  const tenant = await tx.tenant.findFirst({ where: { id: tenantId }, select: { id: true } });
  return tenant ? { kind: 'provision' } : null;
}

function event(
  identity: SignInIdentity,
  request: SignInRequest,
  userId: string,
  action: string,
  reason: string,
  changes: FieldChanges,
): AuditEventInput {
  return {
    actor: { subject: identity.subject, userId, kind: 'user', ip: request.ip },
    action,
    resource: { type: 'user', id: userId },
    outcome: 'SUCCEEDED',
    gate: null,
    reasons: [reason],
    requestId: request.requestId,
    traceId: request.traceId,
    decisions: [],
    changes,
  };
}

/**
 * Applies `plan` in a write transaction; returns the subject's account as it is now (null:
 * still none). Throws a unique violation when a concurrent request got there first
 * ({@link isSignInRace}).
 */
export async function applySignIn(
  tx: TenantTx,
  identity: SignInIdentity,
  plan: SignInPlan,
  request: SignInRequest,
): Promise<User | null> {
  const { tenantId, subject } = identity;
  const bySubject = () => tx.user.findFirst({ where: { tenantId, subject } });
  let user: User | null;
  switch (plan.kind) {
    case 'bind': {
      // (A unique violation — this subject got an account meanwhile — rolls back; the
      // caller reads the account again: see isSignInRace.)
      const { count } = await tx.user.updateMany({
        where: { tenantId, id: plan.invitationId, subject: null, deactivatedAt: null },
        data: { subject },
      });
      user = await bySubject();
      if (count === 1 && user) {
        await appendAuditEvents(tx, tenantId, [
          event(identity, request, user.id, 'user.bind', 'invitation accepted (verified email)', {
            subject: { before: null, after: subject },
          }),
        ]);
      }
      break;
    }
    case 'provision': {
      const email = verifiedEmail(identity)!;
      const displayName = (identity.name?.trim() || email.slice(0, email.indexOf('@'))).slice(
        0,
        200,
      );
      // The subject (a concurrent first request) or the email may be taken meanwhile: a
      // unique violation (isSignInRace).
      user = await tx.user.create({
        data: {
          tenantId,
          id: randomUUID(),
          subject,
          email,
          displayName,
          roles: [],
          grantedRoles: [],
        },
      });
      await enqueueRelationships(tx, tenantId, userTuples(tenantId, user).map(touch));
      await appendAuditEvents(tx, tenantId, [
        event(identity, request, user.id, 'user.provision', 'just-in-time provisioning', {
          subject: { before: null, after: subject },
          displayName: { before: null, after: displayName },
        }),
      ]);
      break;
    }
    case 'map':
      user = await tx.user.findFirst({ where: { tenantId, id: plan.userId } });
      break;
  }
  if (!user || identity.groups === null) return user;
  return mapGroups(tx, identity, user.id, identity.groups, request);
}

/**
 * Maps the groups to roles and team memberships and applies the difference, with the
 * account's row locked. The last active admin keeps ADMIN even if their groups no longer
 * map to it (the organisation never loses its last admin; the event says so).
 */
async function mapGroups(
  tx: TenantTx,
  identity: SignInIdentity,
  userId: string,
  groups: readonly string[],
  request: SignInRequest,
): Promise<User | null> {
  const { tenantId } = identity;
  // The lock order of every change of roles: the admins first (userRoles.lockAdmins).
  const admins = await lockAdmins(tx, tenantId);
  await tx.$queryRawUnsafe(
    'select 1 from users where tenant_id = $1::uuid and id = $2::uuid for update',
    tenantId,
    userId,
  );
  const before = await tx.user.findFirst({ where: { tenantId, id: userId } });
  if (!before || before.deactivatedAt) return before;
  const mapping = await readRoleMapping(tx, tenantId);
  const fingerprint = groupsFingerprint(mapping.version, groups);
  if (fingerprint === before.groupsFingerprint) return before;
  const access = mappedAccess(mapping.rules, groups);
  const reasons: string[] = [];
  let mapped: OrgRole[] = access.roles;
  let roles = effectiveRoles(before.grantedRoles, mapped);
  if (before.roles.includes('ADMIN') && !roles.includes('ADMIN')) {
    try {
      ensureAnotherAdmin(admins, userId);
    } catch {
      mapped = [...mapped, 'ADMIN'];
      roles = effectiveRoles(before.grantedRoles, mapped);
      reasons.push('kept ADMIN: the last active admin of the organisation');
    }
  }
  const after = await tx.user.update({
    where: { tenantId_id: { tenantId, id: userId } },
    data: { mappedRoles: mapped, roles, groupsFingerprint: fingerprint },
  });
  await enqueueRoleChanges(tx, tenantId, userId, before.roles, roles);
  const teamChanges = await mapTeams(tx, tenantId, userId, access.teams);

  const changes: Record<string, { before: unknown; after: unknown }> = {};
  if (JSON.stringify(before.roles) !== JSON.stringify(roles)) {
    changes['roles'] = { before: before.roles, after: roles };
  }
  if (teamChanges.length > 0) changes['teams'] = { before: null, after: teamChanges };
  // (Also when a rule kept something the groups no longer give: the event says why.)
  if (Object.keys(changes).length > 0 || reasons.length > 0) {
    await appendAuditEvents(tx, tenantId, [
      event(
        identity,
        request,
        userId,
        'user.groups_map',
        ['identity-provider groups mapped', ...reasons].join('; '),
        Object.fromEntries(
          Object.entries(changes).map(([k, v]) => [
            k,
            { before: jsonOf(v.before), after: jsonOf(v.after) },
          ]),
        ),
      ),
    ]);
  }
  return after;
}

/**
 * Team memberships from the mapping: the ones it made (`viaGroups`) follow `wanted`; a
 * manual membership is left as it is. Returns what changed, as `<team>: <before> → <after>`.
 */
async function mapTeams(
  tx: TenantTx,
  tenantId: string,
  userId: string,
  wanted: ReadonlyMap<string, 'MEMBER' | 'MAINTAINER'>,
): Promise<string[]> {
  const current = await tx.teamMembership.findMany({ where: { tenantId, userId } });
  const changes: string[] = [];
  const relationships = [];
  for (const m of current) {
    if (!m.viaGroups) continue;
    const role = wanted.get(m.teamId);
    if (role === m.role) continue;
    relationships.push(remove(membershipTuple(tenantId, m)));
    if (role) {
      await tx.teamMembership.update({
        where: { tenantId_teamId_userId: { tenantId, teamId: m.teamId, userId } },
        data: { role },
      });
      relationships.push(touch(membershipTuple(tenantId, { teamId: m.teamId, userId, role })));
    } else {
      await tx.teamMembership.deleteMany({ where: { tenantId, teamId: m.teamId, userId } });
    }
    changes.push(`${m.teamId}: ${m.role} → ${role ?? 'none'}`);
  }
  for (const [teamId, role] of wanted) {
    if (current.some((m) => m.teamId === teamId)) continue;
    await tx.teamMembership.create({ data: { tenantId, teamId, userId, role, viaGroups: true } });
    relationships.push(touch(membershipTuple(tenantId, { teamId, userId, role })));
    changes.push(`${teamId}: none → ${role}`);
  }
  if (relationships.length > 0) await enqueueRelationships(tx, tenantId, relationships);
  return changes;
}
