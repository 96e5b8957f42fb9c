/**
 * Service accounts and API keys for tests, inserted by the owner role inside a tenant
 * transaction: rows the API would not make (an expiry in the past, a chosen hash, an
 * account created inactive). test/e2e/serviceAccounts.test.ts goes through the API.
 */
import { randomUUID } from 'node:crypto';
import { generateApiKey, hashApiKey } from '../../src/authn/apiKeys.js';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { TenantDatabase, type TenantTx } from '../../src/data/TenantDatabase.js';

export interface TestServiceAccount {
  readonly tenantId: string;
  readonly id: string;
}

export interface TestApiKey {
  readonly tenantId: string;
  readonly accountId: string;
  readonly id: string;
  /** The whole key, as its holder sends it. */
  readonly key: string;
}

/** Runs `work` as the owner role in `tenantId`'s tenant transaction. */
export function asTenantOwner<T>(
  db: OpenDatabase,
  tenantId: string,
  work: (tx: TenantTx) => Promise<T>,
): Promise<T> {
  return db.asOwner((_sql, prisma) =>
    new TenantDatabase(prisma, { timeoutMs: 20_000 }).transaction(
      { tenantId, subject: 'test-setup' },
      'write',
      work,
    ),
  );
}

export async function createServiceAccount(
  db: OpenDatabase,
  tenantId: string,
  active = true,
): Promise<TestServiceAccount> {
  const id = randomUUID();
  await asTenantOwner(db, tenantId, (tx) =>
    tx.$executeRawUnsafe(
      `insert into service_accounts (tenant_id, id, name, description, active, deactivated_at)
       values ($1::uuid, $2::uuid, $3, 'test', $4, case when $4 then null else now() end)`,
      tenantId,
      id,
      `svc-${id.slice(0, 8)}`,
      active,
    ),
  );
  return { tenantId, id };
}

export async function createApiKey(
  db: OpenDatabase,
  pepper: Uint8Array,
  account: TestServiceAccount,
  fields: {
    readonly expiresAt?: Date;
    readonly revokedAt?: Date;
    readonly hash?: Uint8Array;
    readonly scopes?: readonly string[];
  } = {},
): Promise<TestApiKey> {
  const { key, id, lastFour } = generateApiKey();
  await asTenantOwner(db, account.tenantId, (tx) =>
    tx.$executeRawUnsafe(
      `insert into api_keys (tenant_id, id, service_account_id, hash, last_four, scopes, expires_at, revoked_at)
       values ($1::uuid, $2, $3::uuid, $4, $5, $6::text[], $7::timestamptz, $8::timestamptz)`,
      account.tenantId,
      id,
      account.id,
      fields.hash ?? hashApiKey(pepper, key),
      lastFour,
      [...(fields.scopes ?? [])],
      fields.expiresAt ?? null,
      fields.revokedAt ?? null,
    ),
  );
  return { tenantId: account.tenantId, accountId: account.id, id, key };
}

/** Revokes `key` now (as the revokeApiKey mutation does). */
export async function revokeApiKey(db: OpenDatabase, key: TestApiKey): Promise<void> {
  await asTenantOwner(db, key.tenantId, (tx) =>
    tx.$executeRawUnsafe('update api_keys set revoked_at = now() where id = $1', key.id),
  );
}
