/**
 * Which workflows a user (or a service account) may view, as SQL. It mirrors `permission view` of
 * policies/authz.zed, because every relationship it uses is also data here (owner, shares,
 * team memberships, organisation roles). Lists are filtered with it so pages fill and
 * `totalCount` counts what can be paged through; SpiceDB still checks every row returned
 * (it wins if the two ever disagree — fail closed). test/e2e/listVisibility.test.ts
 * compares it with SpiceDB's LookupResources for every demo user.
 */
import { Prisma } from '../generated/prisma/client.js';
import type { OrgRole } from '../generated/prisma/enums.js';

/** Organisation roles whose members view every workflow of the organisation. */
const SEES_ALL: readonly OrgRole[] = ['ADMIN', 'VP', 'AUDITOR'];

/**
 * The condition on a row of `workflows w` (the alias is part of the contract): true when
 * `user` may view it. The caller's id is a parameter; the subqueries name the row's tenant,
 * so each uses its table's primary key or tenant-first index (RLS applies as well).
 */
export function visibleWorkflows(user: {
  kind: 'user' | 'service_account';
  id: string;
  roles: readonly OrgRole[];
}): Prisma.Sql {
  if (user.roles.some((r) => SEES_ALL.includes(r))) return Prisma.sql`true`;
  // A service account owns and is shared nothing: its teams only.
  if (user.kind === 'service_account') {
    return Prisma.sql`exists (select 1 from service_account_team_memberships m
      where m.tenant_id = w.tenant_id and m.team_id = w.team_id
        and m.service_account_id = ${user.id}::uuid)`;
  }
  return Prisma.sql`(w.owner_id = ${user.id}::uuid
    or exists (select 1 from workflow_shares s
      where s.tenant_id = w.tenant_id and s.workflow_id = w.id and s.user_id = ${user.id}::uuid)
    or exists (select 1 from team_memberships m
      where m.tenant_id = w.tenant_id and m.team_id = w.team_id and m.user_id = ${user.id}::uuid))`;
}
