/**
 * Service accounts with organisation roles (issue 12), end to end: an org admin sets an
 * account's roles (`setServiceAccountRoles`), they become relationships of its SpiceDB
 * subject `service_account:<tenant>/<id>` through the outbox, and its API key is then
 * decided by the very same gates as a user of those roles — a MEMBER account sees the
 * directory and the workflows a member with no relationships sees (none), an AUDITOR
 * account every workflow (as an admin does) and the audit trail; without roles it is
 * denied. A change holds from the very next request (read-after-write), ADMIN is never
 * granted, a service account runs no mutation, another organisation's admin gets
 * NOT_FOUND and a member FORBIDDEN, each change is audited, and deactivation deletes the
 * account's relationships.
 *
 * A private tenant (createTenant: user 0 its admin, users 1 and 2 members) keeps every
 * list deterministic.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectId } from '../../src/authz/objectIds.js';
import { asTenantOwner } from '../support/serviceAccounts.js';
import { startTestServer, type TestServer } from '../support/testServer.js';
import type { TestTenant } from '../support/testDatabase.js';

const ACCOUNT = 'id name active roles';
const CREATE_ACCOUNT = `mutation($n: String!) { createServiceAccount(input: { name: $n }) { ${ACCOUNT} } }`;
const CREATE_KEY = `mutation($a: String!, $s: [String!]!) {
  createApiKey(input: { serviceAccountId: $a, scopes: $s }) { key } }`;
/** Scopes for every operation these tests try (`<area>:*` holds every `<area>:…`). */
const ALL_SCOPES = ['workflows:*', 'audit:read', 'directory:read', 'service_accounts:*'];
const SET_ROLES = `mutation($id: String!, $r: [OrgRole!]!) {
  setServiceAccountRoles(id: $id, roles: $r) { ${ACCOUNT} } }`;
const DEACTIVATE = `mutation($id: String!) { deactivateServiceAccount(id: $id) { ${ACCOUNT} } }`;
const LIST = '{ workflows(first: 100) { totalCount edges { node { id name } } } }';
const READ_WF = 'query($id: ID!) { workflow(id: $id) { id name } }';
const READ_USER = 'query($id: ID!) { user(id: $id) { displayName } }';
const AUDIT = `query($f: AuditEventFilter) { auditEvents(first: 100, filter: $f) {
  edges { node { action outcome actor { subject kind userId } resource { type id } changes } } } }`;

interface Err {
  message: string;
  path?: unknown[];
  extensions?: Record<string, unknown>;
}
interface Body<T> {
  data?: T | null;
  errors?: Err[];
}
interface Account {
  id: string;
  name: string;
  active: boolean;
  roles: string[];
}
type WorkflowList = {
  workflows: { totalCount: number; edges: Array<{ node: { id: string; name: string } }> };
};

let server: TestServer;
let tenant: TestTenant;
/** Tokens of the private tenant's users: 0 its admin, 1 and 2 members. */
const tokens: string[] = [];
/** Workflows of member 2 (no team, not shared): nobody but 2 and the admin sees them. */
const workflows: Array<{ id: string; name: string }> = [];

async function asToken<T>(
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Body<T>> {
  return (await server.gql<T>(query, variables, token)).body;
}

async function asKey<T>(
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Body<T>> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
    body: JSON.stringify({ query, variables }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Body<T>;
}

function ok<T>(body: Body<T>): T {
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!;
}

/** The code of the one error of `body` at `field`. */
function codeOf(body: Body<unknown>): unknown {
  expect(body.errors, JSON.stringify(body)).toHaveLength(1);
  return body.errors![0]!.extensions?.['code'];
}

const names = (list: WorkflowList) => list.workflows.edges.map((e) => e.node.name).sort();

/** An account of the private tenant, made by its admin, with one key. */
async function accountWithKey(
  scopes: readonly string[] = ALL_SCOPES,
): Promise<{ account: Account; key: string }> {
  const { createServiceAccount: account } = ok(
    await asToken<{ createServiceAccount: Account }>(tokens[0], CREATE_ACCOUNT, {
      n: `ci ${randomUUID()}`,
    }),
  );
  const { createApiKey } = ok(
    await asToken<{ createApiKey: { key: string } }>(tokens[0], CREATE_KEY, {
      a: account.id,
      s: scopes,
    }),
  );
  return { account, key: createApiKey.key };
}

async function setRoles(id: string, roles: string[], token = tokens[0]): Promise<Account> {
  return ok(await asToken<{ setServiceAccountRoles: Account }>(token, SET_ROLES, { id, r: roles }))
    .setServiceAccountRoles;
}

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.createTenant(3);
  for (const i of [0, 1, 2]) tokens.push(await server.tenantToken(tenant, i));
  for (const name of ['roles: build', 'roles: deploy']) {
    const { createWorkflow } = ok(
      await asToken<{ createWorkflow: { id: string; name: string } }>(
        tokens[2],
        `mutation($n: String!) { createWorkflow(input: { name: $n, amount: "10" }) { id name } }`,
        { n: name },
      ),
    );
    workflows.push(createWorkflow);
  }
});
afterAll(() => server.stop());

describe('a service account with roles', () => {
  let account: Account;
  let key: string;
  beforeAll(async () => {
    ({ account, key } = await accountWithKey());
  });

  it('holds none when made: the gates deny it', async () => {
    expect(account.roles).toEqual([]);
    const list = await asKey<WorkflowList>(key, LIST);
    expect(list.data?.workflows.edges ?? []).toEqual([]);
    expect(codeOf(await asKey(key, READ_WF, { id: workflows[0]!.id }))).toBe('FORBIDDEN');
    expect(codeOf(await asKey(key, READ_USER, { id: tenant.users[1]!.id }))).toBe('FORBIDDEN');
    expect(codeOf(await asKey(key, AUDIT))).toBe('FORBIDDEN');
  });

  it('as MEMBER: what a member with no relationships gets, from the next request on', async () => {
    expect((await setRoles(account.id, ['MEMBER'])).roles).toEqual(['MEMBER']);
    // The directory (view_directory): like member 1.
    const user = { id: tenant.users[2]!.id };
    expect(ok(await asKey(key, READ_USER, user))).toEqual(
      ok(await asToken(tokens[1], READ_USER, user)),
    );
    // Workflows: a member sees its own, shared and its teams' only — here none, as member 1.
    const mine = ok(await asKey<WorkflowList>(key, LIST));
    expect(mine).toEqual(ok(await asToken<WorkflowList>(tokens[1], LIST)));
    expect(mine.workflows).toEqual({ totalCount: 0, edges: [] });
    for (const w of workflows) {
      const byKey = await asKey(key, READ_WF, { id: w.id });
      const byMember = await asToken(tokens[1], READ_WF, { id: w.id });
      expect(codeOf(byKey)).toBe('FORBIDDEN');
      expect(byKey.data).toEqual(byMember.data);
      expect(codeOf(byMember)).toBe('FORBIDDEN');
      expect(JSON.stringify(byKey)).not.toContain(w.name);
    }
    // Not an auditor.
    expect(codeOf(await asKey(key, AUDIT))).toBe('FORBIDDEN');
  });

  it('runs no mutation, whatever its roles allow (mutations record a user)', async () => {
    const res = await asKey(
      key,
      'mutation { createWorkflow(input: { name: "by a key", amount: "1" }) { id } }',
    );
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'NO_ACCOUNT' });
    const list = ok(await asToken<WorkflowList>(tokens[0], LIST));
    expect(names(list)).not.toContain('by a key');
  });

  it('as AUDITOR: every workflow (as the admin sees them) and the audit trail', async () => {
    expect((await setRoles(account.id, ['AUDITOR'])).roles).toEqual(['AUDITOR']);
    const list = ok(await asKey<WorkflowList>(key, LIST));
    expect(names(list)).toEqual(names(ok(await asToken<WorkflowList>(tokens[0], LIST))));
    expect(names(list)).toEqual(workflows.map((w) => w.name).sort());
    expect(ok(await asKey(key, READ_WF, { id: workflows[0]!.id }))).toEqual({
      workflow: workflows[0],
    });
    const trail = ok(
      await asKey<{ auditEvents: { edges: Array<{ node: { action: string } }> } }>(key, AUDIT, {
        f: { action: 'service_account.' },
      }),
    );
    expect(trail.auditEvents.edges.map((e) => e.node.action)).toContain('service_account.roles');
    // Still the directory (auditors are in it); never a user's PII-guarded admin powers.
    ok(await asKey(key, READ_USER, { id: tenant.users[1]!.id }));
    expect(codeOf(await asKey(key, '{ serviceAccounts(first: 1) { totalCount } }'))).toBe(
      'FORBIDDEN',
    );
  });

  it('with several roles holds each; with [] none, from the very next request', async () => {
    expect((await setRoles(account.id, ['MEMBER', 'AUDITOR', 'MEMBER'])).roles).toEqual([
      'MEMBER',
      'AUDITOR',
    ]);
    ok(await asKey(key, AUDIT));
    expect((await setRoles(account.id, [])).roles).toEqual([]);
    // The next requests: the outbox's DELETEs are applied, no decision is reused.
    expect(codeOf(await asKey(key, AUDIT))).toBe('FORBIDDEN');
    expect(codeOf(await asKey(key, READ_WF, { id: workflows[0]!.id }))).toBe('FORBIDDEN');
    expect(codeOf(await asKey(key, READ_USER, { id: tenant.users[1]!.id }))).toBe('FORBIDDEN');
    expect(ok(await asKey<WorkflowList>(key, LIST)).workflows.edges).toEqual([]);
  });

  it('needs its key’s scope for each operation, whatever its roles allow', async () => {
    const narrow = await accountWithKey(['workflows:read']);
    await setRoles(narrow.account.id, ['AUDITOR']);
    expect(names(ok(await asKey<WorkflowList>(narrow.key, LIST)))).toEqual(
      workflows.map((w) => w.name).sort(),
    );
    for (const [query, variables] of [
      [AUDIT, { f: {} }],
      [READ_USER, { id: tenant.users[1]!.id }],
    ] as const) {
      const denied = await asKey(narrow.key, query, variables);
      expect(codeOf(denied)).toBe('FORBIDDEN');
      expect(denied.errors![0]!.extensions?.['gate']).toBe('scope');
    }
    // A user's token is not held to scopes (AUTH_REQUIRE_SCOPES is off by default).
    ok(await asToken(tokens[0], AUDIT, { f: {} }));
  });

  it('is never ADMIN', async () => {
    for (const roles of [['ADMIN'], ['MEMBER', 'ADMIN']]) {
      const res = await asToken(tokens[0], SET_ROLES, { id: account.id, r: roles });
      expect(res.data ?? null).toBeNull();
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
    }
    expect(codeOf(await asKey(key, '{ serviceAccounts(first: 1) { totalCount } }'))).toBe(
      'FORBIDDEN',
    );
  });
});

describe('who may set roles', () => {
  it('a member may not (FORBIDDEN), nor the account’s own key', async () => {
    const { account, key } = await accountWithKey();
    const member = await asToken(tokens[1], SET_ROLES, { id: account.id, r: ['AUDITOR'] });
    expect(member.data ?? null).toBeNull();
    expect(codeOf(member)).toBe('FORBIDDEN');
    await setRoles(account.id, ['MEMBER']);
    const self = await asKey(key, SET_ROLES, { id: account.id, r: ['AUDITOR'] });
    expect(self.data ?? null).toBeNull();
    expect(codeOf(self)).toBe('FORBIDDEN');
    expect(codeOf(await asKey(key, AUDIT))).toBe('FORBIDDEN');
  });

  it('another organisation’s admin finds acme’s account NOT_FOUND, exactly like a random id', async () => {
    const alice = await server.token('alice');
    const { createServiceAccount: acme } = ok(
      await asToken<{ createServiceAccount: Account }>(alice, CREATE_ACCOUNT, {
        n: `acme ci ${randomUUID()}`,
      }),
    );
    const mallory = await server.token('mallory');
    const real = await asToken(mallory, SET_ROLES, { id: acme.id, r: ['AUDITOR'] });
    const random = await asToken(mallory, SET_ROLES, { id: randomUUID(), r: ['AUDITOR'] });
    expect(codeOf(real)).toBe('NOT_FOUND');
    expect(real).toEqual(random);
    // So does the private tenant's admin.
    expect(codeOf(await asToken(tokens[0], SET_ROLES, { id: acme.id, r: ['MEMBER'] }))).toBe(
      'NOT_FOUND',
    );
    // Nothing changed.
    const listed = ok(
      await asToken<{ serviceAccounts: { edges: Array<{ node: Account }> } }>(
        alice,
        `{ serviceAccounts(first: 100) { edges { node { ${ACCOUNT} } } } }`,
      ),
    ).serviceAccounts.edges.find((e) => e.node.id === acme.id);
    expect(listed?.node.roles).toEqual([]);
  });
});

describe('deactivation and the trail', () => {
  it('deactivating deletes the account’s relationships, through the outbox; roles then CONFLICT', async () => {
    const { account } = await accountWithKey();
    await setRoles(account.id, ['MEMBER', 'AUDITOR']);
    const after = ok(
      await asToken<{ deactivateServiceAccount: Account }>(tokens[0], DEACTIVATE, {
        id: account.id,
      }),
    ).deactivateServiceAccount;
    expect(after).toMatchObject({ active: false, roles: ['MEMBER', 'AUDITOR'] });
    const sid = objectId(tenant.id, account.id);
    const rows = await asTenantOwner(server.gatehouse.database, tenant.id, (tx) =>
      tx.$queryRawUnsafe<Array<{ operation: string; tuple: string; applied: boolean }>>(
        `select operation, resource_type || ':' || resource_id || '#' || relation || '@' || subject_type || ':' || subject_id as tuple,
                applied_at is not null as applied
           from authz_outbox
          where tenant_id = $1::uuid
            and ((resource_type = 'service_account' and resource_id = $2)
              or (subject_type = 'service_account' and subject_id = $2))
          order by id`,
        tenant.id,
        sid,
      ),
    );
    const org = `organization:${tenant.id}`;
    const tuples = [
      `service_account:${sid}#organization@${org}`,
      `${org}#member@service_account:${sid}`,
      `${org}#auditor@service_account:${sid}`,
    ];
    expect(rows.map((r) => [r.operation, r.tuple])).toEqual([
      ...tuples.map((t) => ['TOUCH', t]),
      ...tuples.map((t) => ['DELETE', t]),
    ]);
    expect(rows.every((r) => r.applied)).toBe(true);
    const again = await asToken(tokens[0], SET_ROLES, { id: account.id, r: ['MEMBER'] });
    expect(codeOf(again)).toBe('CONFLICT');
  });

  it('audits each change of roles: before and after, by the admin', async () => {
    const { account } = await accountWithKey();
    await setRoles(account.id, ['MEMBER']);
    await setRoles(account.id, ['AUDITOR', 'MEMBER']);
    await asToken(tokens[1], SET_ROLES, { id: account.id, r: ['AUDITOR'] });
    const trail = ok(
      await asToken<{
        auditEvents: {
          edges: Array<{
            node: {
              action: string;
              outcome: string;
              actor: { subject: string; kind: string; userId: string | null };
              resource: { type: string; id: string } | null;
              changes: unknown;
            };
          }>;
        };
      }>(tokens[0], AUDIT, { f: { action: 'service_account.roles', resourceId: account.id } }),
    ).auditEvents.edges.map((e) => e.node);
    const admin = tenant.users[0]!;
    const byAdmin = { subject: admin.subject, kind: 'USER', userId: admin.id };
    const resource = { type: 'service_account', id: account.id };
    expect(trail.filter((e) => e.outcome === 'SUCCEEDED').reverse()).toEqual([
      {
        action: 'service_account.roles',
        outcome: 'SUCCEEDED',
        actor: byAdmin,
        resource,
        changes: { roles: { before: [], after: ['MEMBER'] } },
      },
      {
        action: 'service_account.roles',
        outcome: 'SUCCEEDED',
        actor: byAdmin,
        resource,
        changes: { roles: { before: ['MEMBER'], after: ['AUDITOR', 'MEMBER'] } },
      },
    ]);
    // The member's refused attempt is in the trail too.
    expect(
      trail.some((e) => e.outcome === 'DENIED' && e.actor.subject === tenant.users[1]!.subject),
    ).toBe(true);
  });
});

describe('a service account in a team', () => {
  const ADD = `mutation($id: String!, $t: ID!) {
    addServiceAccountToTeam(id: $id, teamId: $t) { id teams { id name } } }`;
  const REMOVE = `mutation($id: String!, $t: ID!) {
    removeServiceAccountFromTeam(id: $id, teamId: $t) { id teams { id } } }`;

  it("sees the team's workflows as a member does, from the next request, and not after removal", async () => {
    const { account, key } = await accountWithKey();
    await setRoles(account.id, ['MEMBER']);
    // Member 1 joins the team (by the admin) and puts a workflow in it.
    ok(
      await asToken(
        tokens[0],
        'mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }',
        {
          t: tenant.teamId,
          u: tenant.users[1]!.id,
        },
      ),
    );
    const { createWorkflow: teamWf } = ok(
      await asToken<{ createWorkflow: { id: string; name: string } }>(
        tokens[1],
        'mutation($t: ID) { createWorkflow(input: { name: "team: release", amount: "2", teamId: $t }) { id name } }',
        { t: tenant.teamId },
      ),
    );
    expect(codeOf(await asKey(key, READ_WF, { id: teamWf.id }))).toBe('FORBIDDEN');
    const added = ok(
      await asToken<{ addServiceAccountToTeam: { teams: Array<{ id: string; name: string }> } }>(
        tokens[0],
        ADD,
        { id: account.id, t: tenant.teamId },
      ),
    );
    expect(added.addServiceAccountToTeam.teams).toEqual([{ id: tenant.teamId, name: 'Team' }]);
    // Idempotent.
    ok(await asToken(tokens[0], ADD, { id: account.id, t: tenant.teamId }));
    expect(ok(await asKey(key, READ_WF, { id: teamWf.id }))).toEqual({
      workflow: { id: teamWf.id, name: 'team: release' },
    });
    // The list: exactly the team's workflow (not member 2's own ones).
    expect(names(ok(await asKey<WorkflowList>(key, LIST)))).toEqual(['team: release']);
    ok(await asToken(tokens[0], REMOVE, { id: account.id, t: tenant.teamId }));
    expect(codeOf(await asKey(key, READ_WF, { id: teamWf.id }))).toBe('FORBIDDEN');
    expect(ok(await asKey<WorkflowList>(key, LIST)).workflows.totalCount).toBe(0);
  });

  it('is for admins; another organisation’s team is FORBIDDEN; a deactivated account CONFLICT', async () => {
    const { account } = await accountWithKey();
    const other = await server.createTenant(1);
    expect(codeOf(await asToken(tokens[1], ADD, { id: account.id, t: tenant.teamId }))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await asToken(tokens[0], ADD, { id: account.id, t: other.teamId }))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await asToken(tokens[0], ADD, { id: randomUUID(), t: tenant.teamId }))).toBe(
      'NOT_FOUND',
    );
    ok(await asToken(tokens[0], DEACTIVATE, { id: account.id }));
    expect(codeOf(await asToken(tokens[0], ADD, { id: account.id, t: tenant.teamId }))).toBe(
      'CONFLICT',
    );
  });

  it('deactivation removes its team relationships', async () => {
    const { account, key } = await accountWithKey();
    await setRoles(account.id, ['MEMBER']);
    ok(await asToken(tokens[0], ADD, { id: account.id, t: tenant.teamId }));
    ok(await asToken(tokens[0], DEACTIVATE, { id: account.id }));
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
      body: JSON.stringify({ query: LIST }),
    });
    expect(res.status).toBe(401);
    // The DELETE of its team relation is in the outbox (and was relayed).
    const rows = await server.gatehouse.database.tenants.transaction(
      { tenantId: tenant.id, subject: 'test' },
      'read',
      (tx) =>
        tx.$queryRawUnsafe<Array<{ applied: boolean }>>(
          `select applied_at is not null as applied from authz_outbox
            where tenant_id = $1::uuid and subject_type = 'service_account'
              and subject_id = $2 and resource_type = 'team' and operation = 'DELETE'`,
          tenant.id,
          objectId(tenant.id, account.id),
        ),
    );
    expect(rows, JSON.stringify(rows)).toEqual([{ applied: true }]);
  });
});
