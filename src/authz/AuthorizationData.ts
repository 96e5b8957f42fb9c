/**
 * What gates 2 and 3 need of one operation's tenant data. Declared here, implemented by the
 * layer above (graphql/RequestData), so authorization never imports the GraphQL layer.
 */
import type { TenantSettingsSource } from './opa/PolicyData.js';
import type { RecordedWrites } from './PermissionChecker.js';

/**
 * The caller's account as the gates know it: a user account, or — for a principal of kind
 * `service` (an API key) — its service account. `id` is the account's id in the tenant
 * (its SpiceDB subject is `<kind>:<tenant>/<id>`); `roles` its organisation roles.
 */
export interface CallerAccount {
  readonly kind: 'user' | 'service_account';
  readonly id: string;
  readonly roles: readonly string[];
}

export interface AuthorizationData extends TenantSettingsSource {
  /** The caller's tenant (from the verified principal). */
  readonly tenantId: string;
  /**
   * Mutations committed so far in this operation: what was decided before one is not
   * reused after it (relationships or settings may have changed).
   */
  readonly commits: number;
  /** The caller's user account in the tenant (id and organisation roles), or null. */
  currentUser(): Promise<{ readonly id: string; readonly roles: readonly string[] } | null>;
  /**
   * What gates 2 and 3 decide on: the caller's user account (a user principal), or its
   * active service account (a service principal); null when it has none.
   */
  currentCaller(): Promise<CallerAccount | null>;
  /** The caller's user account exists and an admin deactivated it (never for a service). */
  deactivated(): Promise<boolean>;
  /** What the outbox relay recorded for these objects (read-after-write tokens). */
  recordedWrites(
    objects: ReadonlyArray<{ resourceType: string; resourceId: string }>,
  ): Promise<RecordedWrites>;
  /**
   * The `Node` type (its GraphQL name, e.g. `Workflow`) of the object this id names in the
   * caller's tenant, or null when it names none there (RLS hides other tenants' objects).
   */
  nodeType(id: string): Promise<string | null>;
  /** An object as stored, for a policy's `resource`, or null when it does not exist. */
  policyResource(type: string, id: string): Promise<Record<string, unknown> | null>;
}
