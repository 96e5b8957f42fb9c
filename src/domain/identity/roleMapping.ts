/**
 * A tenant's mapping from identity-provider groups to organisation roles and team
 * memberships (seeds 001, 003), kept by its admins (`updateRoleMapping` replaces it as a
 * whole and raises its version). What a user's groups map to is applied at their next
 * request (signIn.ts): the version is part of the fingerprint each user row remembers, so
 * a new mapping or a new set of groups is one reconciliation, not one per request.
 */
import { createHash } from 'node:crypto';
import type { TenantTx } from '../../data/TenantDatabase.js';
import type { OrgRole, TeamRole } from '../../generated/prisma/enums.js';
import { badUserInput, notFound } from '../../errors/clientErrors.js';
import type { Changed } from '../Changed.js';
import { requireId, requireText } from '../inputValidation.js';
import { sortedRoles } from './userRoles.js';
import type { Actor } from '../workflowCommands.js';

/** Most rules in one mapping. */
export const MAX_MAPPING_RULES = 500;

/** One rule: members of `group` hold `role`, or are `teamRole` of team `teamId`. */
export interface GroupRule {
  readonly group: string;
  readonly role: OrgRole | null;
  readonly teamId: string | null;
  readonly teamRole: TeamRole | null;
}

export interface RoleMappingModel {
  /** 0: never set. */
  readonly version: number;
  readonly updatedAt: Date | null;
  readonly rules: readonly GroupRule[];
}

/** What a set of groups maps to. */
export interface MappedAccess {
  readonly roles: OrgRole[];
  /** Team id → role (MAINTAINER when two rules give the same team). */
  readonly teams: ReadonlyMap<string, TeamRole>;
}

export interface GroupRuleInput {
  readonly group: string;
  readonly role?: OrgRole | null | undefined;
  readonly teamId?: string | null | undefined;
  readonly teamRole?: TeamRole | null | undefined;
}

/**
 * A fingerprint of the groups a user brought and the mapping version they were mapped
 * with: equal fingerprints, nothing to reconcile. Order and duplicates do not matter.
 */
export function groupsFingerprint(version: number, groups: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(String(version));
  for (const group of [...new Set(groups)].sort()) hash.update('\n').update(group);
  return `v${version}:${hash.digest('base64url')}`;
}

export function mappedAccess(rules: readonly GroupRule[], groups: readonly string[]): MappedAccess {
  const held = new Set(groups);
  const roles: OrgRole[] = [];
  const teams = new Map<string, TeamRole>();
  for (const rule of rules) {
    if (!held.has(rule.group)) continue;
    if (rule.role) roles.push(rule.role);
    if (rule.teamId && rule.teamRole && teams.get(rule.teamId) !== 'MAINTAINER') {
      teams.set(rule.teamId, rule.teamRole);
    }
  }
  return { roles: sortedRoles(roles), teams };
}

/** The tenant's mapping (version 0 and no rules when never set). */
export async function readRoleMapping(tx: TenantTx, tenantId: string): Promise<RoleMappingModel> {
  const version = await tx.roleMappingVersion.findFirst({
    where: { tenantId },
    select: { version: true, updatedAt: true },
  });
  if (!version) return { version: 0, updatedAt: null, rules: [] };
  const rows = await tx.groupMapping.findMany({
    where: { tenantId },
    orderBy: [{ groupName: 'asc' }, { orgRole: 'asc' }, { teamId: 'asc' }],
    select: { groupName: true, orgRole: true, teamId: true, teamRole: true },
  });
  return {
    version: version.version,
    updatedAt: version.updatedAt,
    rules: rows.map((r) => ({
      group: r.groupName,
      role: r.orgRole,
      teamId: r.teamId,
      teamRole: r.teamRole,
    })),
  };
}

/** Validates the rules (messages name the position), duplicates dropped. */
function requireRules(input: readonly GroupRuleInput[]): GroupRule[] {
  if (input.length > MAX_MAPPING_RULES) {
    throw badUserInput(`rules: at most ${MAX_MAPPING_RULES}`, { field: 'rules' });
  }
  const seen = new Set<string>();
  const rules: GroupRule[] = [];
  input.forEach((r, i) => {
    const field = `rules[${i}]`;
    // Group names are compared exactly as the token carries them (Keycloak: "/admins").
    if (r.group.length < 1 || r.group.length > 255) {
      throw badUserInput(`${field}.group must be 1 to 255 characters`, { field });
    }
    requireText(r.group, `${field}.group`, { min: 1, max: 255 });
    const role = r.role ?? null;
    const teamId = r.teamId ? requireId(r.teamId, `${field}.teamId`) : null;
    if ((role === null) === (teamId === null)) {
      throw badUserInput(`${field}: give either role or teamId`, { field });
    }
    if (teamId === null && r.teamRole) {
      throw badUserInput(`${field}: teamRole goes with teamId`, { field });
    }
    const rule: GroupRule = {
      group: r.group,
      role,
      teamId,
      teamRole: teamId ? (r.teamRole ?? 'MEMBER') : null,
    };
    const key = JSON.stringify([rule.group, rule.role, rule.teamId]);
    if (seen.has(key)) {
      // The same group and team twice with two roles: the higher one.
      if (rule.teamRole === 'MAINTAINER') {
        const at = rules.findIndex((x) => x.group === rule.group && x.teamId === rule.teamId);
        rules[at] = rule;
      }
      return;
    }
    seen.add(key);
    rules.push(rule);
  });
  return rules;
}

/**
 * Replaces the tenant's mapping with `rules` (`[]`: none) and raises its version, so each
 * user's groups are mapped again at their next request. A team of another organisation,
 * or none, is NOT_FOUND.
 */
export async function updateRoleMapping(
  tx: TenantTx,
  actor: Actor,
  input: readonly GroupRuleInput[],
): Promise<Changed<RoleMappingModel>> {
  const rules = requireRules(input);
  const teamIds = [...new Set(rules.flatMap((r) => (r.teamId ? [r.teamId] : [])))];
  if (teamIds.length > 0) {
    const found = await tx.team.count({ where: { tenantId: actor.tenantId, id: { in: teamIds } } });
    if (found !== teamIds.length) throw notFound('Team');
  }
  const before = await readRoleMapping(tx, actor.tenantId);
  // The version row, locked: two updates at once are serialised, each one a new version.
  const version = await tx.roleMappingVersion.upsert({
    where: { tenantId: actor.tenantId },
    create: { tenantId: actor.tenantId, version: 1, updatedBy: actor.userId },
    update: { version: { increment: 1 }, updatedAt: new Date(), updatedBy: actor.userId },
  });
  await tx.groupMapping.deleteMany({ where: { tenantId: actor.tenantId } });
  await tx.groupMapping.createMany({
    data: rules.map((r) => ({
      tenantId: actor.tenantId,
      groupName: r.group,
      orgRole: r.role,
      teamId: r.teamId,
      teamRole: r.teamRole,
    })),
  });
  const after = await readRoleMapping(tx, actor.tenantId);
  const summary = (m: RoleMappingModel) =>
    m.rules.map((r) =>
      r.role ? `${r.group} → ${r.role}` : `${r.group} → team ${r.teamId} ${r.teamRole}`,
    );
  return {
    value: after,
    resource: { type: 'role_mapping', id: null },
    changes: {
      version: { before: before.version, after: version.version },
      rules: { before: summary(before), after: summary(after) },
    },
  };
}
