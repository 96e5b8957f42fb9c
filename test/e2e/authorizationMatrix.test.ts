/**
 * The authorization matrix: demo principal × operation × expected data and error codes,
 * over HTTP, for every relationship rule of policies/authz.zed and the cross-tenant cases.
 * Each row states exactly which fields answer and which are denied with which code; a
 * denied object must not leak anything (its name never appears in the response).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TEAMS, DEMO_USERS, DEMO_WORKFLOWS } from '../../src/demo/demoData.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

const user = (key: string): string => DEMO_USERS.find((u) => u.key === key)!.id;
const team = (name: string): string => DEMO_TEAMS.find((t) => t.name === name)!.id;
const wf = (name: string): string => DEMO_WORKFLOWS.find((w) => w.name === name)!.id;
const W500 = wf('Cloud credits top-up');
const W5K = wf('Laptop refresh');
const W25K = wf('Datacenter expansion');
const GLOBEX = wf('Globex expansion plan');

const READ_WF = 'query($id: ID!) { workflow(id: $id) { name amount owner { displayName email } } }';
const READ_USER = 'query($id: ID!) { user(id: $id) { displayName email } }';
const LIST = '{ workflows(first: 100) { totalCount edges { node { name } } } }';
const LIST_SERVICE_ACCOUNTS = '{ serviceAccounts(first: 1) { __typename } }';

interface Row {
  readonly who: string | null; // null: anonymous
  readonly what: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  /** Expected `data` (exact). */
  readonly data: unknown;
  /** Expected error code per path ("" for a request-level error). */
  readonly errors?: Record<string, string>;
  /** Strings that must not appear anywhere in the response. */
  readonly secret?: readonly string[];
  /**
   * For lists in the shared demo tenants (other tests add to them): the list must contain
   * at least the names in `data`, and totalCount must equal the number listed.
   */
  readonly atLeast?: boolean;
}

const rows: Row[] = [
  // Reading workflows: view, view_financials and PII.
  {
    who: 'alice',
    what: 'org admin reads everything of a workflow',
    query: READ_WF,
    variables: { id: W25K },
    data: {
      workflow: {
        name: 'Datacenter expansion',
        amount: '25000.00',
        owner: { displayName: 'Alice Admin', email: 'alice@acme.example' },
      },
    },
  },
  {
    who: 'bob',
    what: 'team member views a teammate’s workflow but not its amount or the owner’s email',
    query: READ_WF,
    variables: { id: W25K },
    data: {
      workflow: {
        name: 'Datacenter expansion',
        amount: null,
        owner: { displayName: 'Alice Admin', email: null },
      },
    },
    errors: { 'workflow.amount': 'FORBIDDEN', 'workflow.owner.email': 'FORBIDDEN' },
    secret: ['25000', 'alice@acme.example'],
  },
  {
    who: 'bob',
    what: 'owner sees the amount and their own email',
    query: READ_WF,
    variables: { id: W5K },
    data: {
      workflow: {
        name: 'Laptop refresh',
        amount: '5000.00',
        owner: { displayName: 'Bob Engineer', email: 'bob@acme.example' },
      },
    },
  },
  {
    who: 'carol',
    what: 'VP sees financials but not PII',
    query: READ_WF,
    variables: { id: W25K },
    data: {
      workflow: {
        name: 'Datacenter expansion',
        amount: '25000.00',
        owner: { displayName: 'Alice Admin', email: null },
      },
    },
    errors: { 'workflow.owner.email': 'FORBIDDEN' },
    secret: ['alice@acme.example'],
  },
  {
    who: 'dave',
    what: 'auditor sees financials but not PII',
    query: READ_WF,
    variables: { id: W5K },
    data: {
      workflow: {
        name: 'Laptop refresh',
        amount: '5000.00',
        owner: { displayName: 'Bob Engineer', email: null },
      },
    },
    errors: { 'workflow.owner.email': 'FORBIDDEN' },
    secret: ['bob@acme.example'],
  },
  {
    who: 'erin',
    what: 'a viewer share shows the workflow without its amount',
    query: READ_WF,
    variables: { id: W5K },
    data: {
      workflow: {
        name: 'Laptop refresh',
        amount: null,
        owner: { displayName: 'Bob Engineer', email: null },
      },
    },
    errors: { 'workflow.amount': 'FORBIDDEN', 'workflow.owner.email': 'FORBIDDEN' },
    secret: ['5000'],
  },
  {
    who: 'erin',
    what: 'another team’s workflow is not visible',
    query: READ_WF,
    variables: { id: W25K },
    data: { workflow: null },
    errors: { workflow: 'FORBIDDEN' },
    secret: ['Datacenter', '25000'],
  },
  {
    who: 'erin',
    what: 'a draft of another team is not visible',
    query: READ_WF,
    variables: { id: W500 },
    data: { workflow: null },
    errors: { workflow: 'FORBIDDEN' },
    secret: ['Cloud credits'],
  },
  {
    who: 'mallory',
    what: 'another tenant’s workflow is not visible',
    query: READ_WF,
    variables: { id: W25K },
    data: { workflow: null },
    errors: { workflow: 'FORBIDDEN' },
    secret: ['Datacenter', '25000', 'Alice'],
  },
  {
    who: 'mallory',
    what: 'her own tenant’s workflow is',
    query: READ_WF,
    variables: { id: GLOBEX },
    data: {
      workflow: {
        name: 'Globex expansion plan',
        amount: '25000.00',
        owner: { displayName: 'Mallory Admin', email: 'mallory@globex.example' },
      },
    },
  },
  {
    who: null,
    what: 'anonymous callers are unauthenticated',
    query: READ_WF,
    variables: { id: W25K },
    data: { workflow: null },
    errors: { workflow: 'UNAUTHENTICATED' },
    secret: ['Datacenter'],
  },
  // Users and PII.
  {
    who: 'alice',
    what: 'org admin sees a member’s email',
    query: READ_USER,
    variables: { id: user('bob') },
    data: { user: { displayName: 'Bob Engineer', email: 'bob@acme.example' } },
  },
  {
    who: 'bob',
    what: 'a user sees their own email',
    query: READ_USER,
    variables: { id: user('bob') },
    data: { user: { displayName: 'Bob Engineer', email: 'bob@acme.example' } },
  },
  {
    who: 'bob',
    what: 'but not a colleague’s',
    query: READ_USER,
    variables: { id: user('alice') },
    data: { user: { displayName: 'Alice Admin', email: null } },
    errors: { 'user.email': 'FORBIDDEN' },
    secret: ['alice@acme.example'],
  },
  {
    who: 'dave',
    what: 'an auditor does not see PII',
    query: READ_USER,
    variables: { id: user('erin') },
    data: { user: { displayName: 'Erin Finance', email: null } },
    errors: { 'user.email': 'FORBIDDEN' },
    secret: ['erin@acme.example'],
  },
  {
    who: 'mallory',
    what: 'another tenant’s user is not visible',
    query: READ_USER,
    variables: { id: user('alice') },
    data: { user: null },
    errors: { user: 'FORBIDDEN' },
    secret: ['Alice', 'alice@acme.example'],
  },
  // Lists show exactly what may be viewed.
  {
    who: 'erin',
    what: 'lists the workflow shared with her, not her colleagues’ others',
    query: LIST,
    data: { workflows: { totalCount: 1, edges: [{ node: { name: 'Laptop refresh' } }] } },
    atLeast: true,
    secret: ['Datacenter', 'Cloud credits', 'Globex'],
  },
  {
    who: 'mallory',
    what: 'lists only her tenant’s workflows',
    query: LIST,
    data: { workflows: { totalCount: 1, edges: [{ node: { name: 'Globex expansion plan' } }] } },
    atLeast: true,
    secret: ['Datacenter', 'Laptop', 'Cloud credits'],
  },
  // Mutations that must be refused (and change nothing).
  {
    who: 'bob',
    what: 'an owner cannot approve their own workflow (not an approver)',
    query: 'mutation($id: ID!) { approveWorkflow(id: $id) { status } }',
    variables: { id: W5K },
    data: null,
    errors: { approveWorkflow: 'FORBIDDEN' },
  },
  {
    who: 'erin',
    what: 'a viewer cannot submit',
    query: 'mutation($id: ID!) { submitWorkflow(id: $id) { status } }',
    variables: { id: W5K },
    data: null,
    errors: { submitWorkflow: 'FORBIDDEN' },
  },
  {
    who: 'dave',
    what: 'an auditor cannot edit',
    query: 'mutation($id: ID!) { updateWorkflow(id: $id, input: { name: "audited" }) { name } }',
    variables: { id: W500 },
    data: null,
    errors: { updateWorkflow: 'FORBIDDEN' },
  },
  {
    who: 'erin',
    what: 'a viewer cannot share',
    query:
      'mutation($id: ID!, $u: ID!) { shareWorkflow(id: $id, userId: $u, role: EDITOR) { name } }',
    variables: { id: W5K, u: user('erin') },
    data: null,
    errors: { shareWorkflow: 'FORBIDDEN' },
  },
  {
    who: 'dave',
    what: 'an auditor cannot create workflows',
    query: 'mutation { createWorkflow(input: { name: "x", amount: "1" }) { name } }',
    data: null,
    errors: { createWorkflow: 'FORBIDDEN' },
  },
  {
    who: 'bob',
    what: 'a workflow cannot be put in a team one is not in',
    query:
      'mutation($t: ID!) { createWorkflow(input: { name: "x", amount: "1", teamId: $t }) { name } }',
    variables: { t: team('Finance') },
    data: null,
    errors: { createWorkflow: 'FORBIDDEN' },
  },
  {
    who: 'bob',
    what: 'a workflow cannot be shared with another tenant’s user',
    query:
      'mutation($id: ID!, $u: ID!) { shareWorkflow(id: $id, userId: $u, role: VIEWER) { name } }',
    variables: { id: W5K, u: user('mallory') },
    data: null,
    errors: { shareWorkflow: 'FORBIDDEN' },
  },
  {
    who: 'mallory',
    what: 'another tenant cannot approve',
    query: 'mutation($id: ID!) { approveWorkflow(id: $id) { status } }',
    variables: { id: W25K },
    data: null,
    errors: { approveWorkflow: 'FORBIDDEN' },
    secret: ['Datacenter'],
  },
  {
    who: 'mallory',
    what: 'another tenant’s team cannot be used',
    query:
      'mutation($t: ID!) { createWorkflow(input: { name: "x", amount: "1", teamId: $t }) { name } }',
    variables: { t: team('Engineering') },
    data: null,
    errors: { createWorkflow: 'FORBIDDEN' },
  },
  // Users, roles and teams (test/e2e/identityAdmin.test.ts goes through every operation and
  // guard rail): the directory for everyone of the organisation, changes for its admins and
  // (members of a team) the team's maintainers.
  ...['alice', 'bob', 'carol', 'dave', 'erin', 'mallory'].map((who): Row => ({
    who,
    what: 'everyone of an organisation lists its directory',
    query: '{ users(first: 1) { __typename } }',
    data: { users: { __typename: 'UserConnection' } },
  })),
  {
    who: null,
    what: 'anonymous callers do not list users',
    query: '{ users(first: 1) { __typename } }',
    data: null,
    // Nothing could be answered: the request is refused as a whole (a 401, no path).
    errors: { '': 'UNAUTHENTICATED' },
  },
  ...['alice', 'mallory'].map((who): Row => ({
    who,
    what: 'an org admin reads their organisation’s group mapping',
    query: '{ roleMapping { __typename } }',
    data: { roleMapping: { __typename: 'RoleMapping' } },
  })),
  ...['bob', 'carol', 'dave', 'erin'].map((who): Row => ({
    who,
    what: 'nobody else reads the group mapping',
    query: '{ roleMapping { __typename } }',
    data: null,
    errors: { roleMapping: 'FORBIDDEN' },
  })),
  {
    who: 'bob',
    what: 'a member cannot raise their own roles',
    query: 'mutation($u: ID!) { setUserRoles(userId: $u, roles: [ADMIN]) { roles } }',
    variables: { u: user('bob') },
    data: null,
    errors: { setUserRoles: 'FORBIDDEN' },
  },
  {
    who: 'carol',
    what: 'a VP cannot invite users',
    query:
      'mutation { inviteUser(input: { email: "matrix@acme.example", displayName: "M" }) { id } }',
    data: null,
    errors: { inviteUser: 'FORBIDDEN' },
  },
  {
    who: 'mallory',
    what: 'another organisation’s admin cannot deactivate a user',
    query: 'mutation($u: ID!) { deactivateUser(userId: $u) { active } }',
    variables: { u: user('bob') },
    data: null,
    errors: { deactivateUser: 'FORBIDDEN' },
    secret: ['bob@acme.example'],
  },
  {
    who: 'erin',
    what: 'a maintainer of another team cannot add members to this one',
    query: 'mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { name } }',
    variables: { t: team('Engineering'), u: user('erin') },
    data: null,
    errors: { addTeamMember: 'FORBIDDEN' },
  },
  {
    who: 'bob',
    what: 'a team member cannot remove a teammate',
    query: 'mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) { name } }',
    variables: { t: team('Engineering'), u: user('alice') },
    data: null,
    errors: { removeTeamMember: 'FORBIDDEN' },
  },
  {
    who: 'dave',
    what: 'an auditor cannot change the group mapping',
    query: 'mutation { updateRoleMapping(rules: []) { version } }',
    data: null,
    errors: { updateRoleMapping: 'FORBIDDEN' },
  },
  // Identity administration: org admins only (manage_service_accounts), each in their own
  // organisation. (test/e2e/serviceAccounts.test.ts goes through every operation.)
  ...['alice', 'mallory'].map((who): Row => ({
    who,
    what: 'an org admin lists their organisation’s service accounts',
    query: LIST_SERVICE_ACCOUNTS,
    data: { serviceAccounts: { __typename: 'ServiceAccountConnection' } },
  })),
  ...['bob', 'carol', 'dave', 'erin'].map((who): Row => ({
    who,
    what: 'nobody else lists service accounts',
    query: LIST_SERVICE_ACCOUNTS,
    data: null,
    errors: { serviceAccounts: 'FORBIDDEN' },
  })),
  {
    who: null,
    what: 'anonymous callers do not list service accounts',
    query: LIST_SERVICE_ACCOUNTS,
    data: null,
    errors: { '': 'UNAUTHENTICATED' },
  },
  {
    who: 'bob',
    what: 'a member cannot create a service account',
    query: 'mutation { createServiceAccount(input: { name: "matrix bot" }) { id } }',
    data: null,
    errors: { createServiceAccount: 'FORBIDDEN' },
  },
  {
    who: 'dave',
    what: 'an auditor cannot create API keys',
    query:
      'mutation($a: String!) { createApiKey(input: { serviceAccountId: $a, scopes: ["x"] }) { key } }',
    variables: { a: '00000000-0000-4000-a000-00000000abcd' },
    data: null,
    errors: { createApiKey: 'FORBIDDEN' },
  },
  {
    who: 'carol',
    what: 'a VP cannot rotate API keys',
    query: 'mutation($k: String!) { rotateApiKey(id: $k) { key } }',
    variables: { k: 'a'.repeat(24) },
    data: null,
    errors: { rotateApiKey: 'FORBIDDEN' },
  },
  {
    who: 'erin',
    what: 'a member cannot revoke API keys',
    query: 'mutation($k: String!) { revokeApiKey(id: $k) { id } }',
    variables: { k: 'a'.repeat(24) },
    data: null,
    errors: { revokeApiKey: 'FORBIDDEN' },
  },
  {
    who: 'dave',
    what: 'an auditor cannot deactivate service accounts',
    query: 'mutation($a: String!) { deactivateServiceAccount(id: $a) { id } }',
    variables: { a: '00000000-0000-4000-a000-00000000abcd' },
    data: null,
    errors: { deactivateServiceAccount: 'FORBIDDEN' },
  },
  {
    who: 'bob',
    what: 'a member cannot set a service account’s roles',
    query: 'mutation($a: String!) { setServiceAccountRoles(id: $a, roles: [MEMBER]) { id } }',
    variables: { a: '00000000-0000-4000-a000-00000000abcd' },
    data: null,
    errors: { setServiceAccountRoles: 'FORBIDDEN' },
  },
  {
    who: 'mallory',
    what: 'an org admin setting roles of an account outside her organisation finds nothing',
    query: 'mutation($a: String!) { setServiceAccountRoles(id: $a, roles: [AUDITOR]) { id } }',
    variables: { a: '00000000-0000-4000-a000-00000000abcd' },
    data: null,
    errors: { setServiceAccountRoles: 'NOT_FOUND' },
  },
  {
    who: 'mallory',
    what: 'an org admin acting on an account outside her organisation finds nothing',
    query: 'mutation($a: String!) { deactivateServiceAccount(id: $a) { id } }',
    variables: { a: '00000000-0000-4000-a000-00000000abcd' },
    data: null,
    errors: { deactivateServiceAccount: 'NOT_FOUND' },
  },
];

describe('authorization matrix (demo principals over HTTP)', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();
  beforeAll(async () => {
    server = await startTestServer();
    for (const u of DEMO_USERS) tokens.set(u.key, await server.token(u.key));
  });
  afterAll(() => server.stop());

  it.each(rows.map((r) => [`${r.who ?? 'anonymous'}: ${r.what}`, r] as const))(
    '%s',
    async (_title, row) => {
      const res = await server.gql(
        row.query,
        row.variables,
        row.who ? tokens.get(row.who) : undefined,
      );
      if (row.atLeast) {
        type List = { workflows: { totalCount: number; edges: Array<{ node: { name: string } }> } };
        const got = (res.body.data as List | null)?.workflows;
        const want = (row.data as List).workflows;
        expect(got?.totalCount).toBe(got?.edges.length);
        expect(got?.edges.map((e) => e.node.name)).toEqual(
          expect.arrayContaining(want.edges.map((e) => e.node.name)),
        );
      } else {
        expect(res.body.data ?? null).toEqual(row.data);
      }
      const errors = Object.fromEntries(
        (res.body.errors ?? []).map((e) => [(e.path ?? []).join('.'), e.extensions?.['code']]),
      );
      expect(errors).toEqual(row.errors ?? {});
      for (const e of res.body.errors ?? []) {
        if (e.extensions?.['code'] === 'FORBIDDEN')
          expect(e.extensions['gate']).toBe('relationship');
      }
      const text = JSON.stringify(res.body);
      for (const s of row.secret ?? []) expect(text).not.toContain(s);
    },
  );

  it('an allowed lifecycle: a member creates in their team and submits, a VP approves', async () => {
    const create = await server.gql<{ createWorkflow: { id: string; status: string } }>(
      'mutation($t: ID!) { createWorkflow(input: { name: "matrix flow", amount: "25000", teamId: $t }) { id status } }',
      { t: team('Engineering') },
      tokens.get('bob'),
    );
    expect(create.body.errors).toBeUndefined();
    const id = create.body.data!.createWorkflow.id;
    const step = (who: string, mutation: string) =>
      server.gql<Record<string, { status: string }>>(
        `mutation($id: ID!) { ${mutation}(id: $id) { status } }`,
        { id },
        tokens.get(who),
      );
    expect((await step('bob', 'submitWorkflow')).body.data).toEqual({
      submitWorkflow: { status: 'PENDING_APPROVAL' },
    });
    expect((await step('bob', 'approveWorkflow')).body.errors?.[0]?.extensions?.['code']).toBe(
      'FORBIDDEN',
    );
    expect((await step('carol', 'approveWorkflow')).body.data).toEqual({
      approveWorkflow: { status: 'APPROVED' },
    });
  });
});
