/**
 * The demo domain over HTTP: the viewer, workflow lists and lookups, and the workflow
 * lifecycle mutations, as a real client sees them through gate 2 (SpiceDB): a workflow,
 * user or team id that does not exist, belongs to another tenant or names an object the
 * caller lacks the permission on is FORBIDDEN, all alike (only the decisionId differs).
 * Fields such as `amount`, `email` and `shares` need their own permission, so reads that
 * select them use a principal who has it (e.g. the owner or an org admin) or expect the
 * denial. With a real PostgreSQL the demo data is shared across test files, so every test
 * that changes something creates its own workflows, and exact counts are only asserted in
 * a private tenant (server.createTenant).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_TEAMS,
  DEMO_TENANTS,
  DEMO_USERS,
  DEMO_WORKFLOWS,
  findDemoUser,
} from '../../src/demo/demoData.js';
import type { TestTenant } from '../support/testDatabase.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/testServer.js';
import { denial, UUID } from '../support/expectations.js';

interface UserRef {
  id: string;
  displayName: string;
}

interface Workflow {
  id: string;
  name: string;
  description: string;
  /** Null (with a FORBIDDEN error) without `view_financials`. */
  amount: string | null;
  status: 'DRAFT' | 'PENDING_APPROVAL' | 'APPROVED' | 'REJECTED';
  version: number;
  createdAt: string;
  updatedAt: string;
  owner: UserRef;
  team: { id: string; name: string } | null;
  approvals: Array<{
    approver: UserRef;
    decision: 'APPROVED' | 'REJECTED';
    comment: string;
    createdAt: string;
  }>;
  /** Null (with a FORBIDDEN error) without `share`. */
  shares: Array<{ user: UserRef; role: 'VIEWER' | 'EDITOR' | 'APPROVER' }> | null;
}

interface Connection {
  totalCount: number;
  edges: Array<{ cursor: string; node: { id: string; status: string; createdAt: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const WORKFLOW = `
  id name description amount status version createdAt updatedAt
  owner { id displayName }
  team { id name }
  approvals { approver { id displayName } decision comment createdAt }
  shares { user { id displayName } role }
`;

const WORKFLOW_QUERY = `query($id: ID!) { workflow(id: $id) { ${WORKFLOW} } }`;
const CREATE = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ${WORKFLOW} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateWorkflowInput!, $expectedVersion: Int) {
  updateWorkflow(id: $id, input: $input, expectedVersion: $expectedVersion) { ${WORKFLOW} }
}`;
const SUBMIT = `mutation($id: ID!) { submitWorkflow(id: $id) { ${WORKFLOW} } }`;
const APPROVE = `mutation($id: ID!, $comment: String) { approveWorkflow(id: $id, comment: $comment) { ${WORKFLOW} } }`;
const REJECT = `mutation($id: ID!, $comment: String) { rejectWorkflow(id: $id, comment: $comment) { ${WORKFLOW} } }`;
const SHARE = `mutation($id: ID!, $userId: ID!, $role: ShareRole!) {
  shareWorkflow(id: $id, userId: $userId, role: $role) { ${WORKFLOW} }
}`;
const LIST = `query($first: Int, $after: String, $filter: WorkflowFilter) {
  workflows(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { id status createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const ENGINEERING = DEMO_TEAMS[0].id;
const GLOBEX_TEAM = DEMO_TEAMS[2].id;
const ACME_WORKFLOWS = [DEMO_WORKFLOWS[0], DEMO_WORKFLOWS[1], DEMO_WORKFLOWS[2]] as const;
const GLOBEX_WORKFLOW = DEMO_WORKFLOWS[3];
const demoUser = (key: string) => findDemoUser(key)!;

let server: TestServer;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  for (const user of DEMO_USERS) tokens[user.key] = await server.token(user.key);
});

afterAll(async () => {
  await server.stop();
});

function tokenOf(user: string): string {
  const token = tokens[user];
  if (!token) throw new Error(`no token for ${user}`);
  return token;
}

/** A GraphQL request that must succeed without errors; returns `data`. */
async function ok<T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const res = await server.gql<T>(query, variables, token);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  expect(res.status).toBe(200);
  return res.body.data!;
}

/** A GraphQL request that must fail with exactly one error; returns it and the response. */
async function fails(
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<{ error: { message: string; extensions?: Record<string, unknown> } } & GraphQLResponse> {
  const res = await server.gql(query, variables, token);
  expect(res.body.errors, JSON.stringify(res.body)).toHaveLength(1);
  return { ...res, error: res.body.errors![0]! };
}

/** The raw response body of a POSTed operation, for byte-for-byte comparisons. */
async function rawBody(
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, text: await res.text() };
}

/** Which field a denial names (`extensions.coordinate`), and the argument naming its object. */
interface DeniedAt {
  readonly coordinate: string;
  readonly argument?: string;
}

/** The one error of a field refused by gate 2. */
function notAllowed(path: ReadonlyArray<string | number>, at: DeniedAt): Record<string, unknown> {
  return {
    message: 'Not allowed',
    locations: [{ line: expect.any(Number) as unknown, column: expect.any(Number) as unknown }],
    path,
    extensions: denial(at),
  };
}

/** A root field of `Mutation` refused on the object its `id` names. */
const onId = (field: string): DeniedAt => ({ coordinate: `Mutation.${field}`, argument: 'id' });

/**
 * Asserts that two raw responses are byte-for-byte identical except for their decision
 * ids, which must be UUIDs, at least one per response, and all different (a fresh one per
 * denial). Returns the first body, parsed.
 */
function expectAlike(
  a: { status: number; text: string },
  b: { status: number; text: string },
): GraphQLResponse['body'] {
  const redact = (raw: { status: number; text: string }) => {
    const ids: string[] = [];
    const text = raw.text.replace(/"decisionId":"([^"]*)"/g, (_match, id: string) => {
      ids.push(id);
      return '"decisionId":"<redacted>"';
    });
    return { status: raw.status, text, ids };
  };
  const ra = redact(a);
  const rb = redact(b);
  expect({ status: ra.status, text: ra.text }).toEqual({ status: rb.status, text: rb.text });
  expect(ra.ids.length).toBeGreaterThan(0);
  for (const id of [...ra.ids, ...rb.ids]) expect(id).toMatch(UUID);
  expect(new Set([...ra.ids, ...rb.ids]).size).toBe(ra.ids.length + rb.ids.length);
  return JSON.parse(a.text) as GraphQLResponse['body'];
}

/**
 * A request whose only errors are gate-2 denials at exactly the `denied` paths, of those
 * fields (in that order); returns `data`.
 */
async function okExceptDenied<T>(
  query: string,
  variables: Record<string, unknown>,
  token: string,
  denied: ReadonlyArray<readonly [path: ReadonlyArray<string | number>, coordinate: string]>,
): Promise<T> {
  const res = await server.gql<T>(query, variables, token);
  expect(res.status).toBe(200);
  expect(res.body.errors).toEqual(
    denied.map(([path, coordinate]) => notAllowed(path, { coordinate })),
  );
  return res.body.data!;
}

let counter = 0;
function uniqueName(label: string): string {
  counter += 1;
  return `${label} ${randomUUID().slice(0, 8)}-${counter}`;
}

async function create(
  token: string,
  input: Record<string, unknown> = {},
  label = 'e2e workflow',
): Promise<Workflow> {
  const data = await ok<{ createWorkflow: Workflow }>(
    CREATE,
    { input: { name: uniqueName(label), amount: '100.00', ...input } },
    token,
  );
  return data.createWorkflow;
}

async function fetchWorkflow(id: string, token: string): Promise<Workflow | null> {
  return (await ok<{ workflow: Workflow | null }>(WORKFLOW_QUERY, { id }, token)).workflow;
}

/** `Query.workflow`, refused on the workflow its `id` names. */
const BY_ID: DeniedAt = { coordinate: 'Query.workflow', argument: 'id' };

/** `workflow(id)` as a caller who may not view it: null and exactly one denial. */
async function expectWorkflowDenied(id: string, token: string): Promise<void> {
  const res = await server.gql(WORKFLOW_QUERY, { id }, token);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    data: { workflow: null },
    errors: [notAllowed(['workflow'], BY_ID)],
  });
}

/** Walks every page of `workflows` with the given page size; returns the nodes and totals. */
async function walk(
  token: string,
  first: number,
  filter?: Record<string, unknown>,
): Promise<{ nodes: Connection['edges'][number]['node'][]; totals: number[]; pages: number }> {
  const nodes: Connection['edges'][number]['node'][] = [];
  const totals: number[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const { workflows }: { workflows: Connection } = await ok<{ workflows: Connection }>(
      LIST,
      { first, after, ...(filter ? { filter } : {}) },
      token,
    );
    pages += 1;
    totals.push(workflows.totalCount);
    expect(workflows.edges.length).toBeLessThanOrEqual(first);
    nodes.push(...workflows.edges.map((e) => e.node));
    const last = workflows.edges.at(-1);
    expect(workflows.pageInfo.endCursor).toBe(last ? last.cursor : null);
    if (!workflows.pageInfo.hasNextPage) break;
    expect(workflows.edges).toHaveLength(first);
    after = workflows.pageInfo.endCursor;
    if (pages > 10_000) throw new Error('pagination does not end');
  }
  return { nodes, totals, pages };
}

/** Newest first, ties broken by id descending: the order the API promises. */
function sortedNewestFirst<T extends { id: string; createdAt: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) =>
    a.createdAt === b.createdAt
      ? b.id.localeCompare(a.id)
      : Date.parse(b.createdAt) - Date.parse(a.createdAt),
  );
}

describe('me', () => {
  it.each(DEMO_USERS.map((u) => [u.key, u] as const))('identifies %s', async (key, demo) => {
    const data = await ok<{
      me: {
        subject: string;
        tenant: { id: string; slug: string; name: string } | null;
        user: {
          id: string;
          displayName: string;
          email: string;
          roles: string[];
          teams: Array<{ team: { id: string; name: string }; role: string; user: { id: string } }>;
        } | null;
        scopes: string[];
        authenticationMethods: string[];
        expiresAt: string;
      };
    }>(
      `{ me {
          subject
          tenant { id slug name }
          user { id displayName email roles teams { team { id name } role user { id } } }
          scopes authenticationMethods expiresAt
      } }`,
      {},
      tokenOf(key),
    );
    const { me } = data;
    expect(me.subject).toBe(demo.subject);
    expect(me.tenant).toEqual(DEMO_TENANTS[demo.tenant]);
    expect(me.user).toMatchObject({
      id: demo.id,
      displayName: demo.displayName,
      email: demo.email,
    });
    expect([...me.user!.roles].sort()).toEqual([...demo.roles].sort());
    const expectedTeams = DEMO_TEAMS.flatMap((team) =>
      team.members
        .filter(([member]) => member === key)
        .map(([, role]) => ({
          team: { id: team.id, name: team.name },
          role,
          user: { id: demo.id },
        })),
    );
    const byName = (a: { team: { name: string } }, b: { team: { name: string } }) =>
      a.team.name.localeCompare(b.team.name);
    expect([...me.user!.teams].sort(byName)).toEqual(expectedTeams.sort(byName));
    expect(me.scopes).toEqual([]);
    expect(me.authenticationMethods).toEqual(['pwd']);
    expect(Date.parse(me.expiresAt)).toBeGreaterThan(Date.now());
    expect(me.expiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('lists the teams of the caller’s organisation only', async () => {
    const acme = await ok<{ teams: Array<{ id: string }> }>('{ teams { id } }', {}, tokenOf('bob'));
    const globex = await ok<{ teams: Array<{ id: string }> }>(
      '{ teams { id } }',
      {},
      tokenOf('mallory'),
    );
    const ids = (teams: ReadonlyArray<{ id: string; tenant: string }>, tenant: string) =>
      teams
        .filter((t) => t.tenant === tenant)
        .map((t) => t.id)
        .sort();
    expect(acme.teams.map((t) => t.id).sort()).toEqual(ids(DEMO_TEAMS, 'acme'));
    expect(globex.teams.map((t) => t.id)).toEqual(ids(DEMO_TEAMS, 'globex'));
  });

  const noAccount = (at: DeniedAt) => denial({ ...at, reason: 'NO_ACCOUNT' });
  const CREATE_IN_ORG: DeniedAt = { coordinate: 'Mutation.createWorkflow' };

  it('a subject without a user account sees me.user null and cannot create workflows', async () => {
    const token = await server.token('alice', { subject: 'nobody' });
    const me = await ok<{ me: { subject: string; user: null; tenant: { slug: string } } }>(
      '{ me { subject user { id } tenant { slug } } }',
      {},
      token,
    );
    expect(me.me).toEqual({ subject: 'nobody', user: null, tenant: { slug: 'acme' } });

    const { error, body } = await fails(
      CREATE,
      { input: { name: uniqueName('no account'), amount: '1' } },
      token,
    );
    expect(body.data).toBeNull();
    expect(error).toEqual({
      ...notAllowed(['createWorkflow'], CREATE_IN_ORG),
      extensions: noAccount(CREATE_IN_ORG),
    });

    const submit = await fails(SUBMIT, { id: ACME_WORKFLOWS[0].id }, token);
    expect(submit.body.data).toBeNull();
    expect(submit.error).toEqual({
      ...notAllowed(['submitWorkflow'], onId('submitWorkflow')),
      extensions: noAccount(onId('submitWorkflow')),
    });
  });

  it('a token for a tenant that does not exist sees no tenant and no workflows', async () => {
    const token = await server.token('alice', { tenantId: randomUUID() });
    // No user account there: nothing is visible, and a lookup by id is refused (NO_ACCOUNT).
    const res = await server.gql(
      `query($id: ID!) {
        me { tenant { id } user { id } }
        workflows { totalCount edges { cursor } pageInfo { hasNextPage endCursor } }
        teams { id }
        workflow(id: $id) { id }
      }`,
      { id: ACME_WORKFLOWS[0].id },
      token,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: {
        me: { tenant: null, user: null },
        workflows: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
        teams: [],
        workflow: null,
      },
      errors: [{ ...notAllowed(['workflow'], BY_ID), extensions: noAccount(BY_ID) }],
    });
    const { error, body } = await fails(CREATE, { input: { name: 'x', amount: '1' } }, token);
    expect(body.data).toBeNull();
    expect(error).toEqual({
      ...notAllowed(['createWorkflow'], CREATE_IN_ORG),
      extensions: noAccount(CREATE_IN_ORG),
    });
  });
});

describe('workflows (list)', () => {
  let tenant: TestTenant;
  let tenantToken: string;
  let created: Workflow[];

  beforeAll(async () => {
    tenant = await server.createTenant(2);
    tenantToken = await server.token('alice', {
      subject: tenant.users[0]!.subject,
      tenantId: tenant.id,
    });
    // Three created in one operation share one transaction timestamp (ties broken by id);
    // the others come from separate operations.
    const batch = await ok<Record<string, Workflow>>(
      `mutation {
        a: createWorkflow(input: { name: "batch a", amount: "1" }) { ${WORKFLOW} }
        b: createWorkflow(input: { name: "batch b", amount: "2" }) { ${WORKFLOW} }
        c: createWorkflow(input: { name: "batch c", amount: "3" }) { ${WORKFLOW} }
      }`,
      {},
      tenantToken,
    );
    created = [batch['a']!, batch['b']!, batch['c']!];
    // created[3] belongs to a member, so the admin may approve it (nobody approves their own).
    const memberToken = await server.token('alice', {
      subject: tenant.users[1]!.subject,
      tenantId: tenant.id,
    });
    for (let i = 0; i < 4; i += 1) {
      created.push(await create(i === 0 ? memberToken : tenantToken, { amount: String(i) }));
    }
    await ok(SUBMIT, { id: created[0]!.id }, tenantToken);
    await ok(SUBMIT, { id: created[3]!.id }, memberToken);
    await ok(APPROVE, { id: created[3]!.id }, tenantToken);
  });

  it('walks every page with first: 1, exactly once each, newest first', async () => {
    const { nodes, totals, pages } = await walk(tenantToken, 1);
    expect(pages).toBe(created.length);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(nodes.length);
    expect(totals.every((t) => t === nodes.length)).toBe(true);
    expect(nodes.length).toBe(created.length);
    expect(nodes.map((n) => n.id)).toEqual(sortedNewestFirst(created).map((w) => w.id));
  });

  it.each([2, 3, 7, 100])('gives the same order with first: %d', async (first) => {
    const { nodes, totals, pages } = await walk(tenantToken, first);
    expect(nodes.map((n) => n.id)).toEqual(sortedNewestFirst(created).map((w) => w.id));
    expect(pages).toBe(Math.max(1, Math.ceil(created.length / first)));
    expect(new Set(totals)).toEqual(new Set([created.length]));
  });

  it('defaults to 20 per page', async () => {
    const data = await ok<{ workflows: Connection }>(
      '{ workflows { totalCount edges { cursor node { id status createdAt } } pageInfo { hasNextPage endCursor } } }',
      {},
      tenantToken,
    );
    expect(data.workflows.edges).toHaveLength(created.length);
    expect(data.workflows.pageInfo.hasNextPage).toBe(false);
  });

  it('filters by status, with totalCount counting the filtered set', async () => {
    const expected: Record<string, string[]> = {
      DRAFT: [created[1]!.id, created[2]!.id, created[4]!.id, created[5]!.id, created[6]!.id],
      PENDING_APPROVAL: [created[0]!.id],
      APPROVED: [created[3]!.id],
      REJECTED: [],
    };
    for (const [status, ids] of Object.entries(expected)) {
      const { nodes, totals } = await walk(tenantToken, 2, { status });
      expect(nodes.every((n) => n.status === status)).toBe(true);
      expect(nodes.map((n) => n.id).sort()).toEqual([...ids].sort());
      expect(new Set(totals)).toEqual(new Set([ids.length]));
    }
    const unfiltered = await walk(tenantToken, 100, {});
    expect(unfiltered.nodes).toHaveLength(created.length);
  });

  it('walks the shared demo tenant without duplicates, seeded workflows last', async () => {
    // The shared tenant grows with every run against a persistent database: larger pages.
    const { nodes, totals } = await walk(tokenOf('alice'), 25);
    const ids = nodes.map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Other test files may add workflows meanwhile, so only the last count is a bound:
    // every workflow seen had been committed before it was computed.
    expect(totals.at(-1)).toBeGreaterThanOrEqual(ids.length);
    // The seed creates all three in one transaction: same createdAt, so id descending.
    expect(ids.slice(-3)).toEqual(
      ACME_WORKFLOWS.map((w) => w.id)
        .sort()
        .reverse(),
    );
    expect(ids).not.toContain(GLOBEX_WORKFLOW.id);

    const globex = await walk(tokenOf('mallory'), 25);
    expect(globex.nodes.map((n) => n.id)).toContain(GLOBEX_WORKFLOW.id);
    for (const w of ACME_WORKFLOWS) expect(globex.nodes.map((n) => n.id)).not.toContain(w.id);
  });

  it.each([0, -1, 101, 1000])('refuses first: %d with BAD_USER_INPUT', async (first) => {
    const { error, body } = await fails(LIST, { first }, tenantToken);
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'first' });
    expect(body.data).toBeNull();
  });

  it('takes first: null as not given (the default page size), as Relay clients send it', async () => {
    const data = await ok<{ workflows: Connection }>(LIST, { first: null }, tenantToken);
    const { nodes } = await walk(tenantToken, 100);
    expect(data.workflows.edges.map((e) => e.node.id)).toEqual(nodes.slice(0, 20).map((n) => n.id));
  });

  it('refuses invalid cursors with BAD_USER_INPUT', async () => {
    const crafted = (createdAt: string) =>
      Buffer.from(JSON.stringify([createdAt, created[0]!.id])).toString('base64url');
    for (const after of [
      'abc',
      'not a cursor!',
      Buffer.from('{"id":1}').toString('base64url'),
      'A'.repeat(300),
      // Valid for JavaScript's Date, out of range for PostgreSQL: must not reach the database.
      crafted('-271821-04-20T00:00:00.000Z'),
      crafted('+275760-09-13T00:00:00.000Z'),
    ]) {
      const { error, body } = await fails(LIST, { first: 1, after }, tenantToken);
      expect(error.message).toBe('Invalid cursor');
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'after' });
      expect(body.data).toBeNull();
    }
  });

  it('an empty after is the first page', async () => {
    const data = await ok<{ workflows: Connection }>(LIST, { first: 1, after: '' }, tenantToken);
    expect(data.workflows.edges[0]?.node.id).toBe(sortedNewestFirst(created)[0]!.id);
  });

  it('a cursor from another tenant only says where a page ends, never what is visible', async () => {
    const acme = await ok<{ workflows: Connection }>(LIST, { first: 1 }, tokenOf('alice'));
    const cursor = acme.workflows.pageInfo.endCursor!;
    const { nodes } = await walk(tenantToken, 100);
    const page = await ok<{ workflows: Connection }>(
      LIST,
      { first: 100, after: cursor },
      tenantToken,
    );
    for (const edge of page.workflows.edges) expect(nodes.map((n) => n.id)).toContain(edge.node.id);
  });
});

describe('workflows (list) of a MEMBER', () => {
  it('lists only what the caller may view, and totalCount counts exactly those', async () => {
    // User 0 is an org admin, users 1 and 2 are members; the tenant's team has no members.
    const tenant = await server.createTenant(3);
    const [admin, member, other] = await Promise.all(
      tenant.users.map((u) => server.token('alice', { subject: u.subject, tenantId: tenant.id })),
    );
    const own = await create(member!, {}, 'member own');
    const shared = await create(admin!, {}, 'admin shared');
    const hidden = await create(admin!, { teamId: tenant.teamId }, 'admin hidden');
    await ok(SHARE, { id: shared.id, userId: tenant.users[1]!.id, role: 'VIEWER' }, admin!);
    await ok(SUBMIT, { id: own.id }, member!);

    const listed = async (token: string, filter?: Record<string, unknown>) => {
      const { nodes, totals } = await walk(token, 1, filter);
      expect(new Set(totals)).toEqual(new Set([nodes.length]));
      return nodes.map((n) => n.id).sort();
    };
    expect(await listed(member!)).toEqual([own.id, shared.id].sort());
    expect(await listed(member!, { status: 'DRAFT' })).toEqual([shared.id]);
    expect(await listed(member!, { status: 'PENDING_APPROVAL' })).toEqual([own.id]);
    expect(await listed(other!)).toEqual([]);
    expect(await listed(admin!)).toEqual([own.id, shared.id, hidden.id].sort());
    await expectWorkflowDenied(hidden.id, member!);
  });
});

describe('workflow (by id)', () => {
  it('returns an own workflow with its relations', async () => {
    const seeded = DEMO_WORKFLOWS[2];
    const workflow = await fetchWorkflow(seeded.id, tokenOf('alice'));
    expect(workflow).toMatchObject({
      id: seeded.id,
      name: seeded.name,
      amount: seeded.amount,
      owner: { id: demoUser('alice').id, displayName: 'Alice Admin' },
      team: { id: ENGINEERING, name: 'Engineering' },
    });
    const laptop = await fetchWorkflow(DEMO_WORKFLOWS[1].id, tokenOf('bob'));
    expect(laptop?.shares).toContainEqual({
      user: { id: demoUser('erin').id, displayName: 'Erin Finance' },
      role: 'VIEWER',
    });
  });

  it('accepts an id in upper case', async () => {
    const workflow = await fetchWorkflow(DEMO_WORKFLOWS[2].id.toUpperCase(), tokenOf('alice'));
    expect(workflow?.id).toBe(DEMO_WORKFLOWS[2].id);
  });

  it('answers another tenant’s id, an id it may not view and a missing id alike: null and FORBIDDEN', async () => {
    for (const [user, denied] of [
      ['mallory', ACME_WORKFLOWS[0].id],
      ['mallory', ACME_WORKFLOWS[2].id],
      ['alice', GLOBEX_WORKFLOW.id],
      // Same tenant, but Erin (Finance) is neither owner, shared with, nor in Engineering.
      ['erin', ACME_WORKFLOWS[0].id],
      ['erin', ACME_WORKFLOWS[2].id],
    ] as const) {
      const query = `query($id: ID!) { workflow(id: $id) { id name amount } }`;
      const theirs = await rawBody(query, { id: denied }, tokenOf(user));
      const missing = await rawBody(query, { id: randomUUID() }, tokenOf(user));
      const body = expectAlike(theirs, missing);
      expect(theirs.status).toBe(200);
      expect(body).toEqual({
        errors: [{ ...notAllowed(['workflow'], BY_ID), locations: [{ line: 1, column: 19 }] }],
        data: { workflow: null },
      });
      // Nothing else: no `explain` outside development, no hint of the object (the
      // coordinate and argument come from the schema, the same for any id).
      expect(Object.keys(body.errors![0]!)).toEqual(['message', 'locations', 'path', 'extensions']);
      expect(Object.keys(body.errors![0]!.extensions!)).toEqual([
        'code',
        'gate',
        'coordinate',
        'argument',
        'decisionId',
      ]);
    }
    // The control: Erin may view the workflow shared with her.
    const shared = await ok<{ workflow: { id: string } | null }>(
      `query($id: ID!) { workflow(id: $id) { id } }`,
      { id: ACME_WORKFLOWS[1].id },
      tokenOf('erin'),
    );
    expect(shared.workflow).toEqual({ id: ACME_WORKFLOWS[1].id });
  });

  it('refuses a malformed id with BAD_USER_INPUT', async () => {
    for (const id of ['abc', '', '00000000-0000-4000-c000-00000000050', `${randomUUID()} `]) {
      const { error, body } = await fails(WORKFLOW_QUERY, { id }, tokenOf('alice'));
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
      expect(body.data).toEqual({ workflow: null });
    }
  });
});

describe('createWorkflow', () => {
  it('creates a DRAFT owned by the caller from a decimal string', async () => {
    const name = uniqueName('create string');
    const { createWorkflow } = await ok<{ createWorkflow: Workflow }>(
      CREATE,
      { input: { name, amount: '1234.50', description: 'Line one\nline two' } },
      tokenOf('alice'),
    );
    expect(createWorkflow).toMatchObject({
      name,
      description: 'Line one\nline two',
      amount: '1234.50',
      status: 'DRAFT',
      version: 1,
      owner: { id: demoUser('alice').id },
      team: null,
      approvals: [],
      shares: [],
    });
    expect(createWorkflow.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(createWorkflow.createdAt).toBe(createWorkflow.updatedAt);
    // Committed as returned; no team and no shares, so a plain MEMBER does not see it.
    expect(await fetchWorkflow(createWorkflow.id, tokenOf('alice'))).toEqual(createWorkflow);
    await expectWorkflowDenied(createWorkflow.id, tokenOf('bob'));
  });

  it('accepts a number, trims the name and serialises amounts with two decimals', async () => {
    const name = uniqueName('create number');
    const created = await create(tokenOf('bob'), {
      name: `  ${name}  `,
      amount: 99,
      teamId: ENGINEERING,
    });
    expect(created).toMatchObject({
      name,
      description: '',
      amount: '99.00',
      team: { id: ENGINEERING, name: 'Engineering' },
      owner: { id: demoUser('bob').id },
    });
    const literal = await ok<{ createWorkflow: { amount: string } }>(
      `mutation { createWorkflow(input: { name: "${uniqueName('literal')}", amount: 0.5 }) { amount } }`,
      {},
      tokenOf('bob'),
    );
    expect(literal.createWorkflow.amount).toBe('0.50');
    const max = await create(tokenOf('bob'), { amount: '999999999999.99' });
    expect(max.amount).toBe('999999999999.99');
  });

  it.each(['-1', '1.234', 'abc', '1e3', '', 1.234, -5, '1000000000000'])(
    'refuses the amount %j with BAD_USER_INPUT',
    async (amount) => {
      const res = await server.gql(
        CREATE,
        { input: { name: uniqueName('bad amount'), amount } },
        tokenOf('alice'),
      );
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]!.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(res.body.data ?? null).toBeNull();
    },
  );

  it('refuses an invalid amount literal before anything executes', async () => {
    const res = await server.gql(
      `mutation { createWorkflow(input: { name: "literal", amount: "-1" }) { id } }`,
      {},
      tokenOf('alice'),
    );
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    // A literal is part of the document: Apollo reports it as a validation failure.
    expect(res.body.errors![0]!.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(res.body.errors![0]!.message).toMatch(/Decimal must be non-negative/);
  });

  it.each([
    ['', 'name'],
    ['   ', 'name'],
    ['x'.repeat(201), 'name'],
    ['bell\u0007', 'name'],
  ])('refuses the name %j with BAD_USER_INPUT', async (name, field) => {
    const { error, body } = await fails(CREATE, { input: { name, amount: '1' } }, tokenOf('alice'));
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(body.data).toBeNull();
  });

  it('accepts a name of exactly 200 characters and refuses a too long description', async () => {
    const name = uniqueName('long').padEnd(200, 'x');
    expect((await create(tokenOf('alice'), { name })).name).toBe(name);
    const { error } = await fails(
      CREATE,
      { input: { name: 'x', amount: '1', description: 'd'.repeat(10_001) } },
      tokenOf('alice'),
    );
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'description' });
  });

  it('answers another tenant’s team exactly like a team that does not exist: FORBIDDEN', async () => {
    const input = (teamId: string) => ({ input: { name: 'foreign team', amount: '1', teamId } });
    const foreign = await rawBody(CREATE, input(GLOBEX_TEAM), tokenOf('alice'));
    const missing = await rawBody(CREATE, input(randomUUID()), tokenOf('alice'));
    expect(foreign.status).toBe(200);
    expect(expectAlike(foreign, missing)).toEqual({
      errors: [
        {
          ...notAllowed(['createWorkflow'], {
            coordinate: 'Mutation.createWorkflow',
            argument: 'input.teamId',
          }),
          locations: [{ line: 1, column: 42 }],
        },
      ],
      data: null,
    });
    const malformed = await fails(CREATE, input('team-1'), tokenOf('alice'));
    expect(malformed.error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.teamId' });
    expect(malformed.body.data).toBeNull();
  });
});

describe('updateWorkflow', () => {
  it('edits a DRAFT, incrementing the version', async () => {
    const created = await create(tokenOf('alice'), { amount: '10.00' });
    const name = uniqueName('renamed');
    const { updateWorkflow } = await ok<{ updateWorkflow: Workflow }>(
      UPDATE,
      {
        id: created.id,
        input: { name, amount: '20.5', description: 'now described', teamId: ENGINEERING },
      },
      tokenOf('alice'),
    );
    expect(updateWorkflow).toMatchObject({
      id: created.id,
      name,
      amount: '20.50',
      description: 'now described',
      team: { id: ENGINEERING },
      version: 2,
      status: 'DRAFT',
      createdAt: created.createdAt,
    });

    // Only what is given changes; teamId null detaches.
    const second = await ok<{ updateWorkflow: Workflow }>(
      UPDATE,
      { id: created.id, input: { teamId: null }, expectedVersion: 2 },
      tokenOf('alice'),
    );
    expect(second.updateWorkflow).toMatchObject({
      name,
      amount: '20.50',
      description: 'now described',
      team: null,
      version: 3,
    });
    expect(await fetchWorkflow(created.id, tokenOf('alice'))).toEqual(second.updateWorkflow);
  });

  it('fails with CONFLICT for a stale expectedVersion and changes nothing', async () => {
    const created = await create(tokenOf('alice'));
    await ok(UPDATE, { id: created.id, input: { name: 'first edit' } }, tokenOf('alice'));
    const { error, body } = await fails(
      UPDATE,
      { id: created.id, input: { name: 'lost update' }, expectedVersion: 1 },
      tokenOf('alice'),
    );
    expect(error.extensions).toEqual({ code: 'CONFLICT' });
    expect(body.data).toBeNull();
    const current = await fetchWorkflow(created.id, tokenOf('alice'));
    expect(current).toMatchObject({ name: 'first edit', version: 2 });
  });

  it('refuses null for required fields and invalid values', async () => {
    const created = await create(tokenOf('alice'));
    for (const [input, field] of [
      [{ name: null }, 'name'],
      [{ amount: null }, 'amount'],
      [{ name: '' }, 'name'],
      // Checked by @permission: validated (as an id) before any authorization.
      [{ teamId: 'nope' }, 'input.teamId'],
    ] as const) {
      const { error } = await fails(UPDATE, { id: created.id, input }, tokenOf('alice'));
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    }
    const badAmount = await server.gql(
      UPDATE,
      { id: created.id, input: { amount: '-1' } },
      tokenOf('alice'),
    );
    expect(badAmount.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const foreignTeam = await rawBody(
      UPDATE,
      { id: created.id, input: { teamId: GLOBEX_TEAM } },
      tokenOf('alice'),
    );
    const missingTeam = await rawBody(
      UPDATE,
      { id: created.id, input: { teamId: randomUUID() } },
      tokenOf('alice'),
    );
    expect(foreignTeam.status).toBe(200);
    expect(expectAlike(foreignTeam, missingTeam)).toEqual({
      errors: [
        notAllowed(['updateWorkflow'], {
          coordinate: 'Mutation.updateWorkflow',
          argument: 'input.teamId',
        }),
      ],
      data: null,
    });
    expect(await fetchWorkflow(created.id, tokenOf('alice'))).toEqual(created);
  });

  it('refuses to edit a submitted workflow with INVALID_STATE', async () => {
    const created = await create(tokenOf('alice'));
    await ok(SUBMIT, { id: created.id }, tokenOf('alice'));
    for (const expectedVersion of [undefined, 2, 1]) {
      const { error } = await fails(
        UPDATE,
        {
          id: created.id,
          input: { amount: '1000000' },
          ...(expectedVersion === undefined ? {} : { expectedVersion }),
        },
        tokenOf('alice'),
      );
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'INVALID_STATE' });
    }
    expect(await fetchWorkflow(created.id, tokenOf('alice'))).toMatchObject({
      amount: '100.00',
      status: 'PENDING_APPROVAL',
      version: 2,
    });
  });
});

describe('lifecycle', () => {
  it('submits a DRAFT once', async () => {
    const created = await create(tokenOf('bob'));
    const { submitWorkflow } = await ok<{ submitWorkflow: Workflow }>(
      SUBMIT,
      { id: created.id },
      tokenOf('bob'),
    );
    expect(submitWorkflow).toMatchObject({ status: 'PENDING_APPROVAL', version: 2, approvals: [] });
    const again = await fails(SUBMIT, { id: created.id }, tokenOf('bob'));
    expect(again.error).toMatchObject({
      message: 'Only DRAFT workflows can be submitted',
      extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_STATE' },
    });
    expect((await fetchWorkflow(created.id, tokenOf('bob')))?.version).toBe(2);
  });

  it('approves a pending workflow, recording approver, decision and comment', async () => {
    const created = await create(tokenOf('bob'), { amount: '5000' });
    await ok(SUBMIT, { id: created.id }, tokenOf('bob'));
    // Carol (VP) may approve and see the amount, but not who it is shared with.
    const { approveWorkflow } = await okExceptDenied<{ approveWorkflow: Workflow }>(
      APPROVE,
      { id: created.id, comment: '  Looks good  ' },
      tokenOf('carol'),
      [[['approveWorkflow', 'shares'], 'Workflow.shares']],
    );
    expect(approveWorkflow.shares).toBeNull();
    expect(approveWorkflow).toMatchObject({ status: 'APPROVED', version: 3, amount: '5000.00' });
    expect(approveWorkflow.approvals).toHaveLength(1);
    expect(approveWorkflow.approvals[0]).toMatchObject({
      approver: { id: demoUser('carol').id, displayName: 'Carol VP' },
      decision: 'APPROVED',
      comment: 'Looks good',
    });
    // The owner reads back what was committed; so does the auditor, without the shares.
    expect(await fetchWorkflow(created.id, tokenOf('bob'))).toEqual({
      ...approveWorkflow,
      shares: [],
    });
    const audited = await okExceptDenied<{ workflow: Workflow }>(
      WORKFLOW_QUERY,
      { id: created.id },
      tokenOf('dave'),
      [[['workflow', 'shares'], 'Workflow.shares']],
    );
    expect(audited.workflow).toEqual(approveWorkflow);

    // Approving or rejecting again is refused by the approval policy (gate 3: only
    // PENDING_APPROVAL); submitting again by the state machine.
    for (const mutation of [APPROVE, REJECT]) {
      const { error } = await fails(mutation, { id: created.id }, tokenOf('carol'));
      expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', gate: 'policy' });
    }
    const resubmit = await fails(SUBMIT, { id: created.id }, tokenOf('bob'));
    expect(resubmit.error.extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'INVALID_STATE' });
    expect((await fetchWorkflow(created.id, tokenOf('bob')))?.approvals).toHaveLength(1);
  });

  it('rejects a pending workflow; a missing comment is empty', async () => {
    const created = await create(tokenOf('bob'));
    await ok(SUBMIT, { id: created.id }, tokenOf('bob'));
    const { rejectWorkflow } = await ok<{ rejectWorkflow: Workflow }>(
      REJECT,
      { id: created.id },
      tokenOf('alice'),
    );
    expect(rejectWorkflow.status).toBe('REJECTED');
    expect(rejectWorkflow.approvals).toEqual([
      expect.objectContaining({
        approver: { id: demoUser('alice').id, displayName: 'Alice Admin' },
        decision: 'REJECTED',
        comment: '',
      }),
    ]);
    const again = await fails(APPROVE, { id: created.id }, tokenOf('carol'));
    expect(again.error.extensions).toMatchObject({ code: 'FORBIDDEN', gate: 'policy' });
  });

  it('refuses to approve or reject a DRAFT (approval policy: only PENDING_APPROVAL)', async () => {
    const created = await create(tokenOf('bob'));
    for (const mutation of [APPROVE, REJECT]) {
      const { error } = await fails(mutation, { id: created.id, comment: 'no' }, tokenOf('carol'));
      expect(error).toMatchObject({
        message: 'Not allowed',
        extensions: { code: 'FORBIDDEN', gate: 'policy' },
      });
    }
    expect(await fetchWorkflow(created.id, tokenOf('bob'))).toEqual(created);
  });

  it('refuses an invalid comment without changing the workflow', async () => {
    const created = await create(tokenOf('bob'));
    await ok(SUBMIT, { id: created.id }, tokenOf('bob'));
    const { error } = await fails(
      APPROVE,
      { id: created.id, comment: 'c'.repeat(2001) },
      tokenOf('carol'),
    );
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'comment' });
    expect(await fetchWorkflow(created.id, tokenOf('bob'))).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: 2,
      approvals: [],
    });
  });

  it('answers unknown ids and ids it may not act on with FORBIDDEN, malformed ids with BAD_USER_INPUT', async () => {
    const draft = await create(tokenOf('alice'), {}, 'lifecycle draft');
    const pending = await create(tokenOf('alice'), {}, 'lifecycle pending');
    await ok(SUBMIT, { id: pending.id }, tokenOf('alice'));
    const before = {
      draft: await fetchWorkflow(draft.id, tokenOf('alice')),
      pending: await fetchWorkflow(pending.id, tokenOf('alice')),
    };
    for (const [mutation, field, target] of [
      [SUBMIT, 'submitWorkflow', draft.id],
      [APPROVE, 'approveWorkflow', pending.id],
      [REJECT, 'rejectWorkflow', pending.id],
    ] as const) {
      const missing = await fails(mutation, { id: randomUUID() }, tokenOf('alice'));
      expect(missing.body.data).toBeNull();
      expect(missing.error).toEqual(notAllowed([field], onId(field)));

      // Dave (auditor) may view Alice's workflows but neither edit nor approve them: the
      // same answer as for an id that does not exist.
      const denied = await rawBody(mutation, { id: target }, tokenOf('dave'));
      const unknown = await rawBody(mutation, { id: randomUUID() }, tokenOf('dave'));
      expect(denied.status).toBe(200);
      expect(expectAlike(denied, unknown)).toEqual({
        errors: [notAllowed([field], onId(field))],
        data: null,
      });

      const malformed = await fails(mutation, { id: 'abc' }, tokenOf('alice'));
      expect(malformed.error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
      expect(malformed.body.data).toBeNull();
    }
    expect(await fetchWorkflow(draft.id, tokenOf('alice'))).toEqual(before.draft);
    expect(await fetchWorkflow(pending.id, tokenOf('alice'))).toEqual(before.pending);
  });
});

describe('shareWorkflow', () => {
  it('creates a share and replaces it on the second call', async () => {
    const created = await create(tokenOf('alice'));
    const erin = demoUser('erin');
    const first = await ok<{ shareWorkflow: Workflow }>(
      SHARE,
      { id: created.id, userId: erin.id, role: 'VIEWER' },
      tokenOf('alice'),
    );
    expect(first.shareWorkflow.shares).toEqual([
      { user: { id: erin.id, displayName: erin.displayName }, role: 'VIEWER' },
    ]);
    const second = await ok<{ shareWorkflow: Workflow }>(
      SHARE,
      { id: created.id, userId: erin.id, role: 'APPROVER' },
      tokenOf('alice'),
    );
    expect(second.shareWorkflow.shares).toEqual([
      { user: { id: erin.id, displayName: erin.displayName }, role: 'APPROVER' },
    ]);
    await ok(
      SHARE,
      { id: created.id, userId: demoUser('dave').id, role: 'EDITOR' },
      tokenOf('alice'),
    );
    // Only those who may share it see the shares: here the owner (an org admin as well).
    const shares = (await fetchWorkflow(created.id, tokenOf('alice')))?.shares ?? [];
    expect(shares.map((s) => [s.user.id, s.role]).sort()).toEqual(
      [
        [erin.id, 'APPROVER'],
        [demoUser('dave').id, 'EDITOR'],
      ].sort(),
    );
    // The share took effect: Erin (approver) now sees the workflow and its amount.
    const asErin = await okExceptDenied<{ workflow: Workflow }>(
      WORKFLOW_QUERY,
      { id: created.id },
      tokenOf('erin'),
      [[['workflow', 'shares'], 'Workflow.shares']],
    );
    expect(asErin.workflow).toMatchObject({ id: created.id, amount: '100.00', shares: null });
  });

  it('answers a user of another tenant exactly like a user that does not exist: FORBIDDEN', async () => {
    const created = await create(tokenOf('alice'));
    const share = (userId: string) => ({ id: created.id, userId, role: 'VIEWER' });
    const foreign = await rawBody(SHARE, share(demoUser('mallory').id), tokenOf('alice'));
    const missing = await rawBody(SHARE, share(randomUUID()), tokenOf('alice'));
    expect(foreign.status).toBe(200);
    expect(expectAlike(foreign, missing)).toEqual({
      errors: [
        notAllowed(['shareWorkflow'], { coordinate: 'Mutation.shareWorkflow', argument: 'userId' }),
      ],
      data: null,
    });
    const malformed = await fails(SHARE, share('user-1'), tokenOf('alice'));
    expect(malformed.error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'userId' });
    expect(malformed.body.data).toBeNull();
    expect(await fetchWorkflow(created.id, tokenOf('alice'))).toEqual(created);
  });

  it('refuses an unknown role before anything executes', async () => {
    const created = await create(tokenOf('alice'));
    const res = await server.gql(
      SHARE,
      { id: created.id, userId: demoUser('bob').id, role: 'OWNER' },
      tokenOf('alice'),
    );
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect((await fetchWorkflow(created.id, tokenOf('alice')))?.shares).toEqual([]);
  });
});

describe('tenant isolation of mutations', () => {
  it('another tenant’s workflow is FORBIDDEN for every mutation, like a missing one, and stays unchanged', async () => {
    const draft = await create(tokenOf('alice'), { teamId: ENGINEERING }, 'isolation draft');
    const pending = await create(tokenOf('alice'), {}, 'isolation pending');
    await ok(SUBMIT, { id: pending.id }, tokenOf('alice'));
    const before = {
      draft: await fetchWorkflow(draft.id, tokenOf('alice')),
      pending: await fetchWorkflow(pending.id, tokenOf('alice')),
      seededDraft: await fetchWorkflow(ACME_WORKFLOWS[0].id, tokenOf('alice')),
      seededPending: await fetchWorkflow(ACME_WORKFLOWS[1].id, tokenOf('alice')),
    };

    const attempts: Array<[string, string, (id: string) => Record<string, unknown>, string]> = [
      [SUBMIT, 'submitWorkflow', (id) => ({ id }), draft.id],
      [UPDATE, 'updateWorkflow', (id) => ({ id, input: { name: 'pwned', amount: '0' } }), draft.id],
      [
        UPDATE,
        'updateWorkflow',
        (id) => ({ id, input: { name: 'pwned' }, expectedVersion: 1 }),
        draft.id,
      ],
      [APPROVE, 'approveWorkflow', (id) => ({ id, comment: 'pwned' }), pending.id],
      [REJECT, 'rejectWorkflow', (id) => ({ id, comment: 'pwned' }), pending.id],
      [
        SHARE,
        'shareWorkflow',
        (id) => ({ id, userId: demoUser('mallory').id, role: 'EDITOR' }),
        draft.id,
      ],
      [
        SHARE,
        'shareWorkflow',
        (id) => ({ id, userId: demoUser('bob').id, role: 'EDITOR' }),
        draft.id,
      ],
      [SUBMIT, 'submitWorkflow', (id) => ({ id }), ACME_WORKFLOWS[0].id],
      [APPROVE, 'approveWorkflow', (id) => ({ id }), ACME_WORKFLOWS[1].id],
    ];
    for (const [mutation, field, variables, id] of attempts) {
      const theirs = await rawBody(mutation, variables(id), tokenOf('mallory'));
      const missing = await rawBody(mutation, variables(randomUUID()), tokenOf('mallory'));
      expect(theirs.status).toBe(200);
      expect(expectAlike(theirs, missing)).toEqual({
        errors: [notAllowed([field], onId(field))],
        data: null,
      });
    }

    expect(await fetchWorkflow(draft.id, tokenOf('alice'))).toEqual(before.draft);
    expect(await fetchWorkflow(pending.id, tokenOf('alice'))).toEqual(before.pending);
    expect(await fetchWorkflow(ACME_WORKFLOWS[0].id, tokenOf('alice'))).toEqual(before.seededDraft);
    expect(await fetchWorkflow(ACME_WORKFLOWS[1].id, tokenOf('alice'))).toEqual(
      before.seededPending,
    );
  });

  it('mallory cannot attach an acme team or share with an acme user on her own workflow', async () => {
    const own = await create(tokenOf('mallory'));
    const team = await fails(
      UPDATE,
      { id: own.id, input: { teamId: ENGINEERING } },
      tokenOf('mallory'),
    );
    expect(team.body.data).toBeNull();
    expect(team.error).toEqual(
      notAllowed(['updateWorkflow'], {
        coordinate: 'Mutation.updateWorkflow',
        argument: 'input.teamId',
      }),
    );
    const share = await fails(
      SHARE,
      { id: own.id, userId: demoUser('alice').id, role: 'VIEWER' },
      tokenOf('mallory'),
    );
    expect(share.body.data).toBeNull();
    expect(share.error).toEqual(
      notAllowed(['shareWorkflow'], { coordinate: 'Mutation.shareWorkflow', argument: 'userId' }),
    );
    expect(await fetchWorkflow(own.id, tokenOf('mallory'))).toEqual(own);
    await expectWorkflowDenied(own.id, tokenOf('alice'));
  });
});

describe('mutation operations with several root fields', () => {
  let tenant: TestTenant;
  let token: string;

  beforeAll(async () => {
    tenant = await server.createTenant(1);
    token = await server.token('alice', { subject: tenant.users[0]!.subject, tenantId: tenant.id });
  });

  async function names(): Promise<string[]> {
    const data = await ok<{
      workflows: { totalCount: number; edges: Array<{ node: { name: string } }> };
    }>('{ workflows(first: 100) { totalCount edges { node { name } } } }', {}, token);
    expect(data.workflows.totalCount).toBe(data.workflows.edges.length);
    return data.workflows.edges.map((e) => e.node.name).sort();
  }

  it('commits the fields that succeeded and rolls back the one that failed', async () => {
    const before = await names();
    const res = await server.gql(
      `mutation {
        a: createWorkflow(input: { name: "committed a", amount: "1" }) { id }
        b: createWorkflow(input: { name: "", amount: "2" }) { id }
      }`,
      {},
      token,
    );
    expect(res.status).toBe(200);
    // b is non-null, so its error nulls the whole (mutation) result: a's id is not returned.
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        path: ['b'],
        extensions: { code: 'BAD_USER_INPUT', field: 'name' },
      }),
    ]);
    expect(await names()).toEqual([...before, 'committed a'].sort());
  });

  it('runs root fields in order and stops at the first failed (non-null) one', async () => {
    const created = await create(token);
    const res = await server.gql(
      `mutation($id: ID!) {
        first: submitWorkflow(id: $id) { status version }
        second: submitWorkflow(id: $id) { status version }
        third: updateWorkflow(id: $id, input: { name: "never runs" }) { version }
      }`,
      { id: created.id },
      token,
    );
    expect(res.body.data).toBeNull();
    // graphql-js executes mutation fields serially; the failed non-null field ends the
    // operation, so `third` is never executed (and reports nothing).
    expect(
      res.body.errors?.map((e) => [e.path, e.extensions?.['code'], e.extensions?.['reason']]),
    ).toEqual([[['second'], 'BAD_USER_INPUT', 'INVALID_STATE']]);
    expect(await fetchWorkflow(created.id, token)).toMatchObject({
      name: created.name,
      status: 'PENDING_APPROVAL',
      version: 2,
    });
  });

  it('keeps the writes of every successful field', async () => {
    const created = await create(token);
    const other = tenant.users[0]!.id;
    const data = await ok<Record<string, { version: number; status: string }>>(
      `mutation($id: ID!, $user: ID!) {
        u: updateWorkflow(id: $id, input: { amount: "7" }, expectedVersion: 1) { version status }
        s: shareWorkflow(id: $id, userId: $user, role: VIEWER) { version status }
        p: submitWorkflow(id: $id) { version status }
      }`,
      { id: created.id, user: other },
      token,
    );
    expect(data['u']).toEqual({ version: 2, status: 'DRAFT' });
    expect(data['p']).toEqual({ version: 3, status: 'PENDING_APPROVAL' });
    expect(await fetchWorkflow(created.id, token)).toMatchObject({
      amount: '7.00',
      status: 'PENDING_APPROVAL',
      version: 3,
      shares: [expect.objectContaining({ role: 'VIEWER' })],
    });
  });
});
