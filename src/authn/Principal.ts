/** Who is calling, as established by gate 1. Immutable for the life of a request. */
export interface Principal {
  /**
   * `user`: a person, by a bearer JWT of the identity provider; `service`: a service
   * account, by an API key (authn/ApiKeyVerifier.ts).
   */
  readonly kind: 'user' | 'service';
  /** The identity provider's `sub`; for a service account `service:<service account id>`. */
  readonly subject: string;
  /** Tenant UUID from the configured tenant claim, or of the API key's service account. */
  readonly tenantId: string;
  /** From the token's roles claim; a service account has none. */
  readonly roles: readonly string[];
  /** From the token's scopes claim, or the API key's scopes. */
  readonly scopes: readonly string[];
  /** Authentication methods (`amr`), e.g. `pwd`, `otp`, `mfa`; `api_key` for a service account. */
  readonly amr: readonly string[];
  /**
   * Expiry, seconds since the epoch: the token's `exp`, or the API key's expiry (a key
   * without one: {@link NEVER_EXPIRES}).
   */
  readonly expiresAt: number;
  /** `jti`, when the token has one; the API key's id. */
  readonly tokenId: string | undefined;
  /**
   * The groups claim (AUTH_GROUPS_CLAIM; `[]` when the token has none); undefined when no
   * groups claim is configured, and for a service account.
   */
  readonly groups?: readonly string[] | undefined;
  /** The token's `email`, when it has one (binding an invitation, JIT provisioning). */
  readonly email?: string | undefined;
  /** `email_verified` is `true`: only a verified email binds an invitation or provisions. */
  readonly emailVerified?: boolean | undefined;
  /** `name`, else `preferred_username`. */
  readonly name?: string | undefined;
}

/**
 * `expiresAt` of a principal whose credential does not expire (an API key without an
 * expiry): 9999-12-31T23:59:59Z, the last second a GraphQL DateTime (ISO 8601, four-digit
 * year) can show. A finite number, so arithmetic on it (timers, comparisons) stays exact.
 */
export const NEVER_EXPIRES = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;
