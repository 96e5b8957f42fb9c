/**
 * Which workflows a user (or a service account) may view, as SQL. It mirrors `permission view` of
 * policies/authz.zed, because every relationship it uses is also data here (owner, shares,
 * team memberships, organisation roles). Lists are filtered with it so pages fill and
 * `totalCount` counts what can be paged through; SpiceDB still checks every row returned
 * (it wins if the two ever disagree — fail closed). test/integration/listVisibility.test.ts
 * compares it with SpiceDB's LookupResources for every demo user.
 */
import type { Prisma } from '../generated/prisma/client.js';
import type { OrgRole } from '../generated/prisma/enums.js';

/** Organisation roles whose members view every workflow of the organisation. */
const SEES_ALL: readonly OrgRole[] = ['ADMIN', 'VP', 'AUDITOR'];

export function visibleWorkflows(user: {
  kind: 'user' | 'service_account';
  id: string;
  roles: readonly OrgRole[];
}): Prisma.WorkflowWhereInput {
  if (user.roles.some((r) => SEES_ALL.includes(r))) return {};
  // A service account owns and is shared nothing: its teams only.
  if (user.kind === 'service_account') {
    return { team: { serviceAccountMemberships: { some: { serviceAccountId: user.id } } } };
  }
  return {
    OR: [
      { ownerId: user.id },
      { shares: { some: { userId: user.id } } },
      { team: { memberships: { some: { userId: user.id } } } },
    ],
  };
}
