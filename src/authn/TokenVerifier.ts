/**
 * Gate 1: verifies bearer JWTs with jose against the configured key set (remote JWKS,
 * local JWKS file, or the development key) and turns their claims into a {@link Principal}.
 *
 * Every check is explicit: an algorithm allowlist (no `none`, no HMAC: a public key can
 * never be used as a shared secret), issuer, audience, required `exp`, `sub` and tenant
 * claim, a small clock tolerance, and keys only from the configured set — a token that
 * brings its own key (`jwk`, `jku`, `x5u`, `x5c` headers) is refused outright.
 * Any failure throws {@link AuthenticationError}; the reason is for logs, not clients.
 */
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { AuthConfig } from '../config.js';
import { ensureDevSigningKey } from './devSigningKey.js';
import type { Principal } from './Principal.js';

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 16_384;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FOREIGN_KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  /** Machine-readable reason for logs and metrics (never sent to clients). */
  readonly reason: string;
  /**
   * Finer detail than `reason`, for logs only, where one reason deliberately covers several
   * causes (an API key that is unknown, revoked, expired, …: `invalid_api_key`).
   */
  readonly detail: string | undefined;
  constructor(reason: string, message = 'authentication failed', detail?: string) {
    super(message);
    this.reason = reason;
    this.detail = detail;
  }
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

async function loadKeySet(config: AuthConfig): Promise<JWTVerifyGetKey> {
  switch (config.jwks.kind) {
    case 'remote':
      return createRemoteJWKSet(config.jwks.url, {
        timeoutDuration: 5_000,
        cooldownDuration: 30_000,
      });
    case 'file': {
      const jwks = JSON.parse(await readFile(config.jwks.path, 'utf8')) as JSONWebKeySet;
      if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) {
        throw new Error(`AUTH_JWKS_FILE: ${config.jwks.path} holds no keys`);
      }
      if (jwks.keys.some((k) => 'd' in k)) {
        throw new Error(`AUTH_JWKS_FILE: ${config.jwks.path} contains private key material`);
      }
      return createLocalJWKSet(jwks);
    }
    case 'dev': {
      const key = await ensureDevSigningKey(config.jwks.keysDir);
      return createLocalJWKSet({ keys: [key.publicJwk] });
    }
  }
}

function claimAt(payload: JWTPayload, claim: string): unknown {
  if (!claim.startsWith('/')) return payload[claim];
  // JSON pointer (RFC 6901) for nested claims, e.g. "/org/id".
  let value: unknown = payload;
  for (const raw of claim.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function stringList(value: unknown, name: string, spaceSeparated: boolean): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string' && spaceSeparated)
    return value.split(' ').filter((s) => s.length > 0);
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return value;
  throw new AuthenticationError(`claim_${name}_invalid`);
}

/** Maps verified claims to a principal, rejecting malformed claim values. */
export function principalFromClaims(payload: JWTPayload, config: AuthConfig): Principal {
  const subject = payload.sub;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 255) {
    throw new AuthenticationError('claim_sub_invalid');
  }
  const tenant = claimAt(payload, config.tenantClaim);
  if (typeof tenant !== 'string' || !UUID.test(tenant))
    throw new AuthenticationError('claim_tenant_invalid');
  if (typeof payload.exp !== 'number') throw new AuthenticationError('claim_exp_missing');
  const jti = payload.jti;
  const email = payload['email'];
  const name = payload['name'] ?? payload['preferred_username'];
  return {
    kind: 'user',
    subject,
    tenantId: tenant.toLowerCase(),
    roles: stringList(claimAt(payload, config.rolesClaim), 'roles', false),
    scopes: stringList(claimAt(payload, config.scopesClaim), 'scopes', true),
    amr: stringList(payload['amr'], 'amr', false),
    expiresAt: payload.exp,
    tokenId: typeof jti === 'string' ? jti : undefined,
    groups: config.groupsClaim === undefined ? undefined : groupList(payload, config.groupsClaim),
    email: typeof email === 'string' && email.length <= 320 ? email : undefined,
    emailVerified: payload['email_verified'] === true,
    name: typeof name === 'string' && name.length <= 200 ? name : undefined,
  };
}

/** Most groups kept of one token (directory users may carry hundreds). */
export const MAX_GROUPS = 1_000;

/**
 * The groups claim: a list of strings (a space-separated string too), `[]` when absent.
 * Names longer than a mapping rule may be (255) cannot match one and are dropped; more than
 * {@link MAX_GROUPS} groups is a malformed claim.
 */
function groupList(payload: JWTPayload, claim: string): string[] {
  const groups = stringList(claimAt(payload, claim), 'groups', true);
  if (groups.length > MAX_GROUPS) throw new AuthenticationError('claim_groups_invalid');
  return groups.filter((g) => g.length > 0 && g.length <= 255);
}

function reasonOf(error: unknown): string {
  if (error instanceof AuthenticationError) return error.reason;
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'verify_failed';
}

export async function createTokenVerifier(config: AuthConfig): Promise<TokenVerifier> {
  const keySet = await loadKeySet(config);
  const getKey: JWTVerifyGetKey = (header, token) => {
    for (const h of FOREIGN_KEY_HEADERS) {
      if (h in header) throw new AuthenticationError(`header_${h}_refused`);
    }
    return keySet(header, token);
  };
  const requiredClaims = [
    'exp',
    'sub',
    ...(config.tenantClaim.startsWith('/') ? [] : [config.tenantClaim]),
  ];
  return {
    async verify(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH)
        throw new AuthenticationError('token_length');
      try {
        const { payload } = await jwtVerify(token, getKey, {
          algorithms: [...config.algorithms],
          issuer: config.issuer,
          audience: config.audience,
          clockTolerance: config.clockToleranceSeconds,
          requiredClaims,
        });
        return principalFromClaims(payload, config);
      } catch (error) {
        throw new AuthenticationError(reasonOf(error));
      }
    },
  };
}
