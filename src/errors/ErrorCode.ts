/**
 * The stable error codes of Gatehouse, carried in `extensions.code`. They are the contract
 * with clients; messages and error classes are not. Request-level codes that Apollo Server
 * itself emits (parse/validation failures, bad requests) are part of the same contract.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  AUTHZ_UNAVAILABLE: 'AUTHZ_UNAVAILABLE',
  /** A restricted value was withheld: its read could not be written to the audit trail. */
  AUDIT_UNAVAILABLE: 'AUDIT_UNAVAILABLE',
  /** A WebSocket connection holds as many subscriptions as it may. */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /** Query limits (HTTP 400, nothing executed): `extensions.limit` and `found` say which. */
  QUERY_TOO_MANY_TOKENS: 'QUERY_TOO_MANY_TOKENS',
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  QUERY_TOO_MANY_ALIASES: 'QUERY_TOO_MANY_ALIASES',
  QUERY_TOO_MANY_DIRECTIVES: 'QUERY_TOO_MANY_DIRECTIVES',
  QUERY_TOO_COSTLY: 'QUERY_TOO_COSTLY',
  /** A subscription sent over HTTP: subscriptions are served over WebSocket. */
  SUBSCRIPTION_REQUIRES_WEBSOCKET: 'SUBSCRIPTION_REQUIRES_WEBSOCKET',
  /**
   * Trusted documents are on (TRUSTED_DOCUMENTS_FILE) and the request sent document text
   * that is not in the manifest, without the scope that allows any document (HTTP 400).
   */
  TRUSTED_DOCUMENT_REQUIRED: 'TRUSTED_DOCUMENT_REQUIRED',
  /** `extensions.persistedQuery.version` is not 1, the only version (HTTP 400). */
  PERSISTED_QUERY_UNSUPPORTED_VERSION: 'PERSISTED_QUERY_UNSUPPORTED_VERSION',
  /** `query` and the hash sent with it (persistedQuery or documentId) disagree (HTTP 400). */
  PERSISTED_QUERY_HASH_MISMATCH: 'PERSISTED_QUERY_HASH_MISMATCH',
  /** An HTTP method the path does not serve (405 with `Allow`). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** A graceful stop has begun: retry on another instance (503). */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // Emitted by Apollo Server before execution.
  BAD_REQUEST: 'BAD_REQUEST',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const known = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && known.has(value);
}
