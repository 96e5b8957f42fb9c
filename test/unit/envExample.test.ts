/**
 * deploy/.env.example is what an operator copies: every variable in it is documented in the
 * README's Configuration table; filled in (each `<...>` replaced by a value of the form its
 * comment asks for) it is a valid production configuration; and every secret and endpoint
 * production requires is in it — leaving out any one is refused, naming it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { filledIn, parseEnvFile } from '../support/envExample.js';

const EXAMPLE = readFileSync('deploy/.env.example', 'utf8');
const README = readFileSync('README.md', 'utf8');

const variables = parseEnvFile(EXAMPLE);
const env = Object.fromEntries(variables.map(([k, v]) => [k, filledIn(k, v)]));

describe('deploy/.env.example', () => {
  it('documents every variable in the README', () => {
    expect(variables.length).toBeGreaterThan(10);
    for (const [name] of variables) {
      expect(README, name).toContain(`| \`${name}\``);
    }
  });

  it('holds placeholders, never secrets', () => {
    for (const name of [
      'CREDENTIAL_KEYS',
      'API_KEY_PEPPER',
      'AUDIT_SIGNING_KEY',
      'SPICEDB_PRESHARED_KEY',
    ]) {
      expect(variables.find(([k]) => k === name)?.[1], name).toMatch(/^<.*>$/);
    }
    expect(EXAMPLE).toMatch(/gatehouse_app:<[^>]+>@/);
  });

  it('filled in, is a valid production configuration with a shared SpiceDB and Redis', () => {
    const config = loadConfig(env);
    expect(config.env).toBe('production');
    expect(config.database.kind).toBe('postgres');
    expect(config.authz.spicedb.kind).toBe('remote');
    expect(config.auth.jwks.kind).toBe('remote');
  });

  it('lists every variable production requires: without any one, it is refused by name', () => {
    for (const name of [
      'DATABASE_URL',
      'AUTH_JWKS_URL',
      'CREDENTIAL_KEYS',
      'API_KEY_PEPPER',
      'AUDIT_SIGNING_KEY',
    ]) {
      expect(env[name], name).toBeDefined();
      const without: Record<string, string | undefined> = { ...env, [name]: undefined };
      expect(() => loadConfig(without), name).toThrow(name);
    }
    // The preshared key goes with the endpoint.
    expect(() => loadConfig({ ...env, SPICEDB_PRESHARED_KEY: undefined })).toThrow(
      'SPICEDB_PRESHARED_KEY',
    );
  });
});
