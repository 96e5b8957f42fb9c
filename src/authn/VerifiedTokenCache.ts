/**
 * Verified bearer tokens, remembered for a short while: a client sends the same token with
 * every request, and verifying its ES256/RS256 signature each time is work whose answer
 * cannot change before the token expires — except that its key may leave the key set.
 * So an answer is kept until the earlier of the token's `exp` and {@link MAX_AGE_MS} (a
 * key removed from the JWKS stops counting within that, as its cooldown already allows),
 * for at most {@link MAX_ENTRIES} tokens, oldest first out. Only successes are kept: every
 * refused token is verified (and counted by the lockout) anew, and nothing a client sends
 * without a valid signature takes a place here. Everything else about the request — the
 * account's standing, its roles, every gate after the first — is decided per request.
 */
import type { Principal } from './Principal.js';
import type { TokenVerifier } from './TokenVerifier.js';

export const MAX_AGE_MS = 60_000;
export const MAX_ENTRIES = 5_000;

interface Entry {
  readonly principal: Principal;
  readonly until: number;
}

export function cachingTokenVerifier(
  inner: TokenVerifier,
  options: { readonly now?: () => number; readonly maxEntries?: number } = {},
): TokenVerifier {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? MAX_ENTRIES;
  const entries = new Map<string, Entry>();
  return {
    async verify(token) {
      const known = entries.get(token);
      const at = now();
      if (known && at < known.until) return known.principal;
      if (known) entries.delete(token);
      const principal = await inner.verify(token);
      const until = Math.min(principal.expiresAt * 1000, at + MAX_AGE_MS);
      if (until > at) {
        if (entries.size >= maxEntries) {
          const oldest = entries.keys().next();
          if (!oldest.done) entries.delete(oldest.value);
        }
        entries.set(token, { principal, until });
      }
      return principal;
    },
  };
}
