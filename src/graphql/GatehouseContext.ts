/** The per-operation context every resolver receives. Immutable after creation. */
import type { AuthorizationContext } from '../authz/AuthorizationContext.js';
import type { PolicyData } from '../authz/opa/PolicyData.js';
import type { AuditSigner } from '../audit/AuditCheckpoint.js';
import type { AuditFeed } from '../audit/AuditFeed.js';
import type { SecretBox } from '../domain/secretBox.js';
import type { RequestData } from './RequestData.js';

export interface GatehouseContext extends AuthorizationContext {
  /** Data access (and the audit log) in the caller's tenant; null for anonymous callers. */
  readonly data: RequestData | null;
  /** Seals and opens credential secrets. */
  readonly secrets: SecretBox;
  /** The HMAC key of API key hashes (API_KEY_PEPPER): createApiKey and rotateApiKey hash with it. */
  readonly apiKeyPepper: Uint8Array;
  /** Gate-3 data; told when this process changes a tenant's policy settings. */
  readonly policyData: PolicyData;
  /** Signs audit checkpoints (gate 5). */
  readonly auditSigner: AuditSigner;
  /** The live audit feed of this instance. */
  readonly auditFeed: AuditFeed;
}
