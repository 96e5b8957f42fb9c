/**
 * Service accounts and their API keys (identity administration, issue 12), each change
 * inside the caller's tenant transaction. Every lookup goes through RLS and names the
 * tenant, so another tenant's account or key id behaves exactly like one that does not
 * exist (NOT_FOUND), by the same code path.
 *
 * A key is generated here (authn/apiKeys.ts) and only HMAC-SHA256(pepper, key) is stored;
 * the key itself is returned once, to the mutation's caller, and is never in a row, a log
 * or an audit event (the events say that a key was made, `REDACTED`).
 *
 * An account's organisation roles (never ADMIN) are relationships of its SpiceDB subject
 * `service_account:<tenant>/<id>`, written through the outbox in the transaction that
 * changes them (setServiceAccountRoles; deactivation deletes them), so the next request
 * is decided on them (read-after-write, as for users).
 */
import { randomUUID } from 'node:crypto';
import { generateApiKey, hashApiKey } from '../../authn/apiKeys.js';
import type { TenantTx } from '../../data/TenantDatabase.js';
import type { OrgRole } from '../../generated/prisma/enums.js';
import { enqueueRelationships, remove, touch } from '../../authz/outbox/RelationshipOutbox.js';
import {
  SERVICE_ACCOUNT_ROLES,
  serviceAccountMembershipTuple,
  serviceAccountRoleTuples,
  serviceAccountTuples,
} from '../../authz/RelationshipTuple.js';
import { badUserInput, conflict, notFound } from '../../errors/clientErrors.js';
import { diff, REDACTED, type Changed } from '../Changed.js';
import { requireId, requireText } from '../inputValidation.js';
import {
  API_KEY_COLUMNS,
  SERVICE_ACCOUNT_COLUMNS,
  type ApiKeyModel,
  type CreatedApiKeyModel,
  type ServiceAccountModel,
} from './serviceAccountModel.js';
import type { Actor } from '../workflowCommands.js';
import { isUniqueViolation } from '../uniqueViolation.js';

/** Most scopes on one key. */
export const MAX_SCOPES = 32;
/** Longest scope, in characters. */
export const MAX_SCOPE_LENGTH = 100;
/** A scope: a lower-case name, then `:`-separated parts (`workflows:read`, `audit:*`). */
const SCOPE = /^[a-z][a-z0-9_-]*(:[a-z0-9_*-]+)*$/;
/** Furthest a key's expiry may lie ahead: 365 days. */
export const MAX_API_KEY_LIFETIME_MS = 365 * 24 * 60 * 60 * 1000;
/** How long a rotated key keeps working by default: 7 days. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 7 * 24 * 60 * 60;
/** Longest rotation overlap: 30 days. */
export const MAX_ROTATION_OVERLAP_SECONDS = 30 * 24 * 60 * 60;
/** A key's public id (`api_keys.id`). */
const API_KEY_ID = /^[0-9a-f]{24}$/i;

export interface ServiceAccountDraft {
  readonly name: string;
  readonly description?: string | null | undefined;
}

export interface ApiKeyDraft {
  readonly serviceAccountId: string;
  readonly scopes: readonly string[];
  readonly expiresAt?: Date | null | undefined;
}

/** A key's public id. The message never repeats the value (it may be a whole key, pasted). */
function requireApiKeyId(value: string, field: string): string {
  if (!API_KEY_ID.test(value)) {
    throw badUserInput(
      `${field} must be an API key id (the 24 hex characters after ghk_, not the key)`,
      { field },
    );
  }
  return value.toLowerCase();
}

/**
 * 1 to {@link MAX_SCOPES} scopes, each matching {@link SCOPE} and at most
 * {@link MAX_SCOPE_LENGTH} characters; duplicates are dropped (first one kept). Messages
 * name the position, never the value.
 */
export function requireScopes(scopes: readonly string[]): string[] {
  if (scopes.length < 1 || scopes.length > MAX_SCOPES) {
    throw badUserInput(`scopes must hold 1 to ${MAX_SCOPES} scopes`, { field: 'scopes' });
  }
  scopes.forEach((scope, i) => {
    if (scope.length > MAX_SCOPE_LENGTH || !SCOPE.test(scope)) {
      throw badUserInput(
        `scopes[${i}] is not a scope: lower-case name and \`:\`-separated parts (e.g. workflows:read), at most ${MAX_SCOPE_LENGTH} characters`,
        { field: 'scopes' },
      );
    }
  });
  return [...new Set(scopes)];
}

/** An expiry in the future and at most {@link MAX_API_KEY_LIFETIME_MS} ahead, or null. */
function requireExpiry(expiresAt: Date | null | undefined, now: Date): Date | null {
  if (expiresAt === null || expiresAt === undefined) return null;
  if (expiresAt.getTime() <= now.getTime()) {
    throw badUserInput('expiresAt must be in the future', { field: 'expiresAt' });
  }
  if (expiresAt.getTime() > now.getTime() + MAX_API_KEY_LIFETIME_MS) {
    throw badUserInput('expiresAt must be at most 365 days ahead', { field: 'expiresAt' });
  }
  return expiresAt;
}

function requireOverlap(seconds: number | null | undefined): number {
  if (
    typeof seconds !== 'number' ||
    !Number.isInteger(seconds) ||
    seconds < 0 ||
    seconds > MAX_ROTATION_OVERLAP_SECONDS
  ) {
    throw badUserInput(`overlapSeconds must be 0 to ${MAX_ROTATION_OVERLAP_SECONDS}`, {
      field: 'overlapSeconds',
    });
  }
  return seconds;
}

/**
 * The row of an account, locked until the transaction ends: two role changes of one account
 * are serialised, so each one's relationship changes start from what the other committed.
 */
async function lockAccount(tx: TenantTx, tenantId: string, id: string): Promise<void> {
  await tx.$queryRawUnsafe(
    'select 1 from service_accounts where tenant_id = $1::uuid and id = $2::uuid for update',
    tenantId,
    id,
  );
}

/**
 * The roles a service account may hold, duplicates dropped (first kept): ADMIN is refused
 * (BAD_USER_INPUT), as an admin key could manage keys and grant itself roles.
 */
export function requireServiceAccountRoles(roles: readonly OrgRole[]): OrgRole[] {
  for (const role of roles) {
    if (!SERVICE_ACCOUNT_ROLES.includes(role)) {
      throw badUserInput(
        `roles: a service account may hold ${SERVICE_ACCOUNT_ROLES.join(', ')}, never ${role}`,
        { field: 'roles' },
      );
    }
  }
  return [...new Set(roles)];
}

async function findAccount(tx: TenantTx, tenantId: string, id: string) {
  const account = await tx.serviceAccount.findFirst({
    where: { tenantId, id },
    select: SERVICE_ACCOUNT_COLUMNS,
  });
  if (!account) throw notFound('Service account');
  return account;
}

async function findKey(tx: TenantTx, tenantId: string, id: string): Promise<ApiKeyModel> {
  const key = await tx.apiKey.findFirst({ where: { tenantId, id }, select: API_KEY_COLUMNS });
  if (!key) throw notFound('API key');
  return key;
}

/** Generates a key for `account` and stores its hash; the key is only in the result. */
async function insertKey(
  tx: TenantTx,
  pepper: Uint8Array,
  fields: {
    tenantId: string;
    serviceAccountId: string;
    scopes: readonly string[];
    expiresAt: Date | null;
    replaces: string | null;
  },
): Promise<CreatedApiKeyModel> {
  const generated = generateApiKey();
  const apiKey = await tx.apiKey.create({
    data: {
      tenantId: fields.tenantId,
      id: generated.id,
      serviceAccountId: fields.serviceAccountId,
      hash: new Uint8Array(hashApiKey(pepper, generated.key)),
      lastFour: generated.lastFour,
      scopes: [...fields.scopes],
      expiresAt: fields.expiresAt,
      replaces: fields.replaces,
    },
    select: API_KEY_COLUMNS,
  });
  return { apiKey, key: generated.key };
}

/** The fields of a service account an audit event shows. */
const ACCOUNT_AUDITED: ReadonlyArray<keyof ServiceAccountModel> = [
  'name',
  'description',
  'active',
  'deactivatedAt',
];

export async function createServiceAccount(
  tx: TenantTx,
  actor: Actor,
  input: ServiceAccountDraft,
): Promise<Changed<ServiceAccountModel>> {
  const name = requireText(input.name, 'name', { min: 1, max: 200 });
  const description =
    requireText(input.description ?? '', 'description', { min: 0, max: 2_000 }) || null;
  const clash = await tx.serviceAccount.findFirst({
    where: { tenantId: actor.tenantId, name },
    select: { id: true },
  });
  if (clash) throw conflict('A service account with this name already exists');
  let account: ServiceAccountModel;
  try {
    account = await tx.serviceAccount.create({
      data: { tenantId: actor.tenantId, id: randomUUID(), name, description },
      select: SERVICE_ACCOUNT_COLUMNS,
    });
  } catch (error) {
    // A concurrent create with the same name got there first.
    if (isUniqueViolation(error)) throw conflict('A service account with this name already exists');
    throw error;
  }
  return {
    value: account,
    resource: { type: 'service_account', id: account.id },
    changes: diff(null, account, ACCOUNT_AUDITED),
  };
}

/**
 * Deactivates an account: every key of it is refused from the next request (the key
 * lookup reads `active`). Idempotent: an inactive account is returned as it is.
 */
export async function deactivateServiceAccount(
  tx: TenantTx,
  actor: Actor,
  id: string,
): Promise<Changed<ServiceAccountModel>> {
  const accountId = requireId(id, 'id');
  const before = await findAccount(tx, actor.tenantId, accountId);
  const [updated] = await tx.serviceAccount.updateManyAndReturn({
    where: { tenantId: actor.tenantId, id: accountId, active: true },
    data: { active: false, deactivatedAt: new Date() },
    select: SERVICE_ACCOUNT_COLUMNS,
  });
  // Already inactive (or deactivated concurrently): nothing changes.
  const after = updated ?? (await findAccount(tx, actor.tenantId, accountId));
  if (updated) {
    // Its relationships go with it (the row keeps its roles and teams, as a record of what
    // it held): the update locked the row, so these are what a concurrent change committed.
    const teams = await tx.serviceAccountTeamMembership.findMany({
      where: { tenantId: actor.tenantId, serviceAccountId: accountId },
      select: { teamId: true, serviceAccountId: true },
    });
    await enqueueRelationships(tx, actor.tenantId, [
      ...serviceAccountTuples(actor.tenantId, updated).map(remove),
      ...teams.map((m) => remove(serviceAccountMembershipTuple(actor.tenantId, m))),
    ]);
  }
  return {
    value: after,
    resource: { type: 'service_account', id: accountId },
    changes: diff(before, after, ACCOUNT_AUDITED),
  };
}

/**
 * Sets an active account's organisation roles (MEMBER, VP, AUDITOR; [] for none): the new
 * role relations are TOUCHed and the removed ones DELETEd through the outbox, in this
 * transaction. CONFLICT for a deactivated account (its relationships are gone with it).
 */
export async function setServiceAccountRoles(
  tx: TenantTx,
  actor: Actor,
  id: string,
  roles: readonly OrgRole[],
): Promise<Changed<ServiceAccountModel>> {
  const accountId = requireId(id, 'id');
  const wanted = requireServiceAccountRoles(roles);
  await lockAccount(tx, actor.tenantId, accountId);
  const before = await findAccount(tx, actor.tenantId, accountId);
  if (!before.active) throw conflict('The service account is deactivated');
  const after = await tx.serviceAccount.update({
    where: { tenantId_id: { tenantId: actor.tenantId, id: accountId } },
    data: { roles: wanted },
    select: SERVICE_ACCOUNT_COLUMNS,
  });
  const removed = before.roles.filter((r) => !wanted.includes(r));
  await enqueueRelationships(tx, actor.tenantId, [
    // The account's organisation relation with its roles (TOUCH: idempotent).
    ...serviceAccountTuples(actor.tenantId, after).map(touch),
    ...serviceAccountRoleTuples(actor.tenantId, accountId, removed).map(remove),
  ]);
  return {
    value: after,
    resource: { type: 'service_account', id: accountId },
    changes: diff(before, after, ['roles']),
  };
}

export async function createApiKey(
  tx: TenantTx,
  actor: Actor,
  pepper: Uint8Array,
  input: ApiKeyDraft,
): Promise<Changed<CreatedApiKeyModel>> {
  const serviceAccountId = requireId(input.serviceAccountId, 'serviceAccountId');
  const scopes = requireScopes(input.scopes);
  const expiresAt = requireExpiry(input.expiresAt, new Date());
  const account = await findAccount(tx, actor.tenantId, serviceAccountId);
  if (!account.active) throw conflict('The service account is deactivated');
  const created = await insertKey(tx, pepper, {
    tenantId: actor.tenantId,
    serviceAccountId,
    scopes,
    expiresAt,
    replaces: null,
  });
  return {
    value: created,
    resource: { type: 'api_key', id: created.apiKey.id },
    changes: {
      ...diff(null, created.apiKey, ['serviceAccountId', 'scopes', 'expiresAt']),
      key: { before: null, after: REDACTED },
    },
  };
}

/**
 * A new key for the same account and scopes (`replaces` = the old key's id), and the old
 * key's expiry brought forward to now + `overlapSeconds` (never extended past the expiry it
 * had; 0: at once). The new key has the lifetime the old one was created with (none when it
 * had none), at most 365 days. A revoked or expired key, or one of a deactivated account,
 * is not rotated (CONFLICT): create a new key instead.
 */
export async function rotateApiKey(
  tx: TenantTx,
  actor: Actor,
  pepper: Uint8Array,
  id: string,
  overlapSeconds: number | null | undefined,
): Promise<Changed<CreatedApiKeyModel>> {
  const keyId = requireApiKeyId(id, 'id');
  const overlap = requireOverlap(overlapSeconds);
  const now = new Date();
  const old = await findKey(tx, actor.tenantId, keyId);
  if (old.revokedAt !== null) throw conflict('The API key is revoked: create a new one');
  if (old.expiresAt !== null && old.expiresAt.getTime() <= now.getTime()) {
    throw conflict('The API key has expired: create a new one');
  }
  const account = await findAccount(tx, actor.tenantId, old.serviceAccountId);
  if (!account.active) throw conflict('The service account is deactivated');

  const overlapEnd = new Date(now.getTime() + overlap * 1000);
  const oldExpiresAt =
    old.expiresAt !== null && old.expiresAt.getTime() < overlapEnd.getTime()
      ? old.expiresAt
      : overlapEnd;
  // Compare-and-set: a concurrent rotation or revocation of the same key makes this one fail.
  const { count } = await tx.apiKey.updateMany({
    where: { tenantId: actor.tenantId, id: keyId, revokedAt: null, expiresAt: old.expiresAt },
    data: { expiresAt: oldExpiresAt },
  });
  if (count !== 1) throw conflict('The API key changed meanwhile: try again');

  const lifetime =
    old.expiresAt === null
      ? null
      : Math.min(old.expiresAt.getTime() - old.createdAt.getTime(), MAX_API_KEY_LIFETIME_MS);
  const created = await insertKey(tx, pepper, {
    tenantId: actor.tenantId,
    serviceAccountId: old.serviceAccountId,
    scopes: old.scopes,
    expiresAt: lifetime === null ? null : new Date(now.getTime() + lifetime),
    replaces: keyId,
  });
  return {
    value: created,
    resource: { type: 'api_key', id: keyId },
    changes: {
      ...diff(old, { ...old, expiresAt: oldExpiresAt }, ['expiresAt']),
      replacedBy: { before: null, after: created.apiKey.id },
      key: { before: REDACTED, after: REDACTED },
    },
  };
}

/** Revokes a key from the next request on. Idempotent: a revoked key keeps its revocation time. */
export async function revokeApiKey(
  tx: TenantTx,
  actor: Actor,
  id: string,
): Promise<Changed<ApiKeyModel>> {
  const keyId = requireApiKeyId(id, 'id');
  const before = await findKey(tx, actor.tenantId, keyId);
  const [updated] = await tx.apiKey.updateManyAndReturn({
    where: { tenantId: actor.tenantId, id: keyId, revokedAt: null },
    data: { revokedAt: new Date() },
    select: API_KEY_COLUMNS,
  });
  const after = updated ?? (await findKey(tx, actor.tenantId, keyId));
  return {
    value: after,
    resource: { type: 'api_key', id: keyId },
    changes: diff(before, after, ['revokedAt']),
  };
}

/**
 * Makes an active account a member of a team: its keys then see what the team's members
 * see (policies/authz.zed `team#member`). Idempotent. NOT_FOUND for an account or team not
 * of this organisation; CONFLICT for a deactivated account.
 */
export function addServiceAccountToTeam(
  tx: TenantTx,
  actor: Actor,
  id: string,
  teamId: string,
): Promise<Changed<ServiceAccountModel>> {
  return changeTeamMembership(tx, actor, id, teamId, true);
}

/** Removes an account from a team. Idempotent (not a member: nothing changes). */
export function removeServiceAccountFromTeam(
  tx: TenantTx,
  actor: Actor,
  id: string,
  teamId: string,
): Promise<Changed<ServiceAccountModel>> {
  return changeTeamMembership(tx, actor, id, teamId, false);
}

async function changeTeamMembership(
  tx: TenantTx,
  actor: Actor,
  id: string,
  teamId: string,
  member: boolean,
): Promise<Changed<ServiceAccountModel>> {
  const accountId = requireId(id, 'id');
  const team = requireId(teamId, 'teamId');
  await lockAccount(tx, actor.tenantId, accountId);
  const account = await findAccount(tx, actor.tenantId, accountId);
  const row = { tenantId: actor.tenantId, teamId: team, serviceAccountId: accountId };
  let count: number;
  if (member) {
    if (!account.active) throw conflict('The service account is deactivated');
    const exists = await tx.team.findFirst({
      where: { tenantId: actor.tenantId, id: team },
      select: { id: true },
    });
    if (!exists) throw notFound('Team');
    ({ count } = await tx.serviceAccountTeamMembership.createMany({
      data: [row],
      skipDuplicates: true,
    }));
  } else {
    ({ count } = await tx.serviceAccountTeamMembership.deleteMany({ where: row }));
  }
  if (count === 1) {
    const relationship = serviceAccountMembershipTuple(actor.tenantId, row);
    await enqueueRelationships(tx, actor.tenantId, [
      member ? touch(relationship) : remove(relationship),
    ]);
  }
  return {
    value: account,
    resource: { type: 'service_account', id: accountId },
    changes:
      count === 1
        ? { team: member ? { before: null, after: team } : { before: team, after: null } }
        : {},
  };
}
