/**
 * Gate 1 end to end: adversarial bearer tokens against a real server over HTTP and
 * WebSocket. Every rejected credential must look exactly the same to the caller (HTTP 401,
 * UNAUTHENTICATED, one message, no data), whatever the reason, and never a 500.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ensureDevSigningKey } from '../../src/authn/devSigningKey.js';
import { MAX_TOKEN_LENGTH } from '../../src/authn/TokenVerifier.js';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.js';
import { DEMO_TEAMS, DEMO_TENANTS, DEMO_WORKFLOWS } from '../../src/demo/demoData.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

const MESSAGE = 'Authentication required';
const CLOSE_UNAUTHORIZED = 4401;

/** Would return tenant and workflow data to an authenticated caller. */
const PROBE = '{ me { subject tenant { slug name } } workflows { edges { node { name } } } }';

/** Strings that must never appear in the answer to an unauthenticated request. */
const SECRETS = [
  'demo|',
  ...Object.values(DEMO_TENANTS).flatMap((t) => [t.id, t.slug, t.name]),
  ...DEMO_TEAMS.map((t) => t.name),
  ...DEMO_WORKFLOWS.map((w) => w.name),
].map((s) => s.toLowerCase());

interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Everything a test needs to forge tokens: the server's real key and an attacker's. */
interface Keys {
  readonly kid: string;
  readonly privateKey: CryptoKey | Uint8Array;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly attacker: { readonly privateKey: CryptoKey; readonly publicJwk: JWK };
  readonly attackerRsa: CryptoKey;
}

function claims(overrides: Record<string, unknown> = {}, omit: readonly string[] = []): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: DEV_ISSUER,
    aud: DEV_AUDIENCE,
    sub: 'demo|alice',
    tenant_id: DEMO_TENANTS.acme.id,
    roles: ['ADMIN', 'MEMBER'],
    scope: '',
    amr: ['pwd'],
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    ...overrides,
  };
  for (const name of omit) payload[name] = undefined;
  return JSON.parse(JSON.stringify(payload)) as JWTPayload;
}

function sign(
  keys: Keys,
  payload: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
  key: CryptoKey | Uint8Array = keys.privateKey,
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: keys.kid, typ: 'JWT', ...header })
    .sign(key);
}

/** Replaces the payload of a signed token, keeping its header and signature. */
function withPayload(token: string, change: (payload: JWTPayload) => JWTPayload): string {
  const [header, payload, signature] = token.split('.');
  const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as JWTPayload;
  return `${header!}.${b64url(change(decoded))}.${signature!}`;
}

interface AdversarialCase {
  readonly name: string;
  /** The complete Authorization header value. */
  readonly authorization: string | ((keys: Keys) => Promise<string> | string);
}

async function headerOf(c: AdversarialCase, keys: Keys): Promise<string> {
  return typeof c.authorization === 'string' ? c.authorization : c.authorization(keys);
}

const bearer =
  (make: (keys: Keys) => Promise<string> | string) =>
  async (keys: Keys): Promise<string> =>
    `Bearer ${await make(keys)}`;

const CASES: readonly AdversarialCase[] = [
  // Unsigned and algorithm confusion.
  {
    name: 'alg none, empty signature',
    authorization: bearer(() => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`),
  },
  {
    name: 'alg NONE, keeping a real signature',
    authorization: bearer(async (keys) => {
      const real = await sign(keys, claims());
      return `${b64url({ alg: 'NONE', typ: 'JWT' })}.${b64url(claims())}.${real.split('.')[2]!}`;
    }),
  },
  {
    name: 'HS256 with the server public key (SPKI PEM) as the secret',
    authorization: bearer(async (keys) => {
      const pem = await exportSPKI(keys.publicKey);
      return sign(keys, claims(), { alg: 'HS256' }, new TextEncoder().encode(pem));
    }),
  },
  {
    name: 'HS256 with the server public key (raw bytes) as the secret',
    authorization: bearer(async (keys) => {
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
      return sign(keys, claims(), { alg: 'HS256' }, raw);
    }),
  },
  {
    name: 'HS256 with the server public JWK (JSON) as the secret',
    authorization: bearer((keys) =>
      sign(
        keys,
        claims(),
        { alg: 'HS256' },
        new TextEncoder().encode(JSON.stringify(keys.publicJwk)),
      ),
    ),
  },
  {
    name: 'RS256 (not in the allowlist) from an attacker key with the real kid',
    authorization: bearer((keys) => sign(keys, claims(), { alg: 'RS256' }, keys.attackerRsa)),
  },
  // Tampering and foreign keys.
  {
    name: 'tampered payload: another tenant_id, original signature',
    authorization: bearer(async (keys) =>
      withPayload(await sign(keys, claims()), (p) => ({
        ...p,
        tenant_id: DEMO_TENANTS.globex.id,
      })),
    ),
  },
  {
    name: 'tampered payload: extra role, original signature',
    authorization: bearer(async (keys) =>
      withPayload(await sign(keys, claims({ sub: 'demo|bob', roles: ['MEMBER'] })), (p) => ({
        ...p,
        roles: ['ADMIN', 'MEMBER'],
      })),
    ),
  },
  {
    name: 'garbled signature',
    authorization: bearer(async (keys) => {
      const [h, p] = (await sign(keys, claims())).split('.');
      return `${h!}.${p!}.${b64url('x'.repeat(64))}`;
    }),
  },
  {
    name: 'unknown kid (a different ES256 key)',
    authorization: bearer((keys) =>
      sign(keys, claims(), { kid: 'attacker-key' }, keys.attacker.privateKey),
    ),
  },
  {
    name: 'different ES256 key claiming the real kid',
    authorization: bearer((keys) => sign(keys, claims(), {}, keys.attacker.privateKey)),
  },
  {
    name: 'different ES256 key without a kid',
    authorization: bearer((keys) =>
      new SignJWT(claims()).setProtectedHeader({ alg: 'ES256' }).sign(keys.attacker.privateKey),
    ),
  },
  {
    name: 'embedded jwk header with the attacker key, attacker kid',
    authorization: bearer((keys) =>
      sign(
        keys,
        claims(),
        { kid: 'attacker-key', jwk: keys.attacker.publicJwk },
        keys.attacker.privateKey,
      ),
    ),
  },
  {
    name: 'embedded jwk header with the attacker key, real kid',
    authorization: bearer((keys) =>
      sign(keys, claims(), { jwk: keys.attacker.publicJwk }, keys.attacker.privateKey),
    ),
  },
  {
    name: 'embedded jwk header on a token signed by the real key',
    authorization: bearer((keys) => sign(keys, claims(), { jwk: keys.publicJwk })),
  },
  {
    name: 'jku header pointing at an attacker key set',
    authorization: bearer((keys) =>
      sign(
        keys,
        claims(),
        { kid: 'attacker-key', jku: 'https://attacker.example/jwks.json' },
        keys.attacker.privateKey,
      ),
    ),
  },
  {
    name: 'jku header on a token signed by the real key',
    authorization: bearer((keys) =>
      sign(keys, claims(), { jku: 'https://attacker.example/jwks.json' }),
    ),
  },
  {
    name: 'x5u header on a token signed by the real key',
    authorization: bearer((keys) =>
      sign(keys, claims(), { x5u: 'https://attacker.example/cert.pem' }),
    ),
  },
  // Claims.
  {
    name: 'wrong issuer',
    authorization: bearer((keys) => sign(keys, claims({ iss: 'https://evil.example/' }))),
  },
  {
    name: 'wrong audience',
    authorization: bearer((keys) => sign(keys, claims({ aud: 'someone-else' }))),
  },
  {
    name: 'expired beyond the clock tolerance',
    authorization: bearer((keys) => {
      const now = Math.floor(Date.now() / 1000);
      return sign(keys, claims({ iat: now - 600, exp: now - 60 }));
    }),
  },
  {
    name: 'nbf in the future',
    authorization: bearer((keys) =>
      sign(keys, claims({ nbf: Math.floor(Date.now() / 1000) + 120 })),
    ),
  },
  {
    name: 'missing exp',
    authorization: bearer((keys) => sign(keys, claims({}, ['exp']))),
  },
  {
    name: 'exp not a number',
    authorization: bearer((keys) => sign(keys, claims({ exp: 'never' }))),
  },
  {
    name: 'missing sub',
    authorization: bearer((keys) => sign(keys, claims({}, ['sub']))),
  },
  {
    name: 'missing tenant claim',
    authorization: bearer((keys) => sign(keys, claims({}, ['tenant_id']))),
  },
  {
    name: 'tenant claim not a UUID',
    authorization: bearer((keys) => sign(keys, claims({ tenant_id: 'acme' }))),
  },
  {
    name: 'tenant claim an array of UUIDs',
    authorization: bearer((keys) =>
      sign(keys, claims({ tenant_id: [DEMO_TENANTS.acme.id, DEMO_TENANTS.globex.id] })),
    ),
  },
  {
    name: 'roles claim not an array of strings',
    authorization: bearer((keys) => sign(keys, claims({ roles: 'ADMIN' }))),
  },
  // Garbage and wrong schemes.
  { name: 'garbage: abc', authorization: 'Bearer abc' },
  { name: 'garbage: three dots', authorization: 'Bearer ...' },
  { name: 'garbage: two dots', authorization: 'Bearer ..' },
  { name: 'garbage: not base64url', authorization: 'Bearer eyJ!!.@@@.$$$' },
  { name: 'garbage: non-JSON segments', authorization: `Bearer ${b64url('hello')}.e30.AAAA` },
  {
    // Long, but under Node's 16 KiB header limit so it reaches the verifier.
    name: 'garbage: 15,000-character token',
    authorization: `Bearer ${'a'.repeat(10_000)}.${'b'.repeat(4_998)}.c`,
  },
  { name: 'two tokens', authorization: 'Bearer abc def' },
  {
    name: 'Basic scheme',
    authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}`,
  },
  { name: 'Bearer without a token', authorization: 'Bearer' },
  {
    name: 'valid token under another scheme',
    authorization: async (keys) => `Token ${await sign(keys, claims())}`,
  },
];

describe('authentication (gate 1) end to end', () => {
  let server: TestServer;
  let keys: Keys;

  beforeAll(async () => {
    server = await startTestServer();
    const jwks = server.config.auth.jwks;
    if (jwks.kind !== 'dev') throw new Error('the test server uses the development key');
    const dev = await ensureDevSigningKey(jwks.keysDir);
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256');
    keys = {
      kid: dev.kid,
      privateKey: await importJWK(dev.privateJwk, 'ES256'),
      publicKey: (await importJWK(dev.publicJwk, 'ES256', { extractable: true })) as CryptoKey,
      publicJwk: dev.publicJwk,
      attacker: { privateKey: attacker.privateKey, publicJwk: await exportJWK(attacker.publicKey) },
      attackerRsa: rsa.privateKey,
    };
  });
  afterAll(async () => {
    await server.stop();
  });

  async function post(authorization: string | undefined, query = PROBE): Promise<RawResponse> {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(authorization === undefined ? {} : { Authorization: authorization }),
      },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  function expectUnauthenticated(res: RawResponse): void {
    expect(res.status).toBe(401);
    const lower = res.text.toLowerCase();
    for (const secret of SECRETS) expect(lower).not.toContain(secret);
    const body = JSON.parse(res.text) as {
      data?: unknown;
      errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
    };
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.message).toBe(MESSAGE);
    expect(body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  }

  describe('positive controls', () => {
    it('accepts a valid token signed by the server key', async () => {
      const res = await post(`Bearer ${await sign(keys, claims())}`, '{ me { subject } }');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ data: { me: { subject: 'demo|alice' } } });
    });

    it('returns tenant data to a valid token (so the leak check can see it)', async () => {
      const res = await post(
        `Bearer ${await sign(keys, claims())}`,
        '{ me { subject tenant { slug name } } }',
      );
      expect(res.status).toBe(200);
      expect(res.text.toLowerCase()).toContain(DEMO_TENANTS.acme.slug);
    });

    it('accepts the bearer scheme case-insensitively', async () => {
      const res = await post(`bearer ${await sign(keys, claims())}`, '{ me { subject } }');
      expect(res.status).toBe(200);
    });

    it('accepts a token expired by less than the clock tolerance', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await sign(keys, claims({ iat: now - 60, exp: now - 1 }));
      const res = await post(`Bearer ${token}`, '{ me { subject } }');
      expect(res.status).toBe(200);
    });
  });

  describe('anonymous requests', () => {
    it('answers the @public health field', async () => {
      const res = await post(undefined, '{ health }');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ data: { health: 'ok' } });
    });

    // The rule (README, "GraphQL over HTTP: the answers"): a 401 only when nothing could
    // be answered (data null) and every error is UNAUTHENTICATED; data beside it is a 200.
    it('refuses an @authenticated field with 401 UNAUTHENTICATED and WWW-Authenticate', async () => {
      const res = await post(undefined, '{ me { subject } }');
      expectUnauthenticated(res);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('refuses the probe query without leaking data', async () => {
      expectUnauthenticated(await post(undefined));
    });

    it('answers a public field beside a refused one: 200 with the data, never a 401', async () => {
      const query = '{ health workflow(id: "00000000-0000-4000-8000-000000000001") { id } }';
      const res = await post(undefined, query);
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text) as { data: Record<string, unknown>; errors: unknown[] };
      expect(body.data).toEqual({ health: 'ok', workflow: null });
      expect(body.errors).toMatchObject([
        { path: ['workflow'], extensions: { code: 'UNAUTHENTICATED' } },
      ]);
    });

    it('treats an empty Authorization header as anonymous', async () => {
      const res = await post('', '{ health }');
      expect(res.status).toBe(200);
    });
  });

  describe('rejected credentials over HTTP', () => {
    it.each(CASES)('$name', async (c) => {
      const res = await post(await headerOf(c, keys));
      expectUnauthenticated(res);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });

    it('rejects even for the @public field (never downgraded to anonymous)', async () => {
      expectUnauthenticated(await post('Bearer abc', '{ health }'));
      const expired = claims({ exp: Math.floor(Date.now() / 1000) - 60 });
      expectUnauthenticated(await post(`Bearer ${await sign(keys, expired)}`, '{ health }'));
    });

    it('refuses a 20k token before it reaches the application (never a 500)', async () => {
      // Node's HTTP parser caps headers at 16 KiB and answers 431 itself; the verifier's
      // own length limit is covered over WebSocket below.
      const res = await post(`Bearer ${'a'.repeat(20_000)}`);
      expect([401, 431]).toContain(res.status);
      const lower = res.text.toLowerCase();
      for (const secret of SECRETS) expect(lower).not.toContain(secret);
    });
  });

  describe('WebSocket', () => {
    const clients: Client[] = [];
    afterAll(() => {
      for (const client of clients) void client.dispose();
    });

    function connect(
      authorization: string | undefined,
      options: {
        connectionParams?: Record<string, unknown>;
        lazy?: boolean;
        on?: { closed?: (event: unknown) => void; connected?: () => void };
      } = {},
    ): Client {
      const client = createClient({
        url: `${server.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams:
          options.connectionParams ?? (authorization === undefined ? {} : { authorization }),
        retryAttempts: 0,
        lazy: options.lazy ?? true,
        onNonLazyError: () => undefined,
        on: options.on ?? {},
      });
      clients.push(client);
      return client;
    }

    type Outcome =
      | {
          readonly kind: 'result';
          readonly result: FormattedExecutionResult<Record<string, unknown>, unknown>;
        }
      | { readonly kind: 'error'; readonly error: unknown };

    function run(client: Client, query: string): Promise<Outcome> {
      return new Promise((resolve) => {
        let result: FormattedExecutionResult<Record<string, unknown>, unknown> | undefined;
        client.subscribe(
          { query },
          {
            next: (value) => {
              result = value;
            },
            error: (error: unknown) => resolve({ kind: 'error', error }),
            complete: () =>
              resolve(
                result
                  ? { kind: 'result', result }
                  : { kind: 'error', error: new Error('no result') },
              ),
          },
        );
      });
    }

    function closeCodeOf(outcome: Outcome): number | undefined {
      if (outcome.kind !== 'error') return undefined;
      const { error } = outcome;
      return typeof error === 'object' && error !== null && 'code' in error
        ? (error as { code: number }).code
        : undefined;
    }

    it('runs me for a valid token', async () => {
      const client = connect(`Bearer ${await server.token('alice')}`);
      const outcome = await run(client, '{ me { subject } }');
      expect(outcome).toEqual({
        kind: 'result',
        result: { data: { me: { subject: 'demo|alice' } } },
      });
    });

    it('runs health anonymously but refuses me', async () => {
      const client = connect(undefined);
      expect(await run(client, '{ health }')).toEqual({
        kind: 'result',
        result: { data: { health: 'ok' } },
      });
      const outcome = await run(client, '{ me { subject } }');
      expect(outcome.kind).toBe('result');
      if (outcome.kind !== 'result') return;
      expect(outcome.result.data ?? null).toBeNull();
      expect(outcome.result.errors?.[0]?.message).toBe(MESSAGE);
      expect(outcome.result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    });

    const WS_CASES: readonly AdversarialCase[] = [
      ...CASES.filter((c) =>
        [
          'alg none, empty signature',
          'HS256 with the server public key (SPKI PEM) as the secret',
          'tampered payload: another tenant_id, original signature',
          'unknown kid (a different ES256 key)',
          'embedded jwk header with the attacker key, real kid',
          'expired beyond the clock tolerance',
          'garbage: abc',
          'Basic scheme',
          'Bearer without a token',
        ].includes(c.name),
      ),
      {
        name: '20k token (longer than the verifier limit)',
        authorization: `Bearer ${'a'.repeat(Math.max(20_000, MAX_TOKEN_LENGTH + 1))}`,
      },
    ];

    it.each(WS_CASES)('closes with 4401 for $name', async (c) => {
      const client = connect(await headerOf(c, keys));
      const outcome = await run(client, PROBE);
      expect(closeCodeOf(outcome)).toBe(CLOSE_UNAUTHORIZED);
      expect(JSON.stringify(outcome)).not.toContain('demo|');
    });

    it.each([
      ['a number', () => 42],
      ['an object', () => ({ token: 'abc' })],
      ['an array holding a valid header', async () => [`Bearer ${await server.token('alice')}`]],
    ])('closes with 4401 for an authorization parameter that is %s', async (_name, make) => {
      const client = connect(undefined, { connectionParams: { authorization: await make() } });
      expect(closeCodeOf(await run(client, '{ health }'))).toBe(CLOSE_UNAUTHORIZED);
    });

    it('treats a null authorization parameter as anonymous', async () => {
      const client = connect(undefined, { connectionParams: { authorization: null } });
      expect(await run(client, '{ health }')).toEqual({
        kind: 'result',
        result: { data: { health: 'ok' } },
      });
    });

    it('closes with 4401 for a bad token in the upgrade request header', async () => {
      const client = createClient({
        url: `${server.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers: { Authorization: 'Bearer abc' } });
          }
        },
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      expect(closeCodeOf(await run(client, PROBE))).toBe(CLOSE_UNAUTHORIZED);
    });

    it('closes the connection with 4401 when its token expires', async () => {
      let connected = false;
      let resolveClosed: (event: unknown) => void = () => undefined;
      const closed = new Promise<unknown>((resolve) => {
        resolveClosed = resolve;
      });
      // Not lazy: the connection stays open after the query until the server closes it.
      const client = connect(`Bearer ${await server.token('alice', { ttlSeconds: 3 })}`, {
        lazy: false,
        on: {
          connected: () => {
            connected = true;
          },
          closed: (event) => resolveClosed(event),
        },
      });
      const outcome = await run(client, '{ me { subject } }');
      expect(outcome).toEqual({
        kind: 'result',
        result: { data: { me: { subject: 'demo|alice' } } },
      });
      expect(connected).toBe(true);

      let timer: NodeJS.Timeout | undefined;
      const event = await Promise.race([
        closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('connection not closed on expiry')), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      expect(event).toMatchObject({ code: CLOSE_UNAUTHORIZED, reason: 'Token expired' });
    }, 20_000);
  });
});
