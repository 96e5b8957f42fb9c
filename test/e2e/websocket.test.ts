/**
 * GraphQL over WebSocket (graphql-ws) answers like HTTP: same data, same commits, same
 * error codes and authorization outcomes (only a denial's decisionId differs: it is fresh
 * for every decision). Exact lists are compared in a private tenant, which nothing else
 * changes; its user 0, an org admin, may see every field there.
 */
import { randomUUID } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO_WORKFLOWS } from '../../src/demo/demoData.js';
import type { TestTenant } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';
import { denial, UUID } from '../support/expectations.js';

type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;

/**
 * The errors with every decisionId removed, after checking each is a UUID and that none
 * repeats in `seen` (each decision has its own id).
 */
function withoutDecisionIds(
  errors: readonly GraphQLFormattedError[],
  seen: Set<string>,
): GraphQLFormattedError[] {
  return errors.map((error) => {
    if (!error.extensions || !('decisionId' in error.extensions)) return error;
    const { decisionId, ...extensions } = error.extensions;
    expect(decisionId).toMatch(UUID);
    expect(seen.has(decisionId as string)).toBe(false);
    seen.add(decisionId as string);
    return { ...error, extensions };
  });
}

/**
 * Asserts that two results are equal except for their decision ids: both carry them on
 * the same errors, each a UUID, all different.
 */
function expectAlike(a: Result, b: Result): void {
  const seen = new Set<string>();
  const strip = (r: Result) => ({
    ...r,
    ...(r.errors ? { errors: withoutDecisionIds(r.errors, seen) } : {}),
  });
  const strippedA = strip(a);
  const idsInA = seen.size;
  const strippedB = strip(b);
  expect(seen.size - idsInA).toBe(idsInA);
  expect(strippedA).toEqual(strippedB);
}

/** The outcome of one operation: a result (`next`), request errors (`error`), or a close. */
type WsOutcome =
  | { readonly kind: 'result'; readonly result: Result }
  | { readonly kind: 'error'; readonly errors: readonly GraphQLFormattedError[] }
  | { readonly kind: 'closed'; readonly code: number | undefined };

function execute(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    const results: Result[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (value) => results.push(value),
        error: (error: unknown) => {
          if (Array.isArray(error)) {
            resolve({ kind: 'error', errors: error as GraphQLFormattedError[] });
          } else {
            // The socket closed (a CloseEvent) or could not connect.
            const code = (error as { code?: unknown } | null)?.code;
            resolve({ kind: 'closed', code: typeof code === 'number' ? code : undefined });
          }
        },
        complete: () => {
          if (results.length === 1) resolve({ kind: 'result', result: results[0]! });
          else reject(new Error(`expected one result, got ${results.length}`));
        },
      },
    );
  });
}

async function result(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Result> {
  const outcome = await execute(client, query, variables);
  if (outcome.kind !== 'result') throw new Error(`no result: ${JSON.stringify(outcome)}`);
  return outcome.result;
}

const WORKFLOW =
  'id name amount status version createdAt updatedAt owner { id } team { id } approvals { decision } shares { role }';
const LIST = `query($first: Int, $after: String) {
  workflows(first: $first, after: $after) {
    totalCount edges { cursor node { ${WORKFLOW} } } pageInfo { hasNextPage endCursor }
  }
}`;
const CREATE = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ${WORKFLOW} } }`;

let server: TestServer;
let tenant: TestTenant;
let aliceToken: string;
let tenantToken: string;
const clients: Client[] = [];

function connect(
  token: string | undefined,
  params: Record<string, unknown> = token ? { authorization: `Bearer ${token}` } : {},
): Client {
  const client = createClient({
    url: `${server.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: params,
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  server = await startTestServer();
  aliceToken = await server.token('alice');
  tenant = await server.createTenant(2);
  tenantToken = await server.token('alice', {
    subject: tenant.users[0]!.subject,
    tenantId: tenant.id,
  });
  for (const name of ['ws one', 'ws two', 'ws three']) {
    const res = await server.gql(CREATE, { input: { name, amount: '12.5' } }, tenantToken);
    expect(res.body.errors).toBeUndefined();
  }
});

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await server.stop();
});

describe('queries over WebSocket', () => {
  it('answers me like HTTP', async () => {
    const query =
      '{ me { subject tenant { id slug name } user { id displayName email roles teams { role team { name } } } scopes authenticationMethods expiresAt } }';
    const ws = await result(connect(aliceToken), query);
    const http = await server.gql(query, undefined, aliceToken);
    expect(ws.errors).toBeUndefined();
    expect(http.body.errors).toBeUndefined();
    expect(ws.data).toEqual(http.body.data);
    expect(ws.data).toMatchObject({ me: { subject: 'demo|alice', tenant: { slug: 'acme' } } });
  });

  it('answers workflows like HTTP, page by page', async () => {
    const client = connect(tenantToken);
    let after: string | null = null;
    let pages = 0;
    do {
      const variables: Record<string, unknown> = { first: 2, after };
      const ws = await result(client, LIST, variables);
      const http = await server.gql<{
        workflows: { pageInfo: { endCursor: string | null; hasNextPage: boolean } };
      }>(LIST, variables, tenantToken);
      expect(ws.errors).toBeUndefined();
      expect(ws.data).toEqual(http.body.data);
      const pageInfo = http.body.data!.workflows.pageInfo;
      after = pageInfo.hasNextPage ? pageInfo.endCursor : null;
      pages += 1;
    } while (after !== null);
    expect(pages).toBe(2);
  });

  it('runs several operations on one connection, each in its own transaction', async () => {
    const client = connect(tenantToken);
    const outcomes = await Promise.all(
      ['{ me { subject } }', '{ teams { id } }', '{ workflows { totalCount } }'].map((q) =>
        result(client, q),
      ),
    );
    expect(outcomes.map((o) => o.errors)).toEqual([undefined, undefined, undefined]);
    expect(outcomes[1]!.data).toEqual({ teams: [{ id: tenant.teamId }] });
  });

  it('answers another tenant’s workflow with null and FORBIDDEN, like HTTP', async () => {
    const query = 'query($id: ID!) { workflow(id: $id) { id } }';
    const acmeId = DEMO_WORKFLOWS[0].id;
    const mallory = await server.token('mallory');
    const ws = await result(connect(mallory), query, { id: acmeId });
    expect(ws).toEqual({
      data: { workflow: null },
      errors: [
        {
          message: 'Not allowed',
          locations: [{ line: 1, column: 19 }],
          path: ['workflow'],
          extensions: denial({ coordinate: 'Query.workflow', argument: 'id' }),
        },
      ],
    });
    const http = await server.gql(query, { id: acmeId }, mallory);
    expectAlike(http.body as Result, ws);
  });

  it('answers health anonymously and refuses other fields like HTTP', async () => {
    const client = connect(undefined);
    expect(await result(client, '{ health }')).toEqual({ data: { health: 'ok' } });
    const ws = await result(client, '{ me { subject } }');
    const http = await server.gql('{ me { subject } }');
    expect(ws.errors?.map((e) => e.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
    expect(http.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
  });
});

describe('mutations over WebSocket', () => {
  it('commits a createWorkflow, visible over HTTP afterwards', async () => {
    const client = connect(tenantToken);
    const name = `ws created ${randomUUID()}`;
    const ws = await result(client, CREATE, { input: { name, amount: '1234.50' } });
    expect(ws.errors).toBeUndefined();
    const created = (ws.data as { createWorkflow: { id: string; name: string; amount: string } })
      .createWorkflow;
    expect(created).toMatchObject({ name, amount: '1234.50', status: 'DRAFT', version: 1 });

    const http = await server.gql<{ workflow: unknown }>(
      `query($id: ID!) { workflow(id: $id) { ${WORKFLOW} } }`,
      { id: created.id },
      tenantToken,
    );
    expect(http.body.data?.workflow).toEqual(created);

    const submitted = await result(
      client,
      'mutation($id: ID!) { submitWorkflow(id: $id) { status version } }',
      { id: created.id },
    );
    expect(submitted).toEqual({
      data: { submitWorkflow: { status: 'PENDING_APPROVAL', version: 2 } },
    });
    const after = await server.gql(
      'query($id: ID!) { workflow(id: $id) { status version } }',
      { id: created.id },
      tenantToken,
    );
    expect(after.body.data).toEqual({ workflow: { status: 'PENDING_APPROVAL', version: 2 } });
  });

  it('keeps the successful root fields when a later one fails (each commits on its own)', async () => {
    const client = connect(tenantToken);
    const name = `ws committed ${randomUUID()}`;
    const ws = await result(
      client,
      `mutation($name: String!) {
        a: createWorkflow(input: { name: $name, amount: "1" }) { id }
        b: createWorkflow(input: { name: "", amount: "2" }) { id }
      }`,
      { name },
    );
    expect(ws.data).toBeNull();
    expect(ws.errors?.map((e) => [e.path, e.extensions?.['code']])).toEqual([
      [['b'], 'BAD_USER_INPUT'],
    ]);
    const http = await server.gql<{ workflows: { edges: Array<{ node: { name: string } }> } }>(
      '{ workflows(first: 100) { edges { node { name } } } }',
      undefined,
      tenantToken,
    );
    const names = http.body.data!.workflows.edges.map((e) => e.node.name);
    expect(names.filter((n) => n === name)).toHaveLength(1);
    expect(names).not.toContain('');
  });
});

describe('errors over WebSocket', () => {
  /** Runs the same operation over both transports; returns both error lists. */
  async function bothTransports(
    query: string,
    variables: Record<string, unknown>,
    token: string,
  ): Promise<{ ws: readonly GraphQLFormattedError[]; http: readonly GraphQLFormattedError[] }> {
    const outcome = await execute(connect(token), query, variables);
    if (outcome.kind === 'closed') throw new Error(`connection closed (${outcome.code})`);
    const ws = outcome.kind === 'error' ? outcome.errors : (outcome.result.errors ?? []);
    const http = ((await server.gql(query, variables, token)).body.errors ??
      []) as unknown as readonly GraphQLFormattedError[];
    return { ws, http };
  }

  it('a resolver error (BAD_USER_INPUT) is the same error as over HTTP', async () => {
    const { ws, http } = await bothTransports(
      CREATE,
      { input: { name: '', amount: '1' } },
      tenantToken,
    );
    expect(ws).toHaveLength(1);
    expect(ws[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(ws).toEqual(http);
  });

  it.each([
    ['INVALID_STATE', 'mutation($id: ID!) { submitWorkflow(id: $id) { id } }', 'submitted'],
    ['FORBIDDEN (unknown id)', 'mutation($id: ID!) { submitWorkflow(id: $id) { id } }', 'random'],
    ['malformed id', 'query($id: ID!) { workflow(id: $id) { id } }', 'abc'],
  ])('%s carries the same code and details as over HTTP', async (_label, query, which) => {
    let id = which;
    if (which === 'submitted') {
      const res = await server.gql<{ createWorkflow: { id: string } }>(
        'mutation { createWorkflow(input: { name: "ws submitted", amount: "1" }) { id } }',
        undefined,
        tenantToken,
      );
      id = res.body.data!.createWorkflow.id;
      await server.gql(
        'mutation($id: ID!) { submitWorkflow(id: $id) { id } }',
        { id },
        tenantToken,
      );
    } else if (which === 'random') {
      id = randomUUID();
    }
    const { ws, http } = await bothTransports(query, { id }, tenantToken);
    expect(ws).toHaveLength(1);
    const expected: Record<string, unknown> = {
      submitted: { code: 'BAD_USER_INPUT', reason: 'INVALID_STATE' },
      random: denial({ coordinate: 'Mutation.submitWorkflow', argument: 'id' }),
      abc: { code: 'BAD_USER_INPUT', field: 'id' },
    };
    expect(ws[0]!.extensions).toEqual(expected[which]);
    expectAlike({ errors: ws }, { errors: http });
  });

  it('an invalid Decimal variable is BAD_USER_INPUT over both transports', async () => {
    for (const amount of ['-1', '1.234', 'abc']) {
      const { ws, http } = await bothTransports(
        CREATE,
        { input: { name: 'bad amount', amount } },
        tenantToken,
      );
      expect(ws.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
      expect(http.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('FORBIDDEN (no account) carries the same reason as over HTTP', async () => {
    const token = await server.token('alice', { subject: 'nobody-ws' });
    const { ws, http } = await bothTransports(CREATE, { input: { name: 'x', amount: '1' } }, token);
    expect(ws.map((e) => e.extensions)).toEqual([
      denial({ coordinate: 'Mutation.createWorkflow', reason: 'NO_ACCOUNT' }),
    ]);
    expectAlike({ errors: ws }, { errors: http });
  });

  it('a bad token closes the connection with 4401', async () => {
    const client = connect('not-a-token');
    expect(await execute(client, '{ health }')).toEqual({ kind: 'closed', code: 4401 });
  });

  it('takes the authorization parameter in any case, and refuses two spellings at once', async () => {
    const capital = connect(undefined, { Authorization: `Bearer ${tenantToken}` });
    const me = await result(capital, '{ me { subject } }');
    expect(me.errors).toBeUndefined();
    expect(me.data).toEqual({ me: { subject: tenant.users[0]!.subject } });
    const both = connect(undefined, {
      authorization: `Bearer ${tenantToken}`,
      AUTHORIZATION: 'Bearer forged',
    });
    expect(await execute(both, '{ health }')).toEqual({ kind: 'closed', code: 4401 });
  });

  it.each([
    ['a syntax error', '{ me { subject ', 'GRAPHQL_PARSE_FAILED'],
    ['a validation error', '{ me { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
    ['several unnamed operations', '{ health } { health }', 'GRAPHQL_VALIDATION_FAILED'],
  ])('%s is a coded request error and the socket stays open', async (_label, query, code) => {
    const client = connect(tenantToken);
    const outcome = await execute(client, query);
    expect(outcome.kind).toBe('error');
    if (outcome.kind !== 'error') return;
    expect(outcome.errors.map((e) => e.extensions?.['code'])).toEqual(
      outcome.errors.map(() => code),
    );
    // The same connection still serves the next operation.
    expect((await result(client, '{ health }')).data).toEqual({ health: 'ok' });
  });

  it('an operationName that names no operation is OPERATION_RESOLUTION_FAILURE', async () => {
    const client = connect(tenantToken);
    const outcome = await new Promise<WsOutcome>((resolve) => {
      client.subscribe(
        { query: 'query A { health }', operationName: 'B' },
        {
          next: () => undefined,
          error: (error: unknown) =>
            resolve({ kind: 'error', errors: error as GraphQLFormattedError[] }),
          complete: () => resolve({ kind: 'closed', code: undefined }),
        },
      );
    });
    expect(outcome.kind === 'error' && outcome.errors[0]?.extensions?.['code']).toBe(
      'OPERATION_RESOLUTION_FAILURE',
    );
  });

  it('a missing variable is BAD_USER_INPUT, as over HTTP', async () => {
    const { ws, http } = await bothTransports(CREATE, {}, tenantToken);
    expect(ws.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
    expect(http.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
  });
});
