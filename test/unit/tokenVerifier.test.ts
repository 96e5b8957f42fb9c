/**
 * createTokenVerifier with a local JWKS file (as an identity provider's keys would be
 * deployed) and the claim mapping options: tenant claim as a JSON pointer or a URL-style
 * top-level name, roles and scopes parsing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  createTokenVerifier,
  MAX_TOKEN_LENGTH,
  type TokenVerifier,
} from '../../src/authn/TokenVerifier.js';
import type { AuthConfig } from '../../src/config.js';

const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'https://api.example.com';
const KID = 'idp-key-1';
const TENANT = '7d4c2a9e-1b3f-4e5a-8c6d-0f1e2d3c4b5a';

let dir: string;
let jwksFile: string;
let privateKey: CryptoKey;
let publicJwk: JWK;

function authConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    jwks: { kind: 'file', path: jwksFile },
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['ES256'],
    clockToleranceSeconds: 5,
    tenantClaim: 'tenant_id',
    rolesClaim: 'roles',
    scopesClaim: 'scope',
    groupsClaim: undefined,
    jitProvisioning: false,
    ...overrides,
  };
}

function sign(
  claims: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT', ...header })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('auth0|123')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}

/** Expects verification to fail with the given reason. */
async function expectRejected(
  verifier: TokenVerifier,
  token: string,
  reason: string,
): Promise<void> {
  const error: unknown = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  expect((error as AuthenticationError).reason).toBe(reason);
  // The message is the same whatever the reason.
  expect((error as AuthenticationError).message).toBe('authentication failed');
}

async function writeJwks(name: string, keys: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify({ keys }));
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-jwks-'));
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  jwksFile = await writeJwks('jwks.json', [publicJwk]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JWKS file', () => {
  it('verifies a token signed by a key in the file', async () => {
    const verifier = await createTokenVerifier(authConfig());
    const principal = await verifier.verify(
      await sign({ tenant_id: TENANT, roles: ['ADMIN'], scope: 'read', jti: 'j-1' }),
    );
    expect(principal).toEqual({
      kind: 'user',
      subject: 'auth0|123',
      tenantId: TENANT,
      roles: ['ADMIN'],
      scopes: ['read'],
      amr: [],
      expiresAt: expect.any(Number) as number,
      tokenId: 'j-1',
      groups: undefined,
      email: undefined,
      emailVerified: false,
      name: undefined,
    });
  });

  it('reads the groups claim (a name or a JSON pointer) and the profile claims', async () => {
    const token = await sign({
      tenant_id: TENANT,
      email: 'Dana@Example.com',
      email_verified: true,
      preferred_username: 'dana',
      groups: ['/acme/admins', 'x'.repeat(256), ''],
      ext: { groups: 'approvers finance' },
    });
    const top = await (
      await createTokenVerifier(authConfig({ groupsClaim: 'groups' }))
    ).verify(token);
    // A name no mapping rule can hold (over 255 characters) and empty ones are dropped.
    expect(top).toMatchObject({
      groups: ['/acme/admins'],
      email: 'Dana@Example.com',
      emailVerified: true,
      name: 'dana',
    });
    const nested = await (
      await createTokenVerifier(authConfig({ groupsClaim: '/ext/groups' }))
    ).verify(token);
    expect(nested.groups).toEqual(['approvers', 'finance']);
    // Configured but absent: no groups (the mapping then removes what groups gave).
    const absent = await (
      await createTokenVerifier(authConfig({ groupsClaim: '/none' }))
    ).verify(token);
    expect(absent.groups).toEqual([]);
  });

  it('refuses a malformed groups claim, and more than 1,000 groups', async () => {
    const verifier = await createTokenVerifier(authConfig({ groupsClaim: 'groups' }));
    for (const groups of [[1, 2], { a: 1 }, Array.from({ length: 1001 }, (_, i) => `g${i}`)]) {
      await expect(verifier.verify(await sign({ tenant_id: TENANT, groups }))).rejects.toThrow(
        expect.objectContaining({ reason: 'claim_groups_invalid' }) as Error,
      );
    }
  });

  it('refuses at creation a file holding private key material', async () => {
    const privateJwk = await exportJWK(privateKey);
    expect(privateJwk.d).toBeDefined();
    const file = await writeJwks('private.json', [publicJwk, { ...privateJwk, kid: 'leaked' }]);
    await expect(
      createTokenVerifier(authConfig({ jwks: { kind: 'file', path: file } })),
    ).rejects.toThrow(/private key material/);
  });

  it('refuses at creation a file with no keys', async () => {
    const file = await writeJwks('empty.json', []);
    await expect(
      createTokenVerifier(authConfig({ jwks: { kind: 'file', path: file } })),
    ).rejects.toThrow(/holds no keys/);
  });

  it('refuses at creation a missing file', async () => {
    await expect(
      createTokenVerifier(
        authConfig({ jwks: { kind: 'file', path: path.join(dir, 'missing.json') } }),
      ),
    ).rejects.toThrow();
  });

  it('rejects a token signed by a key not in the file', async () => {
    const verifier = await createTokenVerifier(authConfig());
    const other = await generateKeyPair('ES256');
    const token = await new SignJWT({ tenant_id: TENANT })
      .setProtectedHeader({ alg: 'ES256', kid: 'other' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('auth0|123')
      .setExpirationTime('10m')
      .sign(other.privateKey);
    await expectRejected(verifier, token, 'ERR_JWKS_NO_MATCHING_KEY');
  });

  it('rejects an algorithm outside the allowlist', async () => {
    const verifier = await createTokenVerifier(authConfig({ algorithms: ['RS256'] }));
    await expectRejected(verifier, await sign({ tenant_id: TENANT }), 'ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it.each(['jwk', 'jku', 'x5u', 'x5c'] as const)(
    'refuses a token carrying a %s header even when correctly signed',
    async (name) => {
      const verifier = await createTokenVerifier(authConfig());
      const value = {
        jwk: publicJwk,
        jku: 'https://attacker.example/jwks.json',
        x5u: 'https://attacker.example/cert.pem',
        x5c: ['MIIB'],
      }[name];
      await expectRejected(
        verifier,
        await sign({ tenant_id: TENANT }, { [name]: value }),
        `header_${name}_refused`,
      );
    },
  );

  it('refuses empty and oversized tokens before parsing', async () => {
    const verifier = await createTokenVerifier(authConfig());
    await expectRejected(verifier, '', 'token_length');
    await expectRejected(verifier, 'a'.repeat(MAX_TOKEN_LENGTH + 1), 'token_length');
  });
});

describe('tenant claim', () => {
  it('reads a nested claim through a JSON pointer', async () => {
    const verifier = await createTokenVerifier(authConfig({ tenantClaim: '/org/id' }));
    const principal = await verifier.verify(await sign({ org: { id: TENANT, name: 'Acme' } }));
    expect(principal.tenantId).toBe(TENANT);
  });

  it('unescapes ~1 and ~0 in a JSON pointer', async () => {
    const verifier = await createTokenVerifier(
      authConfig({ tenantClaim: '/https:~1~1example.com~1claims/tenant~0id' }),
    );
    const principal = await verifier.verify(
      await sign({ 'https://example.com/claims': { 'tenant~id': TENANT } }),
    );
    expect(principal.tenantId).toBe(TENANT);
  });

  it.each([
    ['missing', {}],
    ['the parent is not an object', { org: TENANT }],
    ['the parent is an array', { org: [TENANT] }],
    ['not a UUID', { org: { id: 'acme' } }],
    ['a number', { org: { id: 42 } }],
    ['only at the top level', { tenant_id: TENANT, id: TENANT }],
  ])('rejects a JSON-pointer tenant claim that is %s', async (_name, claims) => {
    const verifier = await createTokenVerifier(authConfig({ tenantClaim: '/org/id' }));
    await expectRejected(verifier, await sign(claims), 'claim_tenant_invalid');
  });

  it('reads a URL-style top-level claim', async () => {
    const verifier = await createTokenVerifier(
      authConfig({ tenantClaim: 'https://example.com/tenant' }),
    );
    const principal = await verifier.verify(
      await sign({ 'https://example.com/tenant': TENANT.toUpperCase() }),
    );
    expect(principal.tenantId).toBe(TENANT);
  });

  it('requires the URL-style top-level claim', async () => {
    const verifier = await createTokenVerifier(
      authConfig({ tenantClaim: 'https://example.com/tenant' }),
    );
    await expectRejected(
      verifier,
      await sign({ tenant_id: TENANT }),
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
    await expectRejected(
      verifier,
      await sign({ 'https://example.com/tenant': 'not-a-uuid' }),
      'claim_tenant_invalid',
    );
  });

  it('does not read inherited properties as claims', async () => {
    const verifier = await createTokenVerifier(authConfig({ tenantClaim: '/org/constructor' }));
    await expectRejected(verifier, await sign({ org: {} }), 'claim_tenant_invalid');
  });
});

describe('roles and scopes', () => {
  it('splits a space-separated scope string', async () => {
    const verifier = await createTokenVerifier(authConfig());
    const principal = await verifier.verify(
      await sign({ tenant_id: TENANT, scope: 'workflows:read  workflows:write admin ' }),
    );
    expect(principal.scopes).toEqual(['workflows:read', 'workflows:write', 'admin']);
  });

  it('accepts a scope array', async () => {
    const verifier = await createTokenVerifier(authConfig({ scopesClaim: 'scp' }));
    const principal = await verifier.verify(
      await sign({ tenant_id: TENANT, scp: ['workflows:read', 'workflows:write'] }),
    );
    expect(principal.scopes).toEqual(['workflows:read', 'workflows:write']);
  });

  it('treats missing roles, scopes and amr as empty', async () => {
    const verifier = await createTokenVerifier(authConfig());
    const principal = await verifier.verify(await sign({ tenant_id: TENANT }));
    expect(principal).toMatchObject({ roles: [], scopes: [], amr: [], tokenId: undefined });
  });

  it('reads roles and amr arrays', async () => {
    const verifier = await createTokenVerifier(authConfig());
    const principal = await verifier.verify(
      await sign({ tenant_id: TENANT, roles: ['ADMIN', 'MEMBER'], amr: ['pwd', 'mfa'] }),
    );
    expect(principal.roles).toEqual(['ADMIN', 'MEMBER']);
    expect(principal.amr).toEqual(['pwd', 'mfa']);
  });

  it('reads nested roles through a JSON pointer', async () => {
    const verifier = await createTokenVerifier(authConfig({ rolesClaim: '/realm_access/roles' }));
    const principal = await verifier.verify(
      await sign({ tenant_id: TENANT, realm_access: { roles: ['VP'] } }),
    );
    expect(principal.roles).toEqual(['VP']);
  });

  it.each([
    ['a string', 'ADMIN'],
    ['an array with a number', ['ADMIN', 1]],
    ['an array with an object', [{ role: 'ADMIN' }]],
    ['an object', { ADMIN: true }],
    ['a boolean', true],
  ])('rejects a roles claim that is %s', async (_name, roles) => {
    const verifier = await createTokenVerifier(authConfig());
    await expectRejected(verifier, await sign({ tenant_id: TENANT, roles }), 'claim_roles_invalid');
  });

  it.each([
    ['a number', 42],
    ['an array with a number', ['read', 7]],
    ['an object', { read: true }],
  ])('rejects a scope claim that is %s', async (_name, scope) => {
    const verifier = await createTokenVerifier(authConfig());
    await expectRejected(
      verifier,
      await sign({ tenant_id: TENANT, scope }),
      'claim_scopes_invalid',
    );
  });

  it('rejects an amr claim that is not an array of strings', async () => {
    const verifier = await createTokenVerifier(authConfig());
    await expectRejected(
      verifier,
      await sign({ tenant_id: TENANT, amr: 'pwd mfa' }),
      'claim_amr_invalid',
    );
  });
});
