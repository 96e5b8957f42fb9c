/** What every operation is built from: the server's shared services (createGatehouse wires them). */
import type { AuditAppender } from '../audit/appendAuditEvents.js';
import type { AuditGroupCommit } from '../audit/AuditGroupCommit.js';
import type { AuditSigner } from '../audit/AuditCheckpoint.js';
import type { AuditFeed } from '../audit/AuditFeed.js';
import type { AuthorizerFactory, AuthorizerOptions } from '../authz/RequestAuthorizer.js';
import type { PolicyData } from '../authz/opa/PolicyData.js';
import type { TenantDatabase } from '../data/TenantDatabase.js';
import type { SecretBox } from '../domain/secretBox.js';
import type { AuditedFields } from '../graphql/auditedFields.js';
import type { Logger } from '../observability/logger.js';

export interface OperationServices {
  readonly tenants: TenantDatabase;
  /** Gates 2 and 3, shared by every operation's RequestAuthorizer. */
  readonly authorizer: AuthorizerOptions;
  /**
   * Builds each operation's authorizer from `authorizer`: `new RequestAuthorizer` when
   * absent; benchmarks inject their baselines (GatehouseOptions.authorization).
   */
  readonly createAuthorizer?: AuthorizerFactory;
  /** The relationship outbox relay, run after every committed mutation. */
  readonly relay: { drain(): Promise<unknown> };
  /** `@audit` of the served schema. */
  readonly audited: AuditedFields;
  /** Appends audit events (audit/appendAuditEvents; benchmarks inject a baseline). */
  readonly auditAppender: AuditAppender;
  /** Commits what operations leave in the audit trail when they finish, grouped per tenant. */
  readonly auditCommits: AuditGroupCommit;
  readonly secrets: SecretBox;
  /** The HMAC key of API key hashes (API_KEY_PEPPER), for the keys the API makes. */
  readonly apiKeyPepper: Uint8Array;
  readonly policyData: PolicyData;
  readonly auditSigner: AuditSigner;
  readonly auditFeed: AuditFeed;
  readonly logger: Logger;
  /** AUTH_JIT_PROVISIONING: a verified token of an unknown subject creates its account. */
  readonly jitProvisioning: boolean;
}
