/**
 * Rate limits and lockout, attacked over HTTP and WebSocket against real servers:
 * per-principal budgets that take each operation's cost (429, Retry-After, the RateLimit
 * headers, RATE_LIMITED, nothing executed), anonymous budgets per client address with and
 * without TRUST_PROXY, the lockout of an address after failed authentication (even for a
 * valid token), one budget shared by two server processes through Redis, per-instance
 * limits while Redis is down, and a burst of 1,000 requests during which the server keeps
 * answering /readyz, never fails, and never answers across tenants.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ensureDevSigningKey, mintDevToken } from '../../src/authn/devSigningKey.js';
import { DEMO_TENANTS } from '../../src/demo/demoData.js';
import { buildBaseSchema } from '../../src/graphql/buildSchema.js';
import { checkQueryLimits } from '../../src/operation/limits/QueryLimits.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/testServer.js';
import { recordingLogger } from '../support/recordingLogger.js';
import {
  embeddedProcessEnv,
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from '../../tools/serverProcess.js';
import { spicedbRpcs } from '../support/spicedbCalls.js';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const LIST = '{ workflows(first: 20) { edges { node { id name } } } }';

/** The query cost the server computes for `query` (limits/measureOperation.ts). */
function costOf(query: string): number {
  return checkQueryLimits(
    buildBaseSchema(),
    parse(query),
    null,
    {},
    {
      maxTokens: 1e6,
      maxDepth: 100,
      maxAliases: 1e6,
      maxDirectives: 1e6,
      maxCost: 1e9,
      listSize: 10,
      maxPage: 100,
      defaultPage: 20,
    },
  ).cost;
}

/** `RateLimit: "user";r=5;t=10` → 5 */
function remaining(res: GraphQLResponse): number {
  const match = /;r=(\d+);/.exec(res.headers.get('ratelimit') ?? '');
  expect(match, 'RateLimit header').not.toBeNull();
  return Number(match?.[1]);
}

function expectRateLimited(res: GraphQLResponse, policy: string): void {
  expect(res.status).toBe(429);
  expect(res.body.data).toBeUndefined();
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(res.headers.get('ratelimit-policy')).toMatch(new RegExp(`^"${policy}";q=\\d+;w=\\d+$`));
  expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"${policy}";r=\\d+;t=\\d+$`));
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors?.[0]?.extensions).toMatchObject({
    code: 'RATE_LIMITED',
    retryAfter,
    policy,
  });
  expect(res.body.errors?.[0]?.message).toMatch(/^Rate limit exceeded: .* retry after \d+ s$/);
}

type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;
type Outcome = { kind: 'result'; result: Result } | { kind: 'error'; error: unknown };

function wsClient(server: TestServer, token: string | undefined): Client {
  return createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

function run(client: Client, query: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let result: Result | undefined;
    client.subscribe(
      { query },
      {
        next: (value) => (result = value),
        error: (error: unknown) => resolve({ kind: 'error', error }),
        complete: () => resolve({ kind: 'result', result: result ?? {} }),
      },
    );
  });
}

describe('per-principal budgets (cost-aware)', () => {
  let server: TestServer;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({
      RATE_LIMIT_USER_PER_HOUR: '40',
      RATE_LIMIT_USER_BURST: '40',
      RATE_LIMIT_PREMIUM_PER_HOUR: '1000',
      RATE_LIMIT_PREMIUM_BURST: '1000',
      RATE_LIMIT_COST_PER_POINT: '10',
    });
    bob = await server.token('bob');
  });
  afterAll(async () => {
    await server.stop();
  });

  it('advertises the budget on every answer and takes each operation its cost in points', async () => {
    const first = await server.gql('{ health }', undefined, bob);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"user";q=40;w=3600');
    expect(first.headers.get('ratelimit')).toMatch(/^"user";r=39;t=\d+$/);
    const points = Math.ceil(costOf(LIST) / 10);
    expect(points).toBeGreaterThan(1);
    const list = await server.gql(LIST, undefined, bob);
    expect(list.status).toBe(200);
    expect(remaining(list)).toBe(39 - points);
  });

  it('refuses an operation over the budget with 429 and nothing executed; others keep theirs', async () => {
    let last: GraphQLResponse | undefined;
    for (let i = 0; i < 40; i += 1) {
      last = await server.gql(LIST, undefined, bob);
      if (last.status === 429) break;
      expect(last.status).toBe(200);
    }
    expectRateLimited(last!, 'user');
    expect(last!.body.errors?.[0]?.extensions?.['points']).toBe(Math.ceil(costOf(LIST) / 10));
    const rpcs = await spicedbRpcs(server.gatehouse);
    const transactions = server.gatehouse.database.tenants.transactionsStarted;
    expectRateLimited(await server.gql(LIST, undefined, bob), 'user');
    expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
    expect(server.gatehouse.database.tenants.transactionsStarted).toBe(transactions);
    // Another user, and another tenant's admin, are not limited by bob's budget.
    expect((await server.gql(LIST, undefined, await server.token('alice'))).status).toBe(200);
    expect((await server.gql(LIST, undefined, await server.token('mallory'))).status).toBe(200);
    // A budget is the principal's, whichever transport: over WebSocket the operation gets
    // RATE_LIMITED and the socket stays open for the next one.
    const client = wsClient(server, bob);
    for (let i = 0; i < 2; i += 1) {
      const outcome = await run(client, LIST);
      expect(outcome.kind).toBe('error');
      const errors = (outcome as { error: Array<{ extensions?: Record<string, unknown> }> }).error;
      expect(errors[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', policy: 'user' });
    }
    await client.dispose();
  });

  it('gives a principal with the premium scope the premium budget', async () => {
    const premium = await server.token('carol', { scopes: ['gatehouse:premium'] });
    const res = await server.gql('{ health }', undefined, premium);
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-policy')).toBe('"premium";q=1000;w=3600');
  });

  it('takes a point for a document refused before it had a cost, so bad documents are limited too', async () => {
    const dave = await server.token('dave');
    const statuses: number[] = [];
    for (let i = 0; i < 41; i += 1)
      statuses.push((await server.gql('{ health', undefined, dave)).status);
    expect(statuses.slice(0, 40)).toEqual(Array<number>(40).fill(400));
    expect(statuses[40]).toBe(429);
    // So do documents refused from their text alone, before Apollo sees them.
    const erin = await server.token('erin');
    const huge = `{ ${'health '.repeat(6_000)}}`;
    const early: number[] = [];
    for (let i = 0; i < 41; i += 1) early.push((await server.gql(huge, undefined, erin)).status);
    expect(early.slice(0, 40)).toEqual(Array<number>(40).fill(400));
    expect(early[40]).toBe(429);
  });
});

describe('anonymous budgets per client address', () => {
  it('ignores X-Forwarded-For by default: one budget for the peer address', async () => {
    const server = await startTestServer({
      RATE_LIMIT_ANONYMOUS_PER_HOUR: '3',
      RATE_LIMIT_ANONYMOUS_BURST: '3',
    });
    try {
      for (let i = 0; i < 3; i += 1) {
        const ok = await server.gql('{ health }', undefined, undefined, {
          'X-Forwarded-For': `198.51.100.${i}`,
        });
        expect(ok.status).toBe(200);
        expect(ok.headers.get('ratelimit-policy')).toBe('"anonymous";q=3;w=3600');
      }
      const refused = await server.gql('{ health }', undefined, undefined, {
        'X-Forwarded-For': '198.51.100.99',
      });
      expectRateLimited(refused, 'anonymous');
      // A valid token is a principal with a budget of its own.
      expect((await server.gql('{ health }', undefined, await server.token('bob'))).status).toBe(
        200,
      );
    } finally {
      await server.stop();
    }
  });

  it('with TRUST_PROXY, keys each forwarded client separately', async () => {
    const server = await startTestServer({
      RATE_LIMIT_ANONYMOUS_PER_HOUR: '2',
      RATE_LIMIT_ANONYMOUS_BURST: '2',
      TRUST_PROXY: '127.0.0.1',
    });
    try {
      const from = (ip: string) =>
        server.gql('{ health }', undefined, undefined, { 'X-Forwarded-For': ip });
      expect((await from('198.51.100.1')).status).toBe(200);
      expect((await from('198.51.100.1')).status).toBe(200);
      expectRateLimited(await from('198.51.100.1'), 'anonymous');
      expect((await from('198.51.100.2')).status).toBe(200);
      // A client's own entry left of the address the proxy saw is not believed.
      expectRateLimited(await from('203.0.113.50, 198.51.100.1'), 'anonymous');
    } finally {
      await server.stop();
    }
  });
});

describe('lockout after failed authentication', () => {
  let server: TestServer;
  const { logger, lines } = recordingLogger();
  beforeAll(async () => {
    server = await startTestServer(
      {
        AUTH_LOCKOUT_MAX_ATTEMPTS: '3',
        AUTH_LOCKOUT_WINDOW_MS: '60000',
        AUTH_LOCKOUT_MS: '1500',
        TRUST_PROXY: '127.0.0.1',
      },
      { logger },
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Runs `{ health }` over a WebSocket from `ip` (via the trusted proxy): the close code, if closed. */
  async function wsCloseFrom(ip: string, token: string): Promise<number | undefined> {
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: { 'X-Forwarded-For': ip } });
        }
      },
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    const outcome = await run(client, '{ health }');
    await client.dispose();
    return outcome.kind === 'error' ? (outcome.error as { code?: number }).code : undefined;
  }

  it('locks an address after the attempts, even for a valid token, then lets it in again', async () => {
    const from = (ip: string, token?: string) =>
      server.gql('{ health }', undefined, token, { 'X-Forwarded-For': ip });
    for (let i = 0; i < 3; i += 1) {
      const bad = await from('203.0.113.5', 'not-a-token');
      expect(bad.status).toBe(401);
      expect(bad.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    }
    const bob = await server.token('bob');
    const rpcs = await spicedbRpcs(server.gatehouse);
    const locked = await from('203.0.113.5', bob);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(locked.body).toEqual({
      errors: [
        {
          message: expect.stringMatching(
            /^Too many failed authentication attempts from this address; retry after \d s$/,
          ) as unknown,
          extensions: {
            code: 'RATE_LIMITED',
            retryAfter: Number(locked.headers.get('retry-after')),
          },
        },
      ],
    });
    expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
    // Over WebSocket the locked address cannot connect either.
    expect(await wsCloseFrom('203.0.113.5', bob)).toBe(4429);
    // Another address is not locked.
    expect((await from('203.0.113.6', bob)).status).toBe(200);
    expect(lines.filter((l) => l.message === 'authentication lockout begins')).toEqual([
      {
        level: 'warn',
        message: 'authentication lockout begins',
        fields: { clientIp: '203.0.113.5', attempts: 3, windowMs: 60000, lockMs: 1500 },
      },
    ]);
    expect(server.gatehouse.edge.lockout.counters).toMatchObject({ failures: 3, locks: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    expect((await from('203.0.113.5', bob)).status).toBe(200);
    expect(lines.some((l) => l.message === 'authentication lockout ends')).toBe(true);
  });

  it('counts bad tokens in connection_init towards the same lockout as over HTTP', async () => {
    for (let i = 0; i < 3; i += 1)
      expect(await wsCloseFrom('203.0.113.77', 'not-a-token')).toBe(4401);
    const rpcs = await spicedbRpcs(server.gatehouse);
    const locked = await server.gql('{ me { subject } }', undefined, await server.token('bob'), {
      'X-Forwarded-For': '203.0.113.77',
    });
    expect(locked.status).toBe(429);
    expect(locked.body.errors?.[0]?.extensions?.['code']).toBe('RATE_LIMITED');
    expect(locked.body.data).toBeUndefined();
    expect(JSON.stringify(locked.body)).not.toContain('demo|bob');
    expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
  });
});

/** A port nothing listens on (free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('the shared store', () => {
  const processes: ServerProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(processes.map(stopServerProcess));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /** `npm start`'s entry point as its own process, on an embedded database of its own. */
  async function startProcess(env: Record<string, string>): Promise<string> {
    const server = await startServerProcess(embeddedProcessEnv(env));
    processes.push(server);
    return server.url;
  }

  async function post(url: string, token?: string): Promise<Response> {
    return fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: '{ health }' }),
    });
  }

  it('two server processes share one budget through Redis, not one each', async () => {
    const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-rl-'));
    dirs.push(keysDir);
    const env = {
      DEV_KEYS_DIR: keysDir,
      REDIS_URL,
      RATE_LIMIT_REDIS_PREFIX: `gatehouse-test:${randomUUID()}:`,
      RATE_LIMIT_ANONYMOUS_PER_HOUR: '4',
      RATE_LIMIT_ANONYMOUS_BURST: '4',
      RATE_LIMIT_USER_PER_HOUR: '3',
      RATE_LIMIT_USER_BURST: '3',
    };
    const [a, b] = await Promise.all([startProcess(env), startProcess(env)]);
    const statuses = [];
    for (const url of [a, b, a, b, a, b]) statuses.push((await post(url)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    // A user's budget too: the same token on either process draws from one bucket.
    const key = await ensureDevSigningKey(keysDir);
    const token = await mintDevToken(key, { subject: 'demo|bob', tenantId: DEMO_TENANTS.acme.id });
    const users = [];
    for (const url of [b, a, b, a]) users.push((await post(url, token)).status);
    expect(users).toEqual([200, 200, 200, 429]);
  });

  it('while Redis is down, limits hold per instance (never none, never all refused), and it is logged', async () => {
    const { logger, lines } = recordingLogger();
    const server = await startTestServer(
      {
        REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
        RATE_LIMIT_ANONYMOUS_PER_HOUR: '3',
        RATE_LIMIT_ANONYMOUS_BURST: '3',
      },
      { logger },
    );
    try {
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await server.gql('{ health }')).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(
        lines.filter(
          (l) =>
            l.message === 'rate-limit store unavailable: limits hold per instance until it is back',
        ),
      ).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});

describe('a burst of 1,000 requests from one principal', () => {
  it('answers some 429 with Retry-After, never a 500 or another tenant’s data, and stays ready', async () => {
    const server = await startTestServer({
      RATE_LIMIT_USER_PER_HOUR: '300',
      RATE_LIMIT_USER_BURST: '300',
    });
    try {
      const bob = await server.token('bob');
      const acmeWorkflows = new Set<string>();
      const first = await server.gql<{ workflows: { edges: Array<{ node: { id: string } }> } }>(
        '{ workflows(first: 50) { edges { node { id } } } }',
        undefined,
        await server.token('alice'),
      );
      for (const edge of first.body.data!.workflows.edges) acmeWorkflows.add(edge.node.id);
      const globexToken = await server.token('mallory');
      const globexRes = await server.gql<{ workflows: { edges: Array<{ node: { id: string } }> } }>(
        '{ workflows(first: 50) { edges { node { id } } } }',
        undefined,
        globexToken,
      );
      const globexWorkflows = new Set(globexRes.body.data!.workflows.edges.map((e) => e.node.id));
      expect(globexWorkflows.size).toBeGreaterThan(0);

      const load = { running: true };
      const readiness: number[] = [];
      const probe = (async () => {
        while (load.running) {
          readiness.push((await fetch(`${server.url}/readyz`)).status);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const statuses = new Map<number, number>();
      const seen = new Set<string>();
      let missingRetryAfter = 0;
      let next = 0;
      const worker = async () => {
        while (next < 1_000) {
          next += 1;
          const res = await server.gql<{ workflows: { edges: Array<{ node: { id: string } }> } }>(
            '{ workflows(first: 5) { edges { node { id } } } }',
            undefined,
            bob,
          );
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 429 && !res.headers.get('retry-after')) missingRetryAfter += 1;
          for (const edge of res.body.data?.workflows.edges ?? []) seen.add(edge.node.id);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      load.running = false;
      await probe;

      expect([...statuses.keys()].sort()).toEqual([200, 429]);
      expect((statuses.get(200) ?? 0) + (statuses.get(429) ?? 0)).toBe(1_000);
      expect(statuses.get(429)).toBeGreaterThan(0);
      expect(missingRetryAfter).toBe(0);
      for (const id of seen) expect(globexWorkflows.has(id), id).toBe(false);
      expect(readiness.length).toBeGreaterThan(0);
      expect(readiness.every((s) => s === 200)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
