/**
 * What the generated rules read of the per-operation context. The GraphQL context
 * (graphql/GatehouseContext) extends it; authorization declares only what it uses.
 */
import type { Principal } from '../authn/Principal.js';
import type { Logger } from '../observability/logger.js';
import type { RequestAuthorizer } from './RequestAuthorizer.js';

export interface AuthorizationContext {
  readonly requestId: string;
  /** The peer address of the HTTP request or WebSocket connection (policy context). */
  readonly clientIp: string;
  /** Null for anonymous callers (only `@public` fields answer them). */
  readonly principal: Principal | null;
  /** Gates 2 and 3 for this operation. */
  readonly authz: RequestAuthorizer;
  readonly logger: Logger;
}
