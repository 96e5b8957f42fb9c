/**
 * Why a caller is UNAUTHENTICATED, in `extensions.reason`: stable values a client branches
 * on (sign in, get a new token, or tell the user their account is off), never more. One
 * value covers every way a credential fails, so a caller learns nothing about why a token
 * was refused (its signature, its expiry, an unknown key all look the same).
 */
export const UnauthenticatedReason = {
  /** No credential was sent, and the field (or, as a 401, every field) needs one. */
  CREDENTIALS_REQUIRED: 'CREDENTIALS_REQUIRED',
  /** The credential sent is not valid: malformed, forged, expired, revoked, unknown. */
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  /** A valid token of an account an admin deactivated: a new token does not help. */
  ACCOUNT_DEACTIVATED: 'ACCOUNT_DEACTIVATED',
} as const;

export type UnauthenticatedReason =
  (typeof UnauthenticatedReason)[keyof typeof UnauthenticatedReason];

const known = new Set<string>(Object.values(UnauthenticatedReason));

export function isUnauthenticatedReason(value: unknown): value is UnauthenticatedReason {
  return typeof value === 'string' && known.has(value);
}
