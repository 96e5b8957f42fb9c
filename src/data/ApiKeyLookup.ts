/**
 * The API key verifier's way to the stored keys (authn/ApiKeyVerifier.ts): the two
 * SECURITY DEFINER functions of the service accounts migration, called as the app role,
 * which may execute them and nothing else that reaches a key outside a tenant
 * transaction. No tenant is set: the key says which tenant it belongs to.
 *
 * On PostgreSQL the connection is already the app role and each call is one statement. On
 * the embedded database the connection is PGlite's superuser, so each call is a short
 * transaction that first switches to the app role (`SET LOCAL ROLE`), as TenantDatabase
 * does, and the grants apply exactly as on a real server.
 */
import type { ApiKeyLookup, StoredApiKey } from '../authn/ApiKeyVerifier.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { TenantTx } from './TenantDatabase.js';

export interface DatabaseApiKeyLookupOptions {
  /** Role to assume for each call (embedded database only). */
  readonly assumeRole?: string;
}

interface LookupRow {
  tenant_id: string;
  service_account_id: string;
  hash: Uint8Array;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  account_active: boolean;
}

type Runner = Pick<TenantTx, '$queryRawUnsafe' | '$executeRawUnsafe'>;

export class DatabaseApiKeyLookup implements ApiKeyLookup {
  readonly #prisma: PrismaClient;
  readonly #options: DatabaseApiKeyLookupOptions;

  constructor(prisma: PrismaClient, options: DatabaseApiKeyLookupOptions = {}) {
    this.#prisma = prisma;
    this.#options = options;
  }

  async find(id: string): Promise<StoredApiKey | null> {
    const rows = await this.#run((db) =>
      db.$queryRawUnsafe<LookupRow[]>('select * from api_key_lookup($1)', id),
    );
    const row = rows[0];
    if (!row) return null;
    return {
      tenantId: row.tenant_id,
      serviceAccountId: row.service_account_id,
      hash: new Uint8Array(row.hash),
      scopes: row.scopes,
      expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
      revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
      accountActive: row.account_active,
    };
  }

  async touch(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#run((db) => db.$executeRawUnsafe('select api_keys_touch($1::text[])', [...ids]));
  }

  #run<T>(work: (db: Runner) => Promise<T>): Promise<T> {
    const role = this.#options.assumeRole;
    if (role === undefined) return work(this.#prisma);
    return this.#prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`select set_config('role', $1, true)`, role);
      return work(tx);
    });
  }
}
