/**
 * Relay conventions (schema/node.graphql, graphql/resolvers/paging.ts): `node(id:)` and
 * `nodes(ids:)` must never be a way round the typed fields' authorization — an object of
 * another organisation, a denied one and a random id answer the same — and connections page
 * both ways with a full `PageInfo`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_CREDENTIALS,
  DEMO_TEAMS,
  DEMO_USERS,
  DEMO_WORKFLOWS,
} from '../../src/demo/demoData.js';
import { denial } from '../support/expectations.js';
import { spicedbRpcs } from '../support/spicedbCalls.js';
import type { TestTenant } from '../support/testDatabase.js';
import { insertWorkflows } from '../support/workflowFixtures.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/testServer.js';

const BOBS_DRAFT = DEMO_WORKFLOWS[0].id; // acme; erin may not view it
const LAPTOPS = DEMO_WORKFLOWS[1].id; // acme; shared with erin as VIEWER
const GLOBEX_PLAN = DEMO_WORKFLOWS[3].id; // the other organisation's
const BOBS_CREDENTIAL = DEMO_CREDENTIALS[0].id;
const ENGINEERING = DEMO_TEAMS[0].id;
const BOB = DEMO_USERS.find((u) => u.key === 'bob')!.id;

const NODE = `query ($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Workflow { name amount }
    ... on User { displayName }
    ... on Team { name }
    ... on Credential { name }
  }
}`;

/** An error without its decision id (unique per decision), to compare two denials. */
function withoutDecisionId(response: GraphQLResponse): unknown {
  return response.body.errors?.map(({ extensions, ...rest }) => {
    const { decisionId: _id, ...stable } = extensions ?? {};
    return { ...rest, extensions: stable };
  });
}

describe('node(id:) and nodes(ids:)', () => {
  let server: TestServer;
  let erin: string;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({ AUTH_REQUIRE_SCOPES: 'true' });
    const all = { scopes: ['workflows:read', 'directory:read', 'credentials:read'] };
    erin = await server.token('erin', all);
    bob = await server.token('bob', all);
  });
  afterAll(() => server.stop());

  it('refetches an object of every Node type by its id, as its own lookup field reads it', async () => {
    for (const [id, expected] of [
      [LAPTOPS, { __typename: 'Workflow', name: 'Laptop refresh', amount: null }],
      [BOB, { __typename: 'User', displayName: 'Bob Engineer' }],
      [ENGINEERING, { __typename: 'Team', name: 'Engineering' }],
    ] as const) {
      const res = await server.gql<{ node: Record<string, unknown> }>(NODE, { id }, erin);
      expect(res.body.data?.node).toMatchObject({ id, ...expected });
    }
    // The Workflow's own field rules still apply inside node: erin may not see the amount.
    const laptops = await server.gql(NODE, { id: LAPTOPS }, erin);
    expect(laptops.body.errors).toEqual([
      expect.objectContaining({
        path: ['node', 'amount'],
        extensions: denial({ coordinate: 'Workflow.amount' }),
      }),
    ]);
    const credential = await server.gql<{ node: unknown }>(NODE, { id: BOBS_CREDENTIAL }, bob);
    expect(credential.body).toEqual({
      data: { node: { __typename: 'Credential', id: BOBS_CREDENTIAL, name: 'CI deploy token' } },
    });
  });

  it('answers a denied object, another organisation’s and a random id the same: null and FORBIDDEN', async () => {
    const answers = await Promise.all(
      [BOBS_DRAFT, GLOBEX_PLAN, randomUUID(), BOBS_CREDENTIAL].map((id) =>
        server.gql(NODE, { id }, erin),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ node: null });
      expect(res.body.errors).toEqual([
        expect.objectContaining({
          path: ['node'],
          extensions: denial({ coordinate: 'Query.node', argument: 'id' }),
        }),
      ]);
    }
    const [first, ...others] = answers.map(withoutDecisionId);
    for (const other of others) expect(other).toEqual(first);
    // Not even the type leaks: __typename alone is decided like every other selection.
    const typename = await server.gql(
      'query ($id: ID!) { node(id: $id) { __typename } }',
      {
        id: BOBS_DRAFT,
      },
      erin,
    );
    expect(typename.body.data).toEqual({ node: null });
    expect(JSON.stringify(typename.body)).not.toContain('Workflow');
  });

  it('holds node(id:) to the scopes of the typed field, without telling which gate refused', async () => {
    const directoryOnly = await server.token('bob', { scopes: ['directory:read'] });
    const viaNode = await server.gql(NODE, { id: LAPTOPS }, directoryOnly);
    const random = await server.gql(NODE, { id: randomUUID() }, directoryOnly);
    const typed = await server.gql(
      'query ($id: ID!) { workflow(id: $id) { id name } }',
      { id: LAPTOPS },
      directoryOnly,
    );
    expect(typed.body.errors?.[0]?.extensions).toEqual(
      expect.objectContaining({ code: 'FORBIDDEN', gate: 'scope' }),
    );
    // Through node the missing scope refuses it too, answered as for an id naming nothing:
    // "gate: scope" would tell that a workflow has this id.
    expect(viaNode.body.data).toEqual({ node: null });
    expect(withoutDecisionId(viaNode)).toEqual(withoutDecisionId(random));
    expect(viaNode.body.errors?.[0]?.extensions).toEqual(
      expect.objectContaining({ code: 'FORBIDDEN', gate: 'relationship' }),
    );
    // …while a user, which that scope covers, still answers.
    const user = await server.gql<{ node: unknown }>(NODE, { id: BOB }, directoryOnly);
    expect(user.body.data?.node).toMatchObject({ __typename: 'User', id: BOB });
  });

  it('nodes(ids:) decides each id as node(id:) does, keeping order and the allowed objects', async () => {
    const random = randomUUID();
    const res = await server.gql<{ nodes: unknown[] }>(
      'query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Workflow { name } } }',
      { ids: [LAPTOPS, BOBS_DRAFT, GLOBEX_PLAN, random, BOB] },
      erin,
    );
    expect(res.body.data?.nodes).toEqual([
      { __typename: 'Workflow', id: LAPTOPS, name: 'Laptop refresh' },
      null,
      null,
      null,
      { __typename: 'User', id: BOB },
    ]);
    expect(res.body.errors?.map((e) => e.path)).toEqual([
      ['nodes', 1],
      ['nodes', 2],
      ['nodes', 3],
    ]);
    for (const error of res.body.errors ?? [])
      expect(error.extensions).toEqual(denial({ coordinate: 'Query.nodes', argument: 'ids' }));
    expect(JSON.stringify(res.body)).not.toContain('Globex');
    expect(JSON.stringify(res.body)).not.toContain('Cloud credits');
  });

  it('refuses malformed ids and too many of them before any decision (BAD_USER_INPUT)', async () => {
    const malformed = await server.gql(NODE, { id: 'workflow:1' }, erin);
    expect(malformed.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
    const tooMany = await server.gql(
      'query ($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids: Array.from({ length: 101 }, () => randomUUID()) },
      erin,
    );
    expect(tooMany.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'ids' });
    const none = await server.gql('{ nodes(ids: []) { id } }', {}, erin);
    expect(none.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'ids' });
  });

  it('needs a principal, like every field', async () => {
    const res = await server.gql(NODE, { id: LAPTOPS });
    expect(res.body.data ?? { node: null }).toEqual({ node: null });
    expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(res.body)).not.toContain('Laptop');
  });
});

interface Page {
  edges: Array<{ cursor: string; node: { id: string } }>;
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

const PAGE = `query ($first: Int, $after: String, $last: Int, $before: String) {
  users(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

describe('connections page both ways (first/after, last/before)', () => {
  let server: TestServer;
  let alice: string;
  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.token('alice');
  });
  afterAll(() => server.stop());

  const page = async (variables: Record<string, unknown>): Promise<Page> => {
    const res = await server.gql<{ users: Page }>(PAGE, variables, alice);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.users;
  };

  it('walks forward and backward through the same items, newest first', async () => {
    const all = (await page({ first: 100 })).edges.map((e) => e.node.id);
    expect(all.length).toBe(5); // acme's demo users

    const forward: string[] = [];
    let after: string | null = null;
    for (;;) {
      const p: Page = await page({ first: 2, after });
      forward.push(...p.edges.map((e) => e.node.id));
      expect(p.pageInfo.hasPreviousPage).toBe(false);
      expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(forward).toEqual(all);

    const backward: string[][] = [];
    let before: string | null = null;
    for (;;) {
      const p: Page = await page({ last: 2, before });
      backward.unshift(p.edges.map((e) => e.node.id));
      expect(p.pageInfo.hasNextPage).toBe(false);
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor;
    }
    // The last page holds the oldest two, each page newest first, together the whole list.
    expect(backward.flat()).toEqual(all);
    expect(backward.at(-1)).toEqual(all.slice(-2));
  });

  it('pages backward from a cursor to the items just before it', async () => {
    const all = (await page({ first: 100 })).edges;
    const before = all[3]!.cursor;
    const p = await page({ last: 2, before });
    expect(p.edges.map((e) => e.node.id)).toEqual([all[1]!.node.id, all[2]!.node.id]);
    expect(p.pageInfo.hasPreviousPage).toBe(true);
  });

  it('refuses mixing the directions and sizes out of range, naming the argument', async () => {
    for (const [variables, argument] of [
      [{ first: 2, last: 2 }, 'last'],
      [{ first: 2, before: 'x' }, 'before'],
      [{ after: 'x', last: 2 }, 'last'],
      [{ last: 0 }, 'last'],
      [{ last: 101 }, 'last'],
      [{ first: 101 }, 'first'],
      [{ before: 'not-a-cursor' }, 'before'],
    ] as const) {
      const res = await server.gql(PAGE, variables, alice);
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument });
    }
  });

  it('gives every cached type an id: Viewer, PolicySettings, TeamMembership, WorkflowShare', async () => {
    const query = `{
      me { id }
      policySettings { id }
      teams { members { id } }
      workflow(id: "${LAPTOPS}") { shares { id } }
    }`;
    const res = await server.gql<{
      me: { id: string };
      policySettings: { id: string };
      teams: Array<{ members: Array<{ id: string }> }>;
      workflow: { shares: Array<{ id: string }> };
    }>(query, {}, alice);
    expect(res.body.errors).toBeUndefined();
    const data = res.body.data!;
    const memberships = data.teams.flatMap((t) => t.members.map((m) => m.id));
    expect(new Set(memberships).size).toBe(memberships.length);
    expect(data.workflow.shares.map((s) => s.id)).toHaveLength(1);
    for (const id of [data.me.id, data.policySettings.id, ...memberships]) {
      expect(id).toMatch(/\S/);
    }
    // Stable: the same objects have the same ids in the next operation.
    const again = await server.gql(query, {}, alice);
    expect(again.body.data).toEqual(res.body.data);
  });
});

describe('nodes(ids:) costs SpiceDB calls per execution level, not per id', () => {
  let server: TestServer;
  let tenant: TestTenant;
  let ids: string[];
  beforeAll(async () => {
    // Without the cross-request decision cache, so every request really asks SpiceDB.
    server = await startTestServer({ AUTHZ_CACHE_TTL_MS: '0' });
    tenant = await server.createTenant(2);
    ids = await insertWorkflows(server.gatehouse, tenant, 60, 1);
  });
  afterAll(() => server.stop());

  it.each([3, 60])('reads %i workflows with amount in the same number of calls', async (count) => {
    const token = await server.tenantToken(tenant, 1);
    const before = await spicedbRpcs(server.gatehouse);
    const res = await server.gql<{ nodes: Array<{ amount: string | null } | null> }>(
      'query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Workflow { name amount } } }',
      { ids: ids.slice(0, count) },
      token,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.nodes).toHaveLength(count);
    for (const node of res.body.data!.nodes) expect(node?.amount).not.toBeNull();
    // `view` of every id in one bulk call (the lookup rule), `view_financials` in another.
    expect((await spicedbRpcs(server.gatehouse)) - before).toBe(2);
  });
});
