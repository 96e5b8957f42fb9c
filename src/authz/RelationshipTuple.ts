/**
 * A relationship as Gatehouse stores it in the outbox and writes it to SpiceDB, and the
 * mapping from domain rows to relationships. PostgreSQL is the source of truth; SpiceDB
 * holds exactly these tuples.
 */
import type { OrgRole, ShareRole, TeamRole } from '../generated/prisma/enums.js';
import { objectId, organizationId } from './objectIds.js';

export interface RelationshipTuple {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly relation: string;
  readonly subjectType: string;
  readonly subjectId: string;
  /** Empty for a direct subject. */
  readonly subjectRelation: string;
}

const ORG_RELATION: Readonly<Record<OrgRole, string>> = {
  ADMIN: 'admin',
  MEMBER: 'member',
  VP: 'vice_president',
  AUDITOR: 'auditor',
};
const TEAM_RELATION: Readonly<Record<TeamRole, string>> = {
  MEMBER: 'member',
  MAINTAINER: 'maintainer',
};
const SHARE_RELATION: Readonly<Record<ShareRole, string>> = {
  VIEWER: 'viewer',
  EDITOR: 'editor',
  APPROVER: 'approver',
};

function tuple(
  resourceType: string,
  resourceId: string,
  relation: string,
  subjectType: string,
  subjectId: string,
): RelationshipTuple {
  return { resourceType, resourceId, relation, subjectType, subjectId, subjectRelation: '' };
}

export function userTuples(
  tenantId: string,
  user: { id: string; roles: readonly OrgRole[] },
): RelationshipTuple[] {
  const uid = objectId(tenantId, user.id);
  const org = organizationId(tenantId);
  return [
    tuple('user', uid, 'self', 'user', uid),
    tuple('user', uid, 'organization', 'organization', org),
    ...userRoleTuples(tenantId, user.id, user.roles),
  ];
}

/** The organisation role relations of a user, one per role. */
export function userRoleTuples(
  tenantId: string,
  userId: string,
  roles: readonly OrgRole[],
): RelationshipTuple[] {
  const uid = objectId(tenantId, userId);
  const org = organizationId(tenantId);
  return roles.map((role) => tuple('organization', org, ORG_RELATION[role], 'user', uid));
}

/** The roles a service account may hold (never ADMIN: see policies/authz.zed). */
export const SERVICE_ACCOUNT_ROLES: readonly OrgRole[] = ['MEMBER', 'VP', 'AUDITOR'];

/**
 * A service account's relationships: `service_account:<tenant>/<id>` in its organisation,
 * and one organisation role relation per role (ADMIN is refused before this; it has no
 * relation a service account may hold).
 */
export function serviceAccountTuples(
  tenantId: string,
  account: { id: string; roles: readonly OrgRole[] },
): RelationshipTuple[] {
  const sid = objectId(tenantId, account.id);
  const org = organizationId(tenantId);
  return [
    tuple('service_account', sid, 'organization', 'organization', org),
    ...serviceAccountRoleTuples(tenantId, account.id, account.roles),
  ];
}

/** The organisation role relations of a service account, one per role. */
export function serviceAccountRoleTuples(
  tenantId: string,
  accountId: string,
  roles: readonly OrgRole[],
): RelationshipTuple[] {
  const sid = objectId(tenantId, accountId);
  const org = organizationId(tenantId);
  return roles
    .filter((role) => SERVICE_ACCOUNT_ROLES.includes(role))
    .map((role) => tuple('organization', org, ORG_RELATION[role], 'service_account', sid));
}

export function teamTuples(tenantId: string, team: { id: string }): RelationshipTuple[] {
  return [
    tuple(
      'team',
      objectId(tenantId, team.id),
      'organization',
      'organization',
      organizationId(tenantId),
    ),
  ];
}

export function membershipTuple(
  tenantId: string,
  m: { teamId: string; userId: string; role: TeamRole },
): RelationshipTuple {
  return tuple(
    'team',
    objectId(tenantId, m.teamId),
    TEAM_RELATION[m.role],
    'user',
    objectId(tenantId, m.userId),
  );
}

/** A service account as a member of a team (members only: see policies/authz.zed). */
export function serviceAccountMembershipTuple(
  tenantId: string,
  m: { teamId: string; serviceAccountId: string },
): RelationshipTuple {
  return tuple(
    'team',
    objectId(tenantId, m.teamId),
    'member',
    'service_account',
    objectId(tenantId, m.serviceAccountId),
  );
}

export function workflowTuples(
  tenantId: string,
  wf: { id: string; ownerId: string; teamId: string | null },
): RelationshipTuple[] {
  const id = objectId(tenantId, wf.id);
  return [
    tuple('workflow', id, 'organization', 'organization', organizationId(tenantId)),
    tuple('workflow', id, 'owner', 'user', objectId(tenantId, wf.ownerId)),
    ...(wf.teamId ? [tuple('workflow', id, 'team', 'team', objectId(tenantId, wf.teamId))] : []),
  ];
}

export function workflowTeamTuple(
  tenantId: string,
  workflowId: string,
  teamId: string,
): RelationshipTuple {
  return tuple(
    'workflow',
    objectId(tenantId, workflowId),
    'team',
    'team',
    objectId(tenantId, teamId),
  );
}

export function shareTuple(
  tenantId: string,
  s: { workflowId: string; userId: string; role: ShareRole },
): RelationshipTuple {
  return tuple(
    'workflow',
    objectId(tenantId, s.workflowId),
    SHARE_RELATION[s.role],
    'user',
    objectId(tenantId, s.userId),
  );
}

export function credentialTuples(
  tenantId: string,
  c: { id: string; ownerId: string },
): RelationshipTuple[] {
  const id = objectId(tenantId, c.id);
  return [
    tuple('credential', id, 'organization', 'organization', organizationId(tenantId)),
    tuple('credential', id, 'owner', 'user', objectId(tenantId, c.ownerId)),
  ];
}

/** Stable identity of a tuple, for collapsing several updates of one relationship. */
export function tupleKey(t: RelationshipTuple): string {
  return `${t.resourceType}:${t.resourceId}#${t.relation}@${t.subjectType}:${t.subjectId}#${t.subjectRelation}`;
}
