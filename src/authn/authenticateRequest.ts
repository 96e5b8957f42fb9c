/**
 * Reads the credentials of one HTTP request or WebSocket connection: `Authorization:
 * Bearer <JWT or API key>`, or `X-API-Key: <API key>` (not both). No credentials is
 * anonymous (only `@public` fields and, when enabled, introspection answer); credentials
 * that fail verification are rejected as a whole request (HTTP 401), never downgraded to
 * anonymous.
 */
import type { CredentialVerifier } from './credentialVerifier.js';
import type { Principal } from './Principal.js';
import { AuthenticationError } from './TokenVerifier.js';

export type Authentication =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'authenticated'; readonly principal: Principal }
  | {
      readonly kind: 'rejected';
      readonly reason: string;
      /** Log-only detail (e.g. which of an API key's refusals: revoked, expired, …). */
      readonly detail?: string | undefined;
    };

export interface Credentials {
  /** The `Authorization` header (or connection parameter). */
  readonly authorization?: string | undefined;
  /** The `X-API-Key` header; several values are refused. */
  readonly apiKey?: string | readonly string[] | undefined;
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)[ ]*$/i;

const present = (value: string | undefined): value is string =>
  value !== undefined && value.trim() !== '';

export async function authenticate(
  verifier: CredentialVerifier,
  credentials: Credentials,
): Promise<Authentication> {
  const { authorization, apiKey } = credentials;
  if (Array.isArray(apiKey)) return { kind: 'rejected', reason: 'ambiguous_credentials' };
  const key = apiKey as string | undefined;
  if (present(authorization) && present(key)) {
    return { kind: 'rejected', reason: 'ambiguous_credentials' };
  }
  try {
    if (present(key)) {
      return { kind: 'authenticated', principal: await verifier.verifyApiKey(key.trim()) };
    }
    if (!present(authorization)) return { kind: 'anonymous' };
    const match = BEARER.exec(authorization);
    if (!match?.[1]) return { kind: 'rejected', reason: 'malformed_authorization_header' };
    return { kind: 'authenticated', principal: await verifier.verifyBearer(match[1]) };
  } catch (error) {
    if (error instanceof AuthenticationError) {
      return { kind: 'rejected', reason: error.reason, detail: error.detail };
    }
    throw error;
  }
}
