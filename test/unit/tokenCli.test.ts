/**
 * `npm run -s token -- <user>`: prints exactly one development JWT on stdout, and refuses
 * unknown users and configured identity providers with exit code 2.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.js';
import { DEMO_TENANTS } from '../../src/demo/demoData.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

let keysDir: string;

function runToken(
  args: readonly string[],
  env: Record<string, string> = {},
): SpawnSyncReturns<string> {
  const result = spawnSync(path.join(BIN, 'tsx'), ['src/cli/token.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    // A clean environment: nothing from the caller's shell (DATABASE_URL, AUTH_*) leaks in.
    env: {
      PATH: `${BIN}${path.delimiter}${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? os.tmpdir(),
      NODE_ENV: 'test',
      DEV_KEYS_DIR: keysDir,
      ...env,
    },
  });
  if (result.error) throw result.error;
  return result;
}

beforeAll(async () => {
  keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-cli-keys-'));
});

afterAll(async () => {
  await rm(keysDir, { recursive: true, force: true });
});

describe('token CLI', () => {
  it('prints exactly one JWT line for alice, signed by the development key', async () => {
    const result = runToken(['alice']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    const lines = result.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const token = lines[0]!;
    expect(token).toMatch(JWT);

    const payload = decodeJwt(token);
    expect(payload.sub).toBe('demo|alice');
    expect(payload['tenant_id']).toBe(DEMO_TENANTS.acme.id);
    expect(payload['amr']).toEqual(['pwd']);
    expect(payload['roles']).toEqual(['ADMIN', 'MEMBER']);
    expect(payload.iss).toBe(DEV_ISSUER);
    expect(payload.aud).toBe(DEV_AUDIENCE);
    // iat and exp are each taken from the clock, so they may straddle a second.
    expect([3600, 3601]).toContain(payload.exp! - payload.iat!);

    // The key was created in DEV_KEYS_DIR and verifies the token.
    const privateJwk = JSON.parse(
      await readFile(path.join(keysDir, 'signing-key.jwk.json'), 'utf8'),
    ) as JWK;
    const { d: _d, ...publicJwk } = privateJwk;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: privateJwk.kid });
    const { payload: verified } = await jwtVerify(token, createLocalJWKSet({ keys: [publicJwk] }), {
      issuer: DEV_ISSUER,
      audience: DEV_AUDIENCE,
      algorithms: ['ES256'],
    });
    expect(verified.sub).toBe('demo|alice');
  });

  it('adds mfa to amr with --mfa', () => {
    const result = runToken(['alice', '--mfa']);
    expect(result.status).toBe(0);
    const amr = decodeJwt(result.stdout.trim())['amr'];
    expect(amr).toContain('mfa');
    expect(amr).toContain('pwd');
  });

  it('honours --ttl and --scope', () => {
    const result = runToken(['alice', '--ttl=60', '--scope=workflows:read workflows:write']);
    expect(result.status).toBe(0);
    const payload = decodeJwt(result.stdout.trim());
    expect([60, 61]).toContain(payload.exp! - payload.iat!);
    expect(payload['scope']).toBe('workflows:read workflows:write');
  });

  it('exits 2 for an unknown user, printing nothing on stdout', () => {
    const result = runToken(['zed']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('usage');
  });

  it('exits 2 without a user', () => {
    const result = runToken([]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
  });

  it('mints a token for any subject of any tenant, with email and groups', () => {
    const tenant = '6f1c2a9e-1b3f-4e5a-8c6d-0f1e2d3c4b5a';
    const result = runToken(
      [
        '--subject=idp|peter',
        `--tenant=${tenant}`,
        '--email=peter@initech.example',
        '--email-verified',
        '--name=Peter',
        '--groups=approvers,/initech/platform',
      ],
      { AUTH_GROUPS_CLAIM: '/ext/groups' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const claims = decodeJwt(result.stdout.trim());
    expect(claims).toMatchObject({
      sub: 'idp|peter',
      tenant_id: tenant,
      email: 'peter@initech.example',
      email_verified: true,
      name: 'Peter',
      roles: [],
      ext: { groups: ['approvers', '/initech/platform'] },
    });
  });

  it('exits 2 for --subject without a tenant id, or with a demo user too', () => {
    for (const args of [
      ['--subject=idp|x'],
      ['--subject=idp|x', '--tenant=acme'],
      ['alice', '--subject=idp|x', `--tenant=${DEMO_TENANTS.acme.id}`],
    ]) {
      const result = runToken(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
    }
  });

  it('exits 2 for an invalid --ttl', () => {
    const result = runToken(['alice', '--ttl=0']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
  });

  it('refuses (exit 2) when an identity provider is configured with AUTH_JWKS_FILE', async () => {
    const jwksFile = path.join(keysDir, 'idp-jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [] }));
    const result = runToken(['alice'], {
      AUTH_JWKS_FILE: jwksFile,
      AUTH_ISSUER: 'https://idp.example.com/',
      AUTH_AUDIENCE: 'gatehouse',
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('identity provider is configured');
  });

  it('refuses (exit 2) with AUTH_JWKS_FILE alone, as a configuration error', () => {
    const result = runToken(['alice'], { AUTH_JWKS_FILE: path.join(keysDir, 'idp-jwks.json') });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('AUTH_ISSUER');
  });
});
