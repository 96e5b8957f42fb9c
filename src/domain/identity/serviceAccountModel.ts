/**
 * What of service accounts and API keys the API may read: every column but a key's hash
 * (which only the verifier's lookup reads, src/data/ApiKeyLookup.ts). The key itself is
 * never stored; it exists once, in the answer of the mutation that made it.
 */
import type { ApiKey, ServiceAccount } from '../../generated/prisma/client.js';

export type ServiceAccountModel = ServiceAccount;

/** A key without its hash. */
export type ApiKeyModel = Omit<ApiKey, 'hash'>;

/** A key just made (createApiKey, rotateApiKey): its row and, this once, the key. */
export interface CreatedApiKeyModel {
  readonly apiKey: ApiKeyModel;
  readonly key: string;
}

export const SERVICE_ACCOUNT_COLUMNS = {
  tenantId: true,
  id: true,
  name: true,
  description: true,
  active: true,
  createdAt: true,
  deactivatedAt: true,
  roles: true,
} as const satisfies Record<keyof ServiceAccountModel, true>;

/** The columns of a key that may be read: all but `hash`. */
export const API_KEY_COLUMNS = {
  tenantId: true,
  id: true,
  serviceAccountId: true,
  lastFour: true,
  scopes: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  replaces: true,
} as const satisfies Record<keyof ApiKeyModel, true>;
