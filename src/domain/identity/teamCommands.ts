/**
 * Teams and their members (identity administration, issue 12). Creating and renaming a
 * team is for organisation admins; its members are managed by the organisation's admins
 * and the team's own maintainers (`manage` on the team, policies/authz.zed) — gate 2
 * decides that before these run, so a maintainer of another team, or an id of another
 * organisation's team, never reaches them.
 *
 * A membership's relation goes through the outbox in the transaction that changes it.
 * Memberships an admin or maintainer sets are manual; the group mapping (signIn.ts) only
 * adds and removes its own (`viaGroups`), so a manual change always wins.
 */
import { randomUUID } from 'node:crypto';
import { enqueueRelationships, remove, touch } from '../../authz/outbox/RelationshipOutbox.js';
import { membershipTuple, teamTuples } from '../../authz/RelationshipTuple.js';
import type { TenantTx } from '../../data/TenantDatabase.js';
import type { Team } from '../../generated/prisma/client.js';
import type { TeamRole } from '../../generated/prisma/enums.js';
import { conflict, notFound } from '../../errors/clientErrors.js';
import { diff, type Changed } from '../Changed.js';
import { requireId, requireText } from '../inputValidation.js';
import type { Actor } from '../workflowCommands.js';
import { isUniqueViolation } from '../uniqueViolation.js';

async function findTeam(tx: TenantTx, tenantId: string, id: string): Promise<Team> {
  const team = await tx.team.findFirst({ where: { tenantId, id } });
  if (!team) throw notFound('Team');
  return team;
}

function requireTeamName(name: string): string {
  return requireText(name, 'name', { min: 1, max: 200 });
}

const TAKEN = 'A team with this name exists in the organisation';

/** A new team with no members. CONFLICT when the name is taken in the organisation. */
export async function createTeam(
  tx: TenantTx,
  actor: Actor,
  input: { readonly name: string },
): Promise<Changed<Team>> {
  const name = requireTeamName(input.name);
  if (
    await tx.team.findFirst({ where: { tenantId: actor.tenantId, name }, select: { id: true } })
  ) {
    throw conflict(TAKEN);
  }
  let team: Team;
  try {
    team = await tx.team.create({ data: { tenantId: actor.tenantId, id: randomUUID(), name } });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(TAKEN);
    throw error;
  }
  await enqueueRelationships(tx, actor.tenantId, teamTuples(actor.tenantId, team).map(touch));
  return {
    value: team,
    resource: { type: 'team', id: team.id },
    changes: diff(null, team, ['name']),
  };
}

export async function renameTeam(
  tx: TenantTx,
  actor: Actor,
  id: string,
  newName: string,
): Promise<Changed<Team>> {
  const teamId = requireId(id, 'id');
  const name = requireTeamName(newName);
  const before = await findTeam(tx, actor.tenantId, teamId);
  let after: Team;
  try {
    after = await tx.team.update({
      where: { tenantId_id: { tenantId: actor.tenantId, id: teamId } },
      data: { name },
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(TAKEN);
    throw error;
  }
  return {
    value: after,
    resource: { type: 'team', id: teamId },
    changes: diff(before, after, ['name']),
  };
}

/**
 * Makes a user `role` of the team (a member already: their role changes, and the
 * membership becomes manual). NOT_FOUND for a user not of this organisation; CONFLICT for
 * a deactivated one.
 */
export async function addTeamMember(
  tx: TenantTx,
  actor: Actor,
  input: { readonly teamId: string; readonly userId: string; readonly role: TeamRole },
): Promise<Changed<Team>> {
  const teamId = requireId(input.teamId, 'teamId');
  const userId = requireId(input.userId, 'userId');
  const team = await findTeam(tx, actor.tenantId, teamId);
  const user = await tx.user.findFirst({
    where: { tenantId: actor.tenantId, id: userId },
    select: { deactivatedAt: true },
  });
  if (!user) throw notFound('User');
  if (user.deactivatedAt) {
    throw conflict('The user is deactivated: reactivate them first', { reason: 'DEACTIVATED' });
  }
  const key = { tenantId_teamId_userId: { tenantId: actor.tenantId, teamId, userId } };
  const before = await tx.teamMembership.findUnique({ where: key });
  await tx.teamMembership.upsert({
    where: key,
    create: { tenantId: actor.tenantId, teamId, userId, role: input.role },
    update: { role: input.role, viaGroups: false },
  });
  await enqueueRelationships(tx, actor.tenantId, [
    ...(before && before.role !== input.role
      ? [remove(membershipTuple(actor.tenantId, before))]
      : []),
    touch(membershipTuple(actor.tenantId, { teamId, userId, role: input.role })),
  ]);
  return {
    value: team,
    resource: { type: 'team', id: teamId },
    changes: {
      member: {
        before: before ? { userId, role: before.role } : null,
        after: { userId, role: input.role },
      },
    },
  };
}

/** Removes a user from the team. Idempotent (not a member: nothing changes). */
export async function removeTeamMember(
  tx: TenantTx,
  actor: Actor,
  input: { readonly teamId: string; readonly userId: string },
): Promise<Changed<Team>> {
  const teamId = requireId(input.teamId, 'teamId');
  const userId = requireId(input.userId, 'userId');
  const team = await findTeam(tx, actor.tenantId, teamId);
  const where = { tenantId: actor.tenantId, teamId, userId };
  const found = await tx.teamMembership.findFirst({ where });
  // (A concurrent removal got there first: nothing left to remove.)
  const removed =
    found && (await tx.teamMembership.deleteMany({ where })).count === 1 ? found : null;
  if (removed) {
    await enqueueRelationships(tx, actor.tenantId, [
      remove(membershipTuple(actor.tenantId, removed)),
    ]);
  }
  return {
    value: team,
    resource: { type: 'team', id: teamId },
    changes: removed ? { member: { before: { userId, role: removed.role }, after: null } } : {},
  };
}
