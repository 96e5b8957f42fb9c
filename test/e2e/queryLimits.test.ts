/**
 * Query limits, attacked over HTTP and WebSocket: documents over the token, depth, alias,
 * directive and cost limits are refused with HTTP 400 and a stable code per limit, a
 * message naming the limit and the value found, and nothing executed — no SpiceDB call, no
 * database transaction — while the README's queries, the list-100 query and tooling's
 * introspection query pass. The server stays healthy throughout.
 */
import { createClient, type Client } from 'graphql-ws';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/testServer.js';
import { spicedbRpcs } from '../support/spicedbCalls.js';

let server: TestServer;
let bob: string;
/** A second server beside the first: on an embedded database of its own. */
const EMBEDDED = {
  DATABASE_URL: undefined,
  DATABASE_OWNER_URL: undefined,
  PGLITE_DATA_DIR: 'memory://',
};

beforeAll(async () => {
  server = await startTestServer();
  bob = await server.token('bob');
});
afterAll(async () => {
  await server.stop();
});

/** `{ me { user { teams { team { members { user { … } } } } } } }`, `levels` fields deep. */
const nested = (levels: number): string => {
  // A cycle through the schema, and a scalar each step can end on.
  const cycle: Array<[string, string]> = [
    ['user', 'id'],
    ['teams', 'role'],
    ['team', 'id'],
    ['members', 'role'],
  ];
  const steps = Array.from({ length: levels - 2 }, (_, i) => cycle[i % cycle.length]!);
  let body = steps.at(-1)![1];
  for (const [field] of [...steps].reverse()) body = `${field} { ${body} }`;
  return `{ me { ${body} } }`;
};

/** Posts `query` and checks that nothing ran: no SpiceDB call, no transaction. */
async function refused(
  query: string,
  variables?: Record<string, unknown>,
  token: string | undefined = bob,
) {
  const rpcs = await spicedbRpcs(server.gatehouse);
  const transactions = server.gatehouse.database.tenants.transactionsStarted;
  const res = await server.gql(query, variables, token);
  expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
  expect(server.gatehouse.database.tenants.transactionsStarted).toBe(transactions);
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  return res.body.errors!;
}

describe('within the limits', () => {
  it.each([
    [
      'the README’s first query',
      '{ me { subject tenant { slug } user { displayName roles } } workflows(first: 10) { totalCount edges { node { id name amount status owner { displayName } } } } }',
    ],
    [
      'the list-100 benchmark query',
      '{ workflows(first: 100) { edges { node { id name amount shares { role } } } } }',
    ],
    [
      'tooling’s introspection query',
      getIntrospectionQuery({ descriptions: true, specifiedByUrl: true }),
    ],
    ['15 aliases', `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: health`).join(' ')} }`],
    // Depth 10 through pages of one (nested unpaged lists would be refused for their cost).
    [
      'depth 10',
      '{ credentials(first: 1) { edges { node { owner { teams { team { members { user { teams { role } } } } } } } } } }',
    ],
  ])('answers %s', async (_name, query) => {
    const res = await server.gql(query, {}, bob);
    expect(res.status).toBe(200);
    expect(
      res.body.errors?.filter((e) => String(e.extensions?.['code']).startsWith('QUERY_')) ?? [],
    ).toEqual([]);
  });
});

describe('over the limits: 400, a code per limit, nothing executed', () => {
  it('refuses 5,000 aliases of health while parsing (tokens), anonymous or not', async () => {
    const query = `{ ${Array.from({ length: 5000 }, (_, i) => `a${i}: health`).join(' ')} }`;
    for (const token of [undefined, bob]) {
      expect(await refused(query, undefined, token)).toEqual([
        {
          message: 'The document has more than 5000 tokens, the limit (QUERY_MAX_TOKENS)',
          extensions: { code: 'QUERY_TOO_MANY_TOKENS', limit: 5000, found: 'more than 5000' },
        },
      ]);
    }
  });

  it('refuses a 1 MB document and 5,000-deep nesting without engine text', async () => {
    // Near a megabyte (the body limit is 1 MB): tokens, or comments, past the limit.
    for (const large of [
      `{ ${'health '.repeat(130_000)}}`,
      `{ health ${'#\n'.repeat(230_000)} }`,
    ]) {
      const rpcs = await spicedbRpcs(server.gatehouse);
      const res = await server.gql(large, undefined, bob);
      expect(res.status).toBe(400);
      expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual([
        'QUERY_TOO_MANY_TOKENS',
      ]);
      expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
    }
    const deep = `${'{ me '.repeat(5000)}${'}'.repeat(5000)}`;
    expect(await refused(deep)).toEqual([
      {
        message: 'The document nests more than 64 levels deep (QUERY_MAX_DEPTH allows 10 fields)',
        extensions: { code: 'QUERY_TOO_DEEP', limit: 10, found: 'more than 64 levels' },
      },
    ]);
    const errors = await refused(deep);
    expect(JSON.stringify(errors)).not.toMatch(/call stack|RangeError/);
  });

  it('refuses more than 15 aliases, naming the limit and the count', async () => {
    const query = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: health`).join(' ')} }`;
    expect(await refused(query)).toEqual([
      {
        message: '20 aliases exceed the limit of 15 (QUERY_MAX_ALIASES)',
        extensions: { code: 'QUERY_TOO_MANY_ALIASES', limit: 15, found: 20 },
      },
    ]);
  });

  it('refuses nesting deeper than 10, through fragments too', async () => {
    // (Nested lists this deep are over the cost limit as well: both are said.)
    expect(await refused(nested(12))).toContainEqual({
      message: 'Query depth 12 exceeds the limit of 10 (QUERY_MAX_DEPTH)',
      extensions: { code: 'QUERY_TOO_DEEP', limit: 10, found: 12 },
    });
    const viaFragments = `query { me { ...A } } fragment A on Viewer { user { ...B } }
      fragment B on User { teams { team { members { user { teams { team { members { user { teams { team { id } } } } } } } } } } }`;
    const errors = await refused(viaFragments);
    expect(errors.map((e) => e.extensions)).toContainEqual({
      code: 'QUERY_TOO_DEEP',
      limit: 10,
      found: 13,
    });
  });

  it('refuses more than 50 directives', async () => {
    const query = `{ ${'health @include(if: true) '.repeat(60)} }`;
    const [error] = await refused(query);
    expect(error?.extensions).toEqual({ code: 'QUERY_TOO_MANY_DIRECTIVES', limit: 50, found: 60 });
  });

  it('costs a page by its first: a deep walk through 100 workflows is refused', async () => {
    const query = `query($n: Int) { workflows(first: $n) { edges { node { owner { teams { team { members { user { displayName } } } } } } } } }`;
    const [error] = await refused(query, { n: 100 });
    expect(error).toMatchObject({
      message: expect.stringMatching(
        /^Query cost \d+ exceeds the limit of 10000 \(QUERY_MAX_COST\)$/,
      ) as unknown,
      extensions: { code: 'QUERY_TOO_COSTLY', limit: 10_000 },
    });
    expect(error!.extensions!['found']).toBeGreaterThan(10_000);
    // The same walk through a page of 2 is cheap enough to run.
    const small = await server.gql(query, { n: 2 }, bob);
    expect(small.status).toBe(200);
  });

  it('still refuses a page above the largest with BAD_USER_INPUT, never clamped', async () => {
    const res = await server.gql('{ workflows(first: 101) { totalCount } }', {}, bob);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'first',
    });
  });

  it('stays healthy after all of it', async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await server.gql('{ health }')).body).toEqual({ data: { health: 'ok' } });
  });
});

describe('the same limits over WebSocket, for queries and subscriptions', () => {
  let client: Client;
  beforeAll(() => {
    client = createClient({
      url: `${server.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bob}` },
      retryAttempts: 0,
    });
  });
  afterAll(async () => {
    await client.dispose();
  });

  const codesOf = (query: string) =>
    new Promise<unknown[]>((resolve) => {
      client.subscribe(
        { query },
        {
          next: () => resolve(['answered']),
          error: (error: unknown) =>
            resolve(
              Array.isArray(error)
                ? error.map((e: { extensions?: { code?: unknown } }) => e.extensions?.code)
                : ['closed'],
            ),
          complete: () => undefined,
        },
      );
    });

  it.each([
    [
      'tokens',
      `{ ${Array.from({ length: 5000 }, (_, i) => `a${i}: health`).join(' ')} }`,
      'QUERY_TOO_MANY_TOKENS',
    ],
    [
      'aliases',
      `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: health`).join(' ')} }`,
      'QUERY_TOO_MANY_ALIASES',
    ],
    ['depth', nested(12), 'QUERY_TOO_DEEP'],
  ])('refuses a query over the %s limit, the socket staying open', async (_name, query, code) => {
    const rpcs = await spicedbRpcs(server.gatehouse);
    expect((await codesOf(query))[0]).toBe(code);
    expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
    expect(await codesOf('{ health }')).toEqual(['answered']);
  });

  it('refuses a subscription over a limit before its subscribe step', async () => {
    const strict = await startTestServer({ QUERY_MAX_DEPTH: '2', ...EMBEDDED });
    const c = createClient({
      url: `${strict.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${await strict.token('dave')}` },
      retryAttempts: 0,
    });
    try {
      const rpcs = await spicedbRpcs(strict.gatehouse);
      const errors = await new Promise<unknown>((resolve) => {
        c.subscribe(
          { query: 'subscription { auditEvents { actor { userId } } }' },
          { next: resolve, error: resolve, complete: () => undefined },
        );
      });
      expect(errors).toEqual([
        {
          message: 'Query depth 3 exceeds the limit of 2 (QUERY_MAX_DEPTH)',
          extensions: { code: 'QUERY_TOO_DEEP', limit: 2, found: 3 },
        },
      ]);
      expect(await spicedbRpcs(strict.gatehouse)).toBe(rpcs);
      expect(strict.gatehouse.auditFeed.subscribers).toBe(0);
    } finally {
      await c.dispose();
      await strict.stop();
    }
  });
});

describe('configurable', () => {
  it('applies QUERY_MAX_DEPTH and QUERY_MAX_COST from the environment', async () => {
    const strict = await startTestServer({
      QUERY_MAX_DEPTH: '3',
      QUERY_MAX_COST: '50',
      ...EMBEDDED,
    });
    try {
      const token = await strict.token('bob');
      const deep = await strict.gql('{ me { user { teams { role } } } }', {}, token);
      expect(deep.body.errors?.[0]?.extensions).toEqual({
        code: 'QUERY_TOO_DEEP',
        limit: 3,
        found: 4,
      });
      const costly = await strict.gql('{ workflows(first: 50) { totalCount } }', {}, token);
      expect(costly.body.errors?.[0]?.extensions).toMatchObject({
        code: 'QUERY_TOO_COSTLY',
        limit: 50,
      });
      expect((await strict.gql('{ me { subject } }', {}, token)).status).toBe(200);
    } finally {
      await strict.stop();
    }
  });
});
