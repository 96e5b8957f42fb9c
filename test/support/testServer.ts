/**
 * Starts a real Gatehouse on an ephemeral loopback port for end-to-end tests, with the
 * test database (see testDatabase.ts), demo data, and a private development signing key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import {
  ensureDevSigningKey,
  mintDevToken,
  type DevTokenClaims,
} from '../../src/authn/devSigningKey.js';
import { DEMO_TENANTS, findDemoUser } from '../../src/demo/demoData.js';
import {
  createGatehouse,
  type Gatehouse,
  type GatehouseOptions,
} from '../../src/server/createGatehouse.js';
import { createTestTenant, type TestTenant } from './testDatabase.js';

/**
 * The credential key of every test server: fixed, so servers that share a PostgreSQL test
 * database (and its seeded credentials) can open each other's secrets. Test-only.
 */
export const TEST_CREDENTIAL_KEYS = `test:${Buffer.alloc(32, 7).toString('base64')}`;

/** Rate limits, lockout and WebSocket limits far above what any functional test sends. */
export const GENEROUS_EDGE_LIMITS = {
  RATE_LIMIT_USER_PER_HOUR: '1000000000',
  RATE_LIMIT_USER_BURST: '100000000',
  RATE_LIMIT_PREMIUM_PER_HOUR: '1000000000',
  RATE_LIMIT_PREMIUM_BURST: '100000000',
  RATE_LIMIT_ANONYMOUS_PER_HOUR: '1000000000',
  RATE_LIMIT_ANONYMOUS_BURST: '100000000',
  AUTH_LOCKOUT_MAX_ATTEMPTS: '100000000',
  WS_MAX_CONNECTIONS_PER_PRINCIPAL: '10000',
  WS_MAX_OPERATIONS_PER_SECOND: '10000',
} as const;

export interface GraphQLResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: {
    data?: T | null;
    errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  };
}

export interface TestServer {
  readonly url: string;
  readonly config: Config;
  readonly gatehouse: Gatehouse;
  /** A development token for a demo user (`alice`, …) with optional overrides. */
  token(user: string, overrides?: Partial<DevTokenClaims>): Promise<string>;
  /** POSTs a GraphQL operation, optionally as a bearer token. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** A private tenant (see createTestTenant) whose relationships are already in SpiceDB. */
  createTenant(userCount?: number): Promise<TestTenant>;
  /** A token for user `index` of a private tenant (user 0 is its admin). */
  tenantToken(
    tenant: TestTenant,
    index: number,
    overrides?: Partial<DevTokenClaims>,
  ): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestServer(
  env: Record<string, string | undefined> = {},
  options: GatehouseOptions = {},
): Promise<TestServer> {
  const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-keys-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DEV_KEYS_DIR: keysDir,
    PGLITE_DATA_DIR: 'memory://',
    SEED_DEMO_DATA: 'true',
    CREDENTIAL_KEYS: TEST_CREDENTIAL_KEYS,
    // Budgets no functional test reaches; the edge tests (test/e2e/rateLimits…) set their own.
    ...GENEROUS_EDGE_LIMITS,
    ...(process.env['DATABASE_URL'] ? { DATABASE_URL: process.env['DATABASE_URL'] } : {}),
    ...(process.env['DATABASE_OWNER_URL']
      ? { DATABASE_OWNER_URL: process.env['DATABASE_OWNER_URL'] }
      : {}),
    ...env,
  });
  const gatehouse = await createGatehouse(config, options);
  await gatehouse.listen();
  const url = gatehouse.url;
  return {
    url,
    config,
    gatehouse,
    async token(user, overrides = {}) {
      const demo = findDemoUser(user);
      if (!demo) throw new Error(`unknown demo user ${user}`);
      const key = await ensureDevSigningKey(keysDir);
      return mintDevToken(key, {
        subject: demo.subject,
        tenantId: DEMO_TENANTS[demo.tenant].id,
        roles: demo.roles,
        ...overrides,
      });
    },
    async gql(query, variables, token, headers = {}) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
      });
      return {
        status: res.status,
        headers: res.headers,
        body: (await res.json()) as GraphQLResponse['body'],
      } as never;
    },
    async tenantToken(tenant, index, overrides = {}) {
      const user = tenant.users[index];
      if (!user) throw new Error(`tenant ${tenant.slug} has no user ${index}`);
      const key = await ensureDevSigningKey(keysDir);
      return mintDevToken(key, { subject: user.subject, tenantId: tenant.id, ...overrides });
    },
    async createTenant(userCount = 2) {
      const tenant = await createTestTenant(gatehouse.database, userCount);
      await gatehouse.relay.drain();
      return tenant;
    },
    async stop() {
      await gatehouse.stop();
      await rm(keysDir, { recursive: true, force: true });
    },
  };
}
