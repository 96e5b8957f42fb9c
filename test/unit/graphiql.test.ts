/**
 * GraphiQL's configuration and its development tokens: GRAPHIQL_ENABLED is on by default
 * only in development and validated like every variable; the tokens exist only where the
 * development signing key is the issuer and NODE_ENV=development — production, test and
 * any identity provider get none, even with the IDE forced on (answered over HTTP here).
 * The page's data block cannot be broken out of.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../src/authn/TokenVerifier.js';
import { ConfigError, loadConfig, type Config } from '../../src/config.js';
import { DEMO_TENANTS, DEMO_USERS } from '../../src/demo/demoData.js';
import {
  devTokenMinter,
  DEV_TOKEN_TTL_SECONDS,
  isLoopbackHost,
  offersDevTokens,
} from '../../src/server/graphiql/devTokens.js';
import { renderGraphiQLPage } from '../../src/server/graphiql/graphiqlPage.js';
import { loadGraphiQL, type GraphiQLRoutes } from '../../src/server/graphiql/graphiqlRoutes.js';
import { filledIn, parseEnvFile } from '../support/envExample.js';

/** deploy/.env.example filled in: a valid production configuration (envExample.test.ts). */
const PRODUCTION = Object.fromEntries(
  parseEnvFile(readFileSync('deploy/.env.example', 'utf8')).map(([k, v]) => [k, filledIn(k, v)]),
);

let keysDir: string;
let jwksFile: string;
const development = (env: Record<string, string> = {}): Config =>
  loadConfig({ NODE_ENV: 'development', DEV_KEYS_DIR: keysDir, ...env });

beforeAll(async () => {
  keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-graphiql-'));
  const { publicKey } = await generateKeyPair('ES256');
  jwksFile = path.join(keysDir, 'idp-jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
});
afterAll(async () => {
  await rm(keysDir, { recursive: true, force: true });
});

describe('GRAPHIQL_ENABLED', () => {
  it('is on by default in development only', () => {
    expect(development().graphiql).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).graphiql).toBe(false);
    expect(loadConfig(PRODUCTION).graphiql).toBe(false);
  });

  it('is what it is set to, production included', () => {
    expect(development({ GRAPHIQL_ENABLED: 'false' }).graphiql).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', GRAPHIQL_ENABLED: '1' }).graphiql).toBe(true);
    expect(loadConfig({ ...PRODUCTION, GRAPHIQL_ENABLED: 'true' }).graphiql).toBe(true);
  });

  it('refuses any other value, naming the variable', () => {
    for (const value of ['yes', 'on', 'TRUE', '']) {
      expect(() => development({ GRAPHIQL_ENABLED: value }), value).toThrow(ConfigError);
      expect(() => development({ GRAPHIQL_ENABLED: value }), value).toThrow(/GRAPHIQL_ENABLED/);
    }
  });
});

describe('the development tokens', () => {
  it('are minted for every demo user in development, and verify as that user', async () => {
    const config = development();
    const mint = devTokenMinter(config);
    expect(mint).toBeDefined();
    const verifier = await createTokenVerifier(config.auth);
    const tokens = await mint!();
    expect(tokens.map((t) => t.user)).toEqual(DEMO_USERS.map((u) => u.key));
    for (const [i, token] of tokens.entries()) {
      const user = DEMO_USERS[i]!;
      expect(token.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      const principal = await verifier.verify(token.authorization.slice('Bearer '.length));
      expect(principal).toMatchObject({
        subject: user.subject,
        tenantId: DEMO_TENANTS[user.tenant].id,
      });
      const payload = JSON.parse(
        Buffer.from(token.authorization.split('.')[1]!, 'base64url').toString(),
      ) as { exp: number; iat: number };
      expect(payload.exp - payload.iat).toBe(DEV_TOKEN_TTL_SECONDS);
    }
  });

  it('follow a custom tenant claim as `npm run token` does', async () => {
    const config = development({ AUTH_TENANT_CLAIM: 'https://gatehouse.example/tenant' });
    const verifier = await createTokenVerifier(config.auth);
    const [alice] = await devTokenMinter(config)!();
    const principal = await verifier.verify(alice!.authorization.slice('Bearer '.length));
    expect(principal.tenantId).toBe(DEMO_TENANTS.acme.id);
  });

  it('do not exist outside development or with an identity provider (fail closed)', () => {
    const idp = { AUTH_ISSUER: 'https://idp.example.test/', AUTH_AUDIENCE: 'gatehouse' };
    const refused: Record<string, Config> = {
      production: loadConfig({ ...PRODUCTION, GRAPHIQL_ENABLED: 'true' }),
      test: loadConfig({ NODE_ENV: 'test', GRAPHIQL_ENABLED: 'true', DEV_KEYS_DIR: keysDir }),
      'an identity provider (JWKS file)': development({ ...idp, AUTH_JWKS_FILE: jwksFile }),
      'an identity provider (JWKS URL)': development({
        ...idp,
        AUTH_JWKS_URL: 'https://idp.example.test/jwks.json',
      }),
      'another audience': development({ AUTH_AUDIENCE: 'https://api.example.test' }),
    };
    for (const [name, config] of Object.entries(refused)) {
      expect(offersDevTokens(config), name).toBe(false);
      expect(devTokenMinter(config), name).toBeUndefined();
    }
  });
});

describe('the Host a page with tokens may be asked for', () => {
  it('is a loopback name, as a browser on this machine sends it', () => {
    for (const host of [
      'localhost',
      'localhost:4000',
      '127.0.0.1:4000',
      '127.1.2.3',
      '[::1]:4000',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it('is never another name: a DNS-rebinding page sends its own', () => {
    for (const host of [
      undefined,
      '',
      'attacker.example',
      'attacker.example:4000',
      'localhost.attacker.example',
      '127.0.0.1.attacker.example',
      '0.0.0.0:4000',
      '192.168.1.7:4000',
      '[::ffff:127.0.0.1]:4000',
    ]) {
      expect(isLoopbackHost(host), String(host)).toBe(false);
    }
  });
});

/** GraphiQL's routes alone on a loopback port; anything they leave is a 404. */
async function serveRoutes(routes: GraphiQLRoutes): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    const where = (req.url ?? '/').split('?')[0]!;
    void routes.answer(req, res, where).then((answered) => {
      if (!answered) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

describe('GraphiQL in production', () => {
  it('does not exist by default', async () => {
    expect(await loadGraphiQL(loadConfig(PRODUCTION))).toBeUndefined();
  });

  it('forced on with GRAPHIQL_ENABLED=true, serves the page without any token', async () => {
    const routes = await loadGraphiQL(loadConfig({ ...PRODUCTION, GRAPHIQL_ENABLED: 'true' }));
    const server = await serveRoutes(routes!);
    try {
      const res = await fetch(`${server.url}/graphql`, { headers: { Accept: 'text/html' } });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('"devTokens":[]');
      expect(html).not.toMatch(/Bearer|eyJ/);
    } finally {
      server.close();
    }
  });
});

describe('the page', () => {
  it('keeps its settings inside their data block, whatever they hold', () => {
    const hostile = '</script><script>alert(1)</script><!-- & \u2028';
    const html = renderGraphiQLPage({
      endpoint: '/graphql',
      devTokens: [{ user: 'alice', description: hostile, authorization: 'Bearer x' }],
      devTokenTtlSeconds: 60,
      styleNonce: 'n',
    });
    expect(html).not.toContain('<script>alert');
    expect(html.match(/<\/script>/g)).toHaveLength(5);
    const block = /<script id="graphiql-settings" type="application\/json">(.*?)<\/script>/.exec(
      html,
    );
    const parsed = JSON.parse(block![1]!) as { devTokens: Array<{ description: string }> };
    expect(parsed.devTokens[0]!.description).toBe(hostile);
  });
});
