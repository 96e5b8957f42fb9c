/** Who is calling, as established by gate 1. Immutable for the life of a request. */
export interface Principal {
  readonly kind: 'user';
  /** The identity provider's `sub`. */
  readonly subject: string;
  /** Tenant UUID from the configured tenant claim. */
  readonly tenantId: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  /** Authentication methods (`amr`), e.g. `pwd`, `otp`, `mfa`. */
  readonly amr: readonly string[];
  /** Expiry, seconds since the epoch. */
  readonly expiresAt: number;
  /** `jti`, when the token has one. */
  readonly tokenId: string | undefined;
}
