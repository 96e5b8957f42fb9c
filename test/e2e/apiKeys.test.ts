/**
 * API keys end to end (gate 1 for service accounts), over HTTP and WebSocket against a
 * real server: a key authenticates as its service account in its own tenant, by
 * `Authorization: Bearer ghk_…` or `X-API-Key`; every bad key — malformed, unknown id,
 * wrong secret, revoked, expired, deactivated account — gets the one 401 any bad
 * credential gets and counts towards the lockout; a revocation holds from the next
 * request; the key's tenant is the database's, whatever else the request says; and a
 * service account with no roles is denied by the gates like anyone else.
 * (Service accounts and keys are made by the owner role here, to set what the API would
 * not — a past expiry, a chosen hash; test/e2e/serviceAccounts.test.ts uses the API.)
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadApiKeyPepper } from '../../src/authn/apiKeyPepper.js';
import { DEMO_TENANTS } from '../../src/demo/demoData.js';
import {
  createApiKey,
  createServiceAccount,
  revokeApiKey,
  type TestServiceAccount,
} from '../support/serviceAccounts.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

const UNAUTHENTICATED = {
  errors: [
    {
      message: 'Authentication required',
      extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' },
    },
  ],
};
const ME = '{ me { subject scopes authenticationMethods tenant { slug } user { id } } }';

let server: TestServer;
let pepper: Uint8Array;
let account: TestServiceAccount;

async function post(headers: Record<string, string>, query = ME): Promise<Response> {
  return fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
}

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  expect(await res.json()).toEqual(UNAUTHENTICATED);
}

describe('API keys', () => {
  beforeAll(async () => {
    server = await startTestServer();
    pepper = await loadApiKeyPepper(server.config.apiKeyPepper);
    account = await createServiceAccount(server.gatehouse.database, DEMO_TENANTS.acme.id);
  });
  afterAll(() => server.stop());

  describe('a good key', () => {
    it('authenticates as its service account, by bearer token or X-API-Key', async () => {
      const { key } = await createApiKey(server.gatehouse.database, pepper, account, {
        scopes: ['workflows:read'],
      });
      for (const headers of [{ Authorization: `Bearer ${key}` }, { 'X-API-Key': key }]) {
        const res = await post(headers);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({
          data: {
            me: {
              subject: `service:${account.id}`,
              scopes: ['workflows:read'],
              authenticationMethods: ['api_key'],
              tenant: { slug: 'acme' },
              user: null,
            },
          },
        });
      }
    });

    it('is its tenant’s: no header, token or id reaches another tenant', async () => {
      const { key } = await createApiKey(server.gatehouse.database, pepper, account);
      // A globex token beside it is ambiguous, not a way in.
      const globex = await server.token('mallory');
      await expectRefused(await post({ Authorization: `Bearer ${globex}`, 'X-API-Key': key }));
      // Another tenant's object by id looks like nothing at all.
      const res = await post(
        { 'X-API-Key': key },
        `{ user(id: "${DEMO_TENANTS.globex.id}") { id } me { tenant { slug } } }`,
      );
      const body = (await res.json()) as {
        data: { user: unknown; me: { tenant: { slug: string } } };
      };
      expect(body.data.user).toBeNull();
      expect(body.data.me.tenant.slug).toBe('acme');
    });

    it('holds no role: the gates deny it like anyone without relationships', async () => {
      const { key } = await createApiKey(server.gatehouse.database, pepper, account);
      const res = await post(
        { 'X-API-Key': key },
        '{ workflows(first: 5) { edges { node { id } } } }',
      );
      const body = (await res.json()) as {
        data: { workflows: { edges: unknown[] } } | null;
        errors?: Array<{ extensions: { code: string } }>;
      };
      // Nothing of the tenant's workflows: an empty page or a denial, never data.
      if (body.data?.workflows) expect(body.data.workflows.edges).toEqual([]);
      else expect(body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    });

    it('authenticates a WebSocket connection too', async () => {
      const { key } = await createApiKey(server.gatehouse.database, pepper, account);
      const client = createClient({
        url: `${server.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key}` },
        retryAttempts: 0,
      });
      try {
        const result = await new Promise<unknown>((resolve, reject) => {
          client.subscribe(
            { query: '{ me { subject } }' },
            { next: resolve, error: reject, complete: () => undefined },
          );
        });
        expect(result).toEqual({ data: { me: { subject: `service:${account.id}` } } });
      } finally {
        await client.dispose();
      }
    });
  });

  describe('a bad key', () => {
    it('gets the 401 of any bad credential, whatever is wrong with it', async () => {
      const db = server.gatehouse.database;
      const good = await createApiKey(db, pepper, account);
      const revoked = await createApiKey(db, pepper, account, { revokedAt: new Date() });
      const expired = await createApiKey(db, pepper, account, {
        expiresAt: new Date(Date.now() - 1000),
      });
      const inactive = await createApiKey(
        db,
        pepper,
        await createServiceAccount(db, DEMO_TENANTS.acme.id, false),
      );
      const wrongSecret = `${good.key.slice(0, -43)}${'A'.repeat(42)}A`;
      const unknownId = `ghk_${'0'.repeat(24)}${good.key.slice(-44)}`;
      for (const key of [
        'ghk_not-a-key',
        unknownId,
        wrongSecret,
        revoked.key,
        expired.key,
        inactive.key,
      ]) {
        await expectRefused(await post({ 'X-API-Key': key }));
        await expectRefused(await post({ Authorization: `Bearer ${key}` }));
      }
    });

    it('is refused from the request after its revocation commits, under concurrent use', async () => {
      const db = server.gatehouse.database;
      const key = await createApiKey(db, pepper, account);
      const headers = { 'X-API-Key': key.key };
      expect((await post(headers)).status).toBe(200);
      let revoked = false;
      const after: number[] = [];
      // Clients keep using the key while it is revoked; each request sent after the
      // revocation committed must be refused.
      const clients = Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 15; i++) {
          const sentAfterRevocation = revoked;
          const res = await post(headers);
          await res.body?.cancel();
          if (sentAfterRevocation) after.push(res.status);
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await revokeApiKey(db, key);
      revoked = true;
      await Promise.all(clients);
      expect(after.length).toBeGreaterThan(0);
      expect(new Set(after)).toEqual(new Set([401]));
    });
  });
});

// A server of its own (after the other has stopped: one embedded SpiceDB per database).
describe('the lockout', () => {
  it('counts bad API keys like any failed authentication', async () => {
    const locking = await startTestServer({ AUTH_LOCKOUT_MAX_ATTEMPTS: '3' });
    try {
      const send = (key: string) =>
        fetch(`${locking.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
          body: JSON.stringify({ query: '{ health }' }),
        });
      const bad = `ghk_${'1'.repeat(24)}_${'B'.repeat(43)}`;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await send(bad)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await locking.stop();
    }
  });
});

// A server of its own again, holding identity-provider tokens to scopes as well.
describe('AUTH_REQUIRE_SCOPES', () => {
  it('holds identity-provider tokens to @requiresScopes too', async () => {
    const strict = await startTestServer({ AUTH_REQUIRE_SCOPES: 'true' });
    try {
      const ask = async (token: string, query: string) => {
        const res = await fetch(`${strict.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({ query }),
        });
        return (await res.json()) as {
          data?: Record<string, unknown> | null;
          errors?: Array<{ extensions: { code: string; gate?: string } }>;
        };
      };
      const LIST = '{ workflows(first: 1) { totalCount } }';
      const bare = await strict.token('alice');
      const denied = await ask(bare, LIST);
      expect(denied.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', gate: 'scope' });
      // `me` needs no scope.
      expect((await ask(bare, '{ me { subject } }')).data).toEqual({
        me: { subject: 'demo|alice' },
      });
      const scoped = await strict.token('alice', { scopes: ['openid', 'workflows:read'] });
      const allowed = await ask(scoped, LIST);
      expect(allowed.errors).toBeUndefined();
      expect((allowed.data?.['workflows'] as { totalCount: number }).totalCount).toBeGreaterThan(0);
      const wildcard = await strict.token('alice', { scopes: ['workflows:*'] });
      expect((await ask(wildcard, LIST)).errors).toBeUndefined();
    } finally {
      await strict.stop();
    }
  });
});
