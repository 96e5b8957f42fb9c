/**
 * Error and input hygiene, found by black-box testing: without introspection no error
 * suggests what the schema holds ("Did you mean …"), variable errors included; invalid
 * Unicode (a lone UTF-16 surrogate) in any string input is BAD_USER_INPUT naming where it
 * is, over HTTP and WebSocket, before anything runs — it is never stored as U+FFFD and
 * never turns a valid approval into a policy denial.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/testServer.js';
import { spicedbRpcs } from '../support/spicedbCalls.js';

const FILTERED = 'query ($f: WorkflowFilter) { workflows(filter: $f) { edges { node { id } } } }';
const CREATE =
  'mutation ($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id name } }';

describe('suggestions', () => {
  let hidden: TestServer;
  let shown: TestServer;
  beforeAll(async () => {
    [hidden, shown] = await Promise.all([
      startTestServer({ GRAPHQL_INTROSPECTION: 'false' }),
      // Beside the first, on an embedded database of its own.
      startTestServer({ DATABASE_URL: undefined, DATABASE_OWNER_URL: undefined }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([hidden.stop(), shown.stop()]);
  });

  it('never say "Did you mean" without introspection, in variable errors too', async () => {
    for (const variables of [{ f: { status: 'APROVED' } }, { f: { statuss: 'APPROVED' } }]) {
      const bad = await hidden.gql(FILTERED, variables, await hidden.token('bob'));
      expect(bad.status).toBe(400);
      expect(bad.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(bad.body)).not.toMatch(/did you mean|APPROVED"\?/i);
      // The control: with introspection on, the same mistake is answered with the hint.
      const helped = await shown.gql(FILTERED, variables, await shown.token('bob'));
      expect(JSON.stringify(helped.body)).toMatch(/Did you mean/);
    }
  });
});

describe('invalid Unicode', () => {
  let server: TestServer;
  let alice: string;
  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.token('alice');
  });
  afterAll(async () => {
    await server.stop();
  });

  async function refusedBeforeRunning(query: string, variables: Record<string, unknown>) {
    const transactions = server.gatehouse.database.tenants.transactionsStarted;
    const rpcs = await spicedbRpcs(server.gatehouse);
    const res = await server.gql(query, variables, alice);
    expect(server.gatehouse.database.tenants.transactionsStarted).toBe(transactions);
    expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    return res.body.errors ?? [];
  }

  it('refuses a lone surrogate in a name as BAD_USER_INPUT naming the field; nothing is stored', async () => {
    const errors = await refusedBeforeRunning(CREATE, {
      input: { name: 'Budget \ud800 plan', amount: '10.00' },
    });
    expect(errors).toEqual([
      {
        message:
          'Variable "$input" has invalid Unicode at "input.name" (a lone UTF-16 surrogate); send well-formed text',
        extensions: { code: 'BAD_USER_INPUT', field: 'input.name' },
      },
    ]);
    const list = await server.gql<{ workflows: { edges: Array<{ node: { name: string } }> } }>(
      '{ workflows(first: 100) { edges { node { name } } } }',
      undefined,
      alice,
    );
    expect(list.body.data?.workflows.edges.some((e) => e.node.name.includes('\ufffd'))).toBe(false);
  });

  it('names the place in lists and field names, and accepts well-formed astral text', async () => {
    const nested = await refusedBeforeRunning(FILTERED, { f: { search: ['ok', '\udfff'] } });
    expect(nested[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'f.search[1]' });
    const key = await refusedBeforeRunning(FILTERED, { f: { ['x\ud800']: 1 } });
    expect(key[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const ok = await server.gql(
      CREATE,
      { input: { name: 'Rocket 🚀 plan', amount: '1.00' } },
      alice,
    );
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data).toMatchObject({ createWorkflow: { name: 'Rocket 🚀 plan' } });
  });

  it('refuses an approval comment with a lone surrogate as BAD_USER_INPUT, never a policy denial', async () => {
    const errors = await refusedBeforeRunning(
      'mutation ($id: ID!, $c: String) { approveWorkflow(id: $id, comment: $c) { id } }',
      { id: '00000000-0000-4000-8000-000000000000', c: 'fine \udc00' },
    );
    expect(errors[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'c' });
    expect(JSON.stringify(errors)).not.toMatch(/FORBIDDEN|policy/);
  });

  it('refuses it over WebSocket the same way, for that operation only', async () => {
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${alice}` },
      retryAttempts: 0,
    });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: CREATE, variables: { input: { name: '\ud83d', amount: '1.00' } } },
        { next: resolve, error: resolve, complete: () => undefined },
      );
    });
    expect(outcome).toEqual([
      {
        message:
          'Variable "$input" has invalid Unicode at "input.name" (a lone UTF-16 surrogate); send well-formed text',
        extensions: { code: 'BAD_USER_INPUT', field: 'input.name' },
      },
    ]);
    const health = await new Promise<unknown>((resolve, reject) => {
      client.subscribe(
        { query: '{ health }' },
        { next: resolve, error: reject, complete: () => undefined },
      );
    });
    expect(health).toEqual({ data: { health: 'ok' } });
    await client.dispose();
  });
});
