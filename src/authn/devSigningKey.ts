/**
 * The development signing key: generated on first use (server start or `npm run token`)
 * into DEV_KEYS_DIR, readable by its owner only, never committed (.gitignore). Only used
 * when no identity provider is configured, and refused in production (config.ts).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileOnce } from '../writeFileOnce.js';
import path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from 'jose';
import { DEV_AUDIENCE, DEV_ISSUER } from '../config.js';

const ALG = 'ES256';
const FILE = 'signing-key.jwk.json';

export interface DevSigningKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  readonly kid: string;
}

function toPublic(jwk: JWK): JWK {
  const { d: _d, ...pub } = jwk;
  return pub;
}

/** Loads the key from `dir`, creating it (atomically, 0600) when absent. */
export async function ensureDevSigningKey(dir: string): Promise<DevSigningKey> {
  const file = path.join(dir, FILE);
  try {
    const privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    return { privateJwk, publicJwk: toPublic(privateJwk), kid: String(privateJwk.kid) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const privateJwk: JWK = { ...jwk, kid, alg: ALG, use: 'sig' };
  // Another process created it first: use theirs.
  if (!(await writeFileOnce(file, JSON.stringify(privateJwk)))) return ensureDevSigningKey(dir);
  return { privateJwk, publicJwk: toPublic(privateJwk), kid };
}

export interface DevTokenClaims {
  readonly subject: string;
  readonly tenantId: string;
  readonly tenantClaim?: string;
  readonly roles?: readonly string[];
  readonly scopes?: readonly string[];
  readonly amr?: readonly string[];
  readonly email?: string;
  readonly ttlSeconds?: number;
  /**
   * Further claims, as an identity provider would add them (`email_verified`, `groups`,
   * nested ones such as Keycloak's `realm_access`); the registered claims win.
   */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Mints a token from the development issuer. */
export async function mintDevToken(key: DevSigningKey, claims: DevTokenClaims): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, ALG);
  // One clock reading for `iat` and `exp`: read twice, they could fall in two seconds.
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT({
    ...claims.extra,
    [claims.tenantClaim ?? 'tenant_id']: claims.tenantId,
    roles: claims.roles ?? [],
    scope: (claims.scopes ?? []).join(' '),
    amr: claims.amr ?? ['pwd'],
    ...(claims.email ? { email: claims.email } : {}),
  })
    .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(claims.subject)
    .setIssuedAt(issuedAt)
    .setJti(crypto.randomUUID())
    .setExpirationTime(issuedAt + (claims.ttlSeconds ?? 3600))
    .sign(privateKey);
}
