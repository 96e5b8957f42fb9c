/**
 * Reads the credentials of one HTTP request or WebSocket connection. No credentials is
 * anonymous (only `@public` fields and, when enabled, introspection answer); credentials
 * that fail verification are rejected as a whole request (HTTP 401), never downgraded to
 * anonymous.
 */
import type { Principal } from './Principal.js';
import { AuthenticationError, type TokenVerifier } from './TokenVerifier.js';

export type Authentication =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'authenticated'; readonly principal: Principal }
  | { readonly kind: 'rejected'; readonly reason: string };

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)[ ]*$/i;

export async function authenticate(
  verifier: TokenVerifier,
  authorization: string | undefined,
): Promise<Authentication> {
  if (authorization === undefined || authorization.trim() === '') return { kind: 'anonymous' };
  const match = BEARER.exec(authorization);
  if (!match?.[1]) return { kind: 'rejected', reason: 'malformed_authorization_header' };
  try {
    return { kind: 'authenticated', principal: await verifier.verify(match[1]) };
  } catch (error) {
    if (error instanceof AuthenticationError) return { kind: 'rejected', reason: error.reason };
    throw error;
  }
}
