/** The per-operation context every resolver receives. Immutable after creation. */
import type { Principal } from '../authn/Principal.js';
import type { RequestAuthorizer } from '../authz/RequestAuthorizer.js';
import type { Logger } from '../observability/logger.js';
import type { RequestData } from './RequestData.js';
import type { SecretBox } from '../domain/secretBox.js';
import type { PolicyData } from '../authz/opa/PolicyData.js';

export interface GatehouseContext {
  readonly requestId: string;
  /** The peer address of the HTTP request or WebSocket connection (policy context). */
  readonly clientIp: string;
  /** Null for anonymous callers (only `@public` fields answer them). */
  readonly principal: Principal | null;
  /** Data access in the caller's tenant; null for anonymous callers. */
  readonly data: RequestData | null;
  /** Gates 2 and 3 for this operation. */
  readonly authz: RequestAuthorizer;
  readonly logger: Logger;
  /** Seals and opens credential secrets. */
  readonly secrets: SecretBox;
  /** Gate-3 data; told when this process changes a tenant's policy settings. */
  readonly policyData: PolicyData;
}
