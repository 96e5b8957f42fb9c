/**
 * GraphiQL over HTTP, on real servers: in development GET /graphql from a browser is the
 * IDE page with its own CSP and no inline script, its files under /graphiql/ have their
 * media types and ETags, and the page's tokens work; every API answer keeps the strict CSP.
 * With the IDE server(), nothing of it exists (404s, and GET /graphql answers as an API). With
 * an identity provider configured the page is served without a single token.
 * (The page in a real browser: graphiql.test.ts.)
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/demo/demoData.js';
import type { DevTokenHeader } from '../../src/server/graphiql/devTokens.js';
import { graphiqlPageCsp } from '../../src/server/graphiql/graphiqlPage.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

/** What securityHeaders.ts puts on every API response. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
/** What Chromium sends when the address bar opens a page. */
const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));
const STATIC = path.resolve(import.meta.dirname, '../../src/server/graphiql/static');

/** Each asset, the file it must be byte for byte, and its media type. */
const ASSETS = [
  ['react.production.min.js', path.join(packageDir('react'), 'umd/react.production.min.js')],
  [
    'react-dom.production.min.js',
    path.join(packageDir('react-dom'), 'umd/react-dom.production.min.js'),
  ],
  ['graphiql.min.js', path.join(packageDir('graphiql'), 'graphiql.min.js')],
  ['graphiql.min.css', path.join(packageDir('graphiql'), 'graphiql.min.css')],
  ['gatehouse-graphiql.js', path.join(STATIC, 'gatehouse-graphiql.js')],
  ['gatehouse-graphiql.css', path.join(STATIC, 'gatehouse-graphiql.css')],
].map(([name, file]) => ({
  name: name!,
  file: file!,
  type: name!.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
}));

interface PageSettings {
  endpoint: string;
  devTokens: DevTokenHeader[];
  styleNonce: string;
}

function settingsOf(html: string): PageSettings {
  const block = /<script id="graphiql-settings" type="application\/json">(.*?)<\/script>/s.exec(
    html,
  );
  expect(block, 'the settings data block').not.toBeNull();
  return JSON.parse(block![1]!) as PageSettings;
}

const openInBrowser = (server: TestServer, where = '/graphql') =>
  fetch(`${server.url}${where}`, { headers: { Accept: BROWSER_ACCEPT }, redirect: 'manual' });

const DEVELOPMENT = { NODE_ENV: 'development', POLICY_WATCH: 'false', LOG_LEVEL: 'silent' };

/**
 * A server for the tests of one describe block, stopped after them. One at a time: against
 * PostgreSQL only one server with an embedded SpiceDB may serve the database.
 */
function serverFor(env: () => Promise<Record<string, string>> | Record<string, string>) {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(await env());
  });
  afterAll(async () => {
    await server?.stop();
  });
  return (): TestServer => {
    if (!server) throw new Error('the server did not start (see beforeAll)');
    return server;
  };
}

describe('GraphiQL in development', () => {
  const server = serverFor(() => DEVELOPMENT);
  it('answers a browser opening /graphql with the IDE page and its own CSP', async () => {
    const res = await openInBrowser(server());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    const { styleNonce } = settingsOf(html);
    expect(styleNonce).toMatch(/^[A-Za-z0-9+/]{24}$/);
    expect(res.headers.get('content-security-policy')).toBe(graphiqlPageCsp(styleNonce));
    expect(res.headers.get('content-security-policy')).toMatch(
      /^default-src 'none'; script-src 'self'; style-src 'self' 'nonce-[^']+'; font-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/,
    );
    // The page may hold tokens: never stored, never framed.
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    // A nonce is never reused.
    const again = settingsOf(await (await openInBrowser(server())).text());
    expect(again.styleNonce).not.toBe(styleNonce);
    // `/graphql/` is `/graphql`.
    expect((await openInBrowser(server(), '/graphql/')).status).toBe(200);
  });

  it('has no inline script: every script is a file under /graphiql/ or the JSON data block', async () => {
    const html = await (await openInBrowser(server())).text();
    const scripts = [...html.matchAll(/<script([^>]*)>(.*?)<\/script>/gs)];
    expect(scripts).toHaveLength(5);
    for (const [, attributes, body] of scripts) {
      if (/type="application\/json"/.test(attributes!)) continue;
      expect(attributes).toMatch(/^ src="\/graphiql\/[\w.-]+\.js" defer$/);
      expect(body).toBe('');
    }
    expect(html).not.toMatch(/\son\w+=|style=|javascript:/i);
  });

  it('serves every asset with its media type, an ETag and revalidation', async () => {
    for (const asset of ASSETS) {
      const url = `${server().url}/graphiql/${asset.name}`;
      const res = await fetch(url);
      expect(res.status, asset.name).toBe(200);
      expect(res.headers.get('content-type'), asset.name).toBe(asset.type);
      expect(res.headers.get('cache-control'), asset.name).toBe('no-cache');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const body = Buffer.from(await res.arrayBuffer());
      const file = await readFile(asset.file);
      expect(createHash('sha256').update(body).digest('hex'), asset.name).toBe(
        createHash('sha256').update(file).digest('hex'),
      );
      const etag = res.headers.get('etag');
      expect(etag, asset.name).toMatch(/^"[\w-]{27}"$/);

      const cached = await fetch(url, { headers: { 'If-None-Match': etag! } });
      expect(cached.status, asset.name).toBe(304);
      expect(await cached.text()).toBe('');
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(file.length));
    }
    const unknown = await fetch(`${server().url}/graphiql/graphiql.js`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('redirects / to /graphql', async () => {
    const res = await openInBrowser(server(), '/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/graphql');
  });

  it('prefills a working token for every demo user, alice first', async () => {
    const { devTokens } = settingsOf(await (await openInBrowser(server())).text());
    expect(devTokens.map((t) => t.user)).toEqual(DEMO_USERS.map((u) => u.key));
    for (const token of devTokens) {
      const res = await server().gql<{ me: { subject: string } }>(
        '{ me { subject } }',
        undefined,
        '',
        {
          Authorization: token.authorization,
        },
      );
      expect(res.status, token.user).toBe(200);
      expect(res.body.data?.me.subject).toBe(DEMO_USERS.find((u) => u.key === token.user)!.subject);
    }
  });

  it('offers no token to a page asked for by another name (DNS rebinding)', async () => {
    // fetch() may not set Host: a plain request, as a rebound browser would send it.
    const html = await new Promise<string>((resolve, reject) => {
      const request = http.get(
        `${server().url}/graphql`,
        { headers: { Host: 'attacker.example:4000', Accept: BROWSER_ACCEPT } },
        (res) => {
          expect(res.statusCode).toBe(200);
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        },
      );
      request.on('error', reject);
    });
    expect(settingsOf(html).devTokens).toEqual([]);
    expect(html).not.toMatch(/Bearer|eyJ/);
  });

  it('leaves every API request as it was, strict CSP included', async () => {
    const post = await server().gql('{ health }');
    expect(post.status).toBe(200);
    expect(post.headers.get('content-security-policy')).toBe(API_CSP);
    // GET with `query=` is a GraphQL request, even from a browser.
    const get = await fetch(`${server().url}/graphql?query=%7Bhealth%7D`, {
      headers: { Accept: BROWSER_ACCEPT, 'Apollo-Require-Preflight': 'true' },
    });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toMatch(/^application\/json/);
    expect(get.headers.get('content-security-policy')).toBe(API_CSP);
    expect(await get.json()).toEqual({ data: { health: 'ok' } });
    // GET without `text/html` is not a browser's navigation.
    const json = await fetch(`${server().url}/graphql`, {
      headers: { Accept: 'application/json' },
    });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.headers.get('content-security-policy')).toBe(API_CSP);
    // Nor is any other method.
    const put = await fetch(`${server().url}/graphql`, {
      method: 'PUT',
      headers: { Accept: BROWSER_ACCEPT },
    });
    expect(put.status).toBe(405);
    const health = await fetch(`${server().url}/healthz`);
    expect(health.headers.get('content-security-policy')).toBe(API_CSP);
  });
});

describe('GraphiQL off (the default outside development)', () => {
  // NODE_ENV=test: off by default, as in production.
  const server = serverFor(() => ({}));
  it('GET /graphql from a browser answers as the API does, with the strict CSP', async () => {
    const res = await openInBrowser(server());
    const asJson = await fetch(`${server().url}/graphql`, {
      headers: { Accept: 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.status).toBe(asJson.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-security-policy')).toBe(API_CSP);
    const body = (await res.json()) as { errors: unknown[] };
    expect(body.errors).toHaveLength(1);
    expect(body).toEqual(await asJson.json());
  });

  it('serves no asset and no redirect', async () => {
    for (const asset of ASSETS) {
      const res = await fetch(`${server().url}/graphiql/${asset.name}`);
      expect(res.status, asset.name).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
    expect((await openInBrowser(server(), '/')).status).toBe(404);
  });
});

describe('GraphiQL with an identity provider', () => {
  let jwksDir: string | undefined;
  const server = serverFor(async () => {
    jwksDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-idp-'));
    const jwksFile = path.join(jwksDir, 'jwks.json');
    const { publicKey } = await generateKeyPair('ES256');
    await writeFile(jwksFile, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
    return {
      ...DEVELOPMENT,
      GRAPHIQL_ENABLED: 'true',
      AUTH_JWKS_FILE: jwksFile,
      AUTH_ISSUER: 'https://idp.example.test/',
      AUTH_AUDIENCE: 'gatehouse',
    };
  });
  afterAll(async () => {
    if (jwksDir) await rm(jwksDir, { recursive: true, force: true });
  });
  it('serves the page, with no token in it', async () => {
    const res = await openInBrowser(server());
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(settingsOf(html).devTokens).toEqual([]);
    expect(html).not.toMatch(/Bearer|eyJ/);
  });
});
