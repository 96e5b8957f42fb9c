/**
 * Ready `Authorization` headers for the demo users, for GraphiQL's header editor. Offered
 * only where `npm run token` works and nothing more is at stake: NODE_ENV=development and
 * the local development key as the only issuer (no AUTH_JWKS_URL/AUTH_JWKS_FILE, the dev
 * issuer and audience). Anything else — production, test, an identity provider, an
 * overridden issuer or audience — gets no minter at all, so no token is minted or served.
 * Even then they go only to a page asked for by a loopback name (DNS rebinding: a web page
 * whose own name resolves to 127.0.0.1 must not read them).
 */
import { DEV_AUDIENCE, DEV_ISSUER, type Config } from '../../config.js';
import { ensureDevSigningKey, mintDevToken } from '../../authn/devSigningKey.js';
import { DEMO_TENANTS, DEMO_USERS } from '../../demo/demoData.js';

/** One demo user's token, as GraphiQL shows it: a tab of its own. */
export interface DevTokenHeader {
  readonly user: string;
  readonly description: string;
  readonly authorization: string;
}

/** Mints a fresh set on every call (each page load): the page never shows a stale token. */
export type DevTokenMinter = () => Promise<readonly DevTokenHeader[]>;

/** Lifetime of the page's tokens: short, since reloading the page mints new ones. */
export const DEV_TOKEN_TTL_SECONDS = 3_600;

/** True only for the configuration the development signing key verifies (fail closed). */
export function offersDevTokens(config: Config): boolean {
  return (
    config.env === 'development' &&
    config.auth.jwks.kind === 'dev' &&
    config.auth.issuer === DEV_ISSUER &&
    config.auth.audience === DEV_AUDIENCE
  );
}

/** `localhost`, `127.x.x.x` or `[::1]`, with any port: what a browser on this machine sends. */
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$/i;

/**
 * Whether a page asked for with this `Host` may hold tokens. A rebinding attacker's page
 * sends its own name as Host: such a request gets the IDE without them.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}

/** The minter of the page's tokens, or undefined where none may exist. */
export function devTokenMinter(config: Config): DevTokenMinter | undefined {
  const jwks = config.auth.jwks;
  if (!offersDevTokens(config) || jwks.kind !== 'dev') return undefined;
  // As `npm run token` does (cli/token.ts): a JSON-pointer tenant claim gets `tenant_id`.
  const tenantClaim = config.auth.tenantClaim.startsWith('/')
    ? 'tenant_id'
    : config.auth.tenantClaim;
  return async () => {
    const key = await ensureDevSigningKey(jwks.keysDir);
    return Promise.all(
      DEMO_USERS.map(async (user) => {
        const token = await mintDevToken(key, {
          subject: user.subject,
          tenantId: DEMO_TENANTS[user.tenant].id,
          tenantClaim,
          roles: user.roles,
          email: user.email,
          ttlSeconds: DEV_TOKEN_TTL_SECONDS,
        });
        return { user: user.key, description: user.description, authorization: `Bearer ${token}` };
      }),
    );
  };
}
