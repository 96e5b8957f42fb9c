/**
 * The one 401 of the HTTP transport. Whatever refused the request — a credential that is
 * not valid (httpHandler.ts, before GraphQL), or an operation of which nothing could be
 * answered without one (operationPlugin.ts, after it ran: an anonymous caller, a deactivated
 * account) — the body is the same request error,
 * `{ "errors": [{ "message", "extensions": { "code": "UNAUTHENTICATED", "reason" } }] }`:
 * no `data` (the request is refused as a whole, so a GraphQL over HTTP client reads it as
 * it reads any request error) and no `path`. `WWW-Authenticate` (RFC 6750) says whether a
 * credential is missing (`Bearer`) or was refused (`Bearer error="invalid_token"`).
 */
import type { GraphQLError } from 'graphql';
import { unauthenticated } from '../errors/clientErrors.js';
import { UnauthenticatedReason } from '../errors/UnauthenticatedReason.js';

export interface Unauthorized {
  readonly error: GraphQLError;
  readonly wwwAuthenticate: string;
}

export function unauthorized(reason: UnauthenticatedReason): Unauthorized {
  return {
    error: unauthenticated(reason),
    wwwAuthenticate:
      reason === UnauthenticatedReason.CREDENTIALS_REQUIRED
        ? 'Bearer'
        : 'Bearer error="invalid_token"',
  };
}
