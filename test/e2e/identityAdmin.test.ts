/**
 * Users, roles and teams managed through the API (identity administration, issue 12), end
 * to end over HTTP and WebSocket against the real stack (SpiceDB through the outbox,
 * PostgreSQL under RLS). Every guard rail has its adversarial case, each asserting the
 * exact code and that nothing changed or leaked:
 *
 * - a member cannot raise their own roles, nor a maintainer touch another team;
 * - no one removes or deactivates the last active admin, even two admins at once;
 * - no one deactivates themselves;
 * - an admin of one organisation cannot touch another's users or teams by any id;
 * - emails are valid and unique per tenant whatever their case;
 * - a deactivated user is refused on their next request (401, ACCOUNT_DEACTIVATED) with a
 *   still-valid token, and their live audit feed ends;
 * - an invitation binds only to a token whose email is verified.
 *
 * Private tenants (createTenant: user 0 its admin, the others members) keep it
 * deterministic.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TestTenant } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

interface Err {
  message: string;
  path?: unknown[];
  extensions?: Record<string, unknown>;
}
interface Body<T> {
  data?: T | null;
  errors?: Err[];
}
interface UserRow {
  id: string;
  displayName: string;
  email: string | null;
  roles: string[];
  grantedRoles: string[];
  active: boolean;
  invitationPending: boolean;
}

const USER = 'id displayName email roles grantedRoles active invitationPending';
const ME = `{ me { subject user { ${USER} } } }`;
const INVITE = `mutation($i: InviteUserInput!) { inviteUser(input: $i) { ${USER} } }`;
const SET_ROLES = `mutation($u: ID!, $r: [OrgRole!]!) { setUserRoles(userId: $u, roles: $r) { ${USER} } }`;
const DEACTIVATE = `mutation($u: ID!) { deactivateUser(userId: $u) { ${USER} } }`;
const REACTIVATE = `mutation($u: ID!) { reactivateUser(userId: $u) { ${USER} } }`;
const READ_USER = `query($id: ID!) { user(id: $id) { ${USER} } }`;
const TEAM = 'id name members { role fromGroups user { id } }';
const CREATE_TEAM = `mutation($n: String!) { createTeam(input: { name: $n }) { ${TEAM} } }`;
const RENAME_TEAM = `mutation($t: ID!, $n: String!) { renameTeam(id: $t, name: $n) { ${TEAM} } }`;
const ADD_MEMBER = `mutation($t: ID!, $u: ID!, $r: TeamRole) {
  addTeamMember(teamId: $t, userId: $u, role: $r) { ${TEAM} } }`;
const REMOVE_MEMBER = `mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) { ${TEAM} } }`;
const READ_TEAM = `{ teams { ${TEAM} } }`;
const AUDIT = `query($f: AuditEventFilter) { auditEvents(first: 100, filter: $f) {
  edges { node { action outcome actor { userId } resource { type id } changes } } } }`;

let server: TestServer;

function ok<T>(body: Body<T>): T {
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!;
}

/** The one error of `body`: its code and reason. */
function refusal(body: Body<unknown>): { code: unknown; reason: unknown } {
  expect(body.errors, JSON.stringify(body)).toHaveLength(1);
  const { extensions } = body.errors![0]!;
  return { code: extensions?.['code'], reason: extensions?.['reason'] };
}

async function as<T>(token: string, query: string, variables: Record<string, unknown> = {}) {
  return (await server.gql<T>(query, variables, token)).body as Body<T>;
}

/** A user as the admin (token) reads them. */
async function read(token: string, id: string): Promise<UserRow> {
  return ok(await as<{ user: UserRow }>(token, READ_USER, { id })).user;
}

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe('inviting users', () => {
  let tenant: TestTenant;
  let admin: string;
  beforeAll(async () => {
    tenant = await server.createTenant(2);
    admin = await server.tenantToken(tenant, 0);
  });

  it('adds a user bound to a subject: their first token works with the roles granted', async () => {
    const subject = `idp|${randomUUID()}`;
    const { inviteUser } = ok(
      await as<{ inviteUser: UserRow }>(admin, INVITE, {
        i: { email: 'Dana@Example.COM', displayName: 'Dana', roles: ['VP'], subject },
      }),
    );
    expect(inviteUser).toMatchObject({
      email: 'dana@example.com',
      roles: ['VP'],
      grantedRoles: ['VP'],
      active: true,
      invitationPending: false,
    });
    const dana = await server.tenantToken(
      { ...tenant, users: [{ ...tenant.users[0]!, subject }] },
      0,
    );
    const me = ok(await as<{ me: { user: UserRow } }>(dana, ME)).me.user;
    expect(me).toMatchObject({ id: inviteUser.id, roles: ['VP'] });
    // The directory sees them from the next request on (relationships through the outbox).
    const member = await server.tenantToken(tenant, 1);
    const seen = await as<{ user: UserRow }>(member, READ_USER, { id: inviteUser.id });
    expect(seen.data?.user).toMatchObject({ displayName: 'Dana', email: null });
    // (Their email is for admins and themselves.)
    expect(seen.errors?.map((e) => [e.path?.join('.'), e.extensions?.['code']])).toEqual([
      ['user.email', 'FORBIDDEN'],
    ]);
  });

  it('refuses an email that is not one, and a taken email in any case (nothing added)', async () => {
    for (const email of ['not-an-email', 'a b@example.com', '@example.com', 'x@nodot']) {
      expect(refusal(await as(admin, INVITE, { i: { email, displayName: 'X' } })), email).toEqual({
        code: 'BAD_USER_INPUT',
        reason: undefined,
      });
    }
    const taken = tenant.users[1]!.email.toUpperCase();
    const body = await as(admin, INVITE, { i: { email: taken, displayName: 'Twin' } });
    expect(refusal(body).code).toBe('CONFLICT');
    const subjectTaken = await as(admin, INVITE, {
      i: {
        email: `other-${randomUUID()}@example.com`,
        displayName: 'Twin',
        subject: tenant.users[1]!.subject,
      },
    });
    expect(refusal(subjectTaken).code).toBe('CONFLICT');
    const list = ok(
      await as<{ users: { edges: Array<{ node: { displayName: string } }> } }>(
        admin,
        '{ users(first: 100) { edges { node { displayName } } } }',
      ),
    );
    expect(list.users.edges.map((e) => e.node.displayName)).not.toContain('Twin');
    expect(list.users.edges.map((e) => e.node.displayName)).not.toContain('X');
  });

  it('binds an invitation to the first token whose email is verified, never an unverified one', async () => {
    const email = `erin-${randomUUID()}@example.com`;
    const { inviteUser } = ok(
      await as<{ inviteUser: UserRow }>(admin, INVITE, {
        i: { email, displayName: 'Erin', roles: ['AUDITOR'] },
      }),
    );
    expect(inviteUser.invitationPending).toBe(true);
    const someone = { ...tenant, users: [{ ...tenant.users[0]!, subject: `idp|${randomUUID()}` }] };
    // An unverified email claim binds nothing: no account, nothing seen.
    const unverified = await server.tenantToken(someone, 0, {
      email: email.toUpperCase(),
      extra: { email_verified: false },
    });
    expect(ok(await as<{ me: { user: unknown } }>(unverified, ME)).me.user).toBeNull();
    expect((await read(admin, inviteUser.id)).invitationPending).toBe(true);
    // Another subject whose verified email is the invitation's: bound, with its roles.
    const verified = await server.tenantToken(someone, 0, {
      email: email.toUpperCase(),
      extra: { email_verified: true },
    });
    const me = ok(await as<{ me: { user: UserRow } }>(verified, ME)).me.user;
    expect(me).toMatchObject({ id: inviteUser.id, roles: ['AUDITOR'], invitationPending: false });
    // And it is theirs: the same subject keeps it without the email.
    const again = await server.tenantToken(someone, 0);
    expect(ok(await as<{ me: { user: UserRow } }>(again, ME)).me.user.id).toBe(inviteUser.id);
    const events = ok(
      await as<{ auditEvents: { edges: Array<{ node: { action: string } }> } }>(admin, AUDIT, {
        f: { resourceType: 'user', resourceId: inviteUser.id },
      }),
    ).auditEvents.edges.map((e) => e.node.action);
    expect(events).toEqual(expect.arrayContaining(['user.invite', 'user.bind']));
  });
});

describe('organisation roles', () => {
  let tenant: TestTenant;
  let admin: string;
  let member: string;
  beforeAll(async () => {
    tenant = await server.createTenant(3);
    admin = await server.tenantToken(tenant, 0);
    member = await server.tenantToken(tenant, 1);
  });

  it('a member cannot raise their own roles (FORBIDDEN, unchanged)', async () => {
    const self = tenant.users[1]!.id;
    const body = await as(member, SET_ROLES, { u: self, r: ['ADMIN', 'MEMBER'] });
    expect(refusal(body).code).toBe('FORBIDDEN');
    expect(body.data).toBeNull();
    expect((await read(admin, self)).roles).toEqual(['MEMBER']);
    // Nor can they invite or deactivate anyone.
    expect(refusal(await as(member, DEACTIVATE, { u: tenant.users[2]!.id })).code).toBe(
      'FORBIDDEN',
    );
    expect(
      refusal(
        await as(member, INVITE, {
          i: { email: `m-${randomUUID()}@example.com`, displayName: 'M' },
        }),
      ).code,
    ).toBe('FORBIDDEN');
  });

  it('granted roles hold from the next request: a new admin may administer', async () => {
    const id = tenant.users[2]!.id;
    const promoted = await server.tenantToken(tenant, 2);
    expect(refusal(await as(promoted, '{ roleMapping { version } }')).code).toBe('FORBIDDEN');
    const after = ok(
      await as<{ setUserRoles: UserRow }>(admin, SET_ROLES, { u: id, r: ['ADMIN'] }),
    );
    expect(after.setUserRoles).toMatchObject({ roles: ['ADMIN'], grantedRoles: ['ADMIN'] });
    expect(
      ok(await as<{ roleMapping: { version: number } }>(promoted, '{ roleMapping { version } }')),
    ).toEqual({ roleMapping: { version: 0 } });
    // And back: refused again at once.
    ok(await as(admin, SET_ROLES, { u: id, r: ['MEMBER'] }));
    expect(refusal(await as(promoted, '{ roleMapping { version } }')).code).toBe('FORBIDDEN');
  });

  it('the last active admin cannot drop ADMIN (CONFLICT LAST_ADMIN), not even two admins at once', async () => {
    const self = tenant.users[0]!.id;
    expect(refusal(await as(admin, SET_ROLES, { u: self, r: ['MEMBER'] }))).toEqual({
      code: 'CONFLICT',
      reason: 'LAST_ADMIN',
    });
    expect((await read(admin, self)).roles).toEqual(['ADMIN']);
    // Two admins demote each other at the same moment: exactly one of them succeeds.
    const second = tenant.users[2]!.id;
    ok(await as(admin, SET_ROLES, { u: second, r: ['ADMIN'] }));
    const secondToken = await server.tenantToken(tenant, 2);
    const [a, b] = await Promise.all([
      as(admin, SET_ROLES, { u: second, r: ['MEMBER'] }),
      as(secondToken, SET_ROLES, { u: self, r: ['MEMBER'] }),
    ]);
    const outcomes = [a, b].map((x) => (x.errors ? refusal(x) : 'ok'));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    // The loser was either refused by the rule, or no longer an admin when decided.
    const lost = outcomes.find((o) => o !== 'ok') as { code: unknown; reason: unknown };
    expect([
      JSON.stringify({ code: 'CONFLICT', reason: 'LAST_ADMIN' }),
      JSON.stringify({ code: 'FORBIDDEN', reason: undefined }),
    ]).toContain(JSON.stringify(lost));
    const roles = await Promise.all(
      [self, second].map(async (u) => {
        const token = u === self ? admin : secondToken;
        const me = await as<{ me: { user: UserRow } }>(token, ME);
        return me.data!.me.user.roles;
      }),
    );
    expect(roles.filter((r) => r.includes('ADMIN'))).toHaveLength(1);
  });
});

describe('deactivation', () => {
  let tenant: TestTenant;
  let admin: string;
  beforeAll(async () => {
    tenant = await server.createTenant(3);
    admin = await server.tenantToken(tenant, 0);
  });

  it('refuses the user on their next request with a still-valid token; reactivation restores them', async () => {
    const id = tenant.users[1]!.id;
    const token = await server.tenantToken(tenant, 1);
    const { createWorkflow } = ok(
      await as<{ createWorkflow: { id: string } }>(
        token,
        'mutation { createWorkflow(input: { name: "Kept while away", amount: "5" }) { id } }',
      ),
    );
    const deactivated = ok(await as<{ deactivateUser: UserRow }>(admin, DEACTIVATE, { u: id }));
    expect(deactivated.deactivateUser).toMatchObject({ active: false, roles: ['MEMBER'] });
    for (const query of [ME, '{ workflows(first: 10) { totalCount } }']) {
      const res = await server.gql(query, {}, token);
      expect(res.status, JSON.stringify(res.body)).toBe(401);
      expect(res.body.data ?? null).toBeNull();
      expect(
        res.body.errors?.map((e) => [e.extensions?.['code'], e.extensions?.['reason']]),
      ).toEqual([['UNAUTHENTICATED', 'ACCOUNT_DEACTIVATED']]);
      expect(JSON.stringify(res.body)).not.toContain('Kept while away');
    }
    const mutation = await server.gql(
      'mutation { createWorkflow(input: { name: "While deactivated", amount: "1" }) { id } }',
      {},
      token,
    );
    expect(mutation.status).toBe(401);
    expect(mutation.body.errors?.[0]?.extensions?.['reason']).toBe('ACCOUNT_DEACTIVATED');
    // Idempotent; the admin still sees them in the directory.
    expect(
      ok(await as<{ deactivateUser: UserRow }>(admin, DEACTIVATE, { u: id })).deactivateUser.active,
    ).toBe(false);
    // Reactivated: the same token works again, with the same roles and their workflow.
    ok(await as(admin, REACTIVATE, { u: id }));
    expect(ok(await as<{ me: { user: UserRow } }>(token, ME)).me.user).toMatchObject({
      active: true,
      roles: ['MEMBER'],
    });
    const wf = await as<{ workflow: { id: string } }>(
      token,
      'query($id: ID!) { workflow(id: $id) { id } }',
      {
        id: createWorkflow.id,
      },
    );
    expect(ok(wf).workflow.id).toBe(createWorkflow.id);
  });

  it('no one deactivates themselves (CONFLICT SELF)', async () => {
    expect(refusal(await as(admin, DEACTIVATE, { u: tenant.users[0]!.id }))).toEqual({
      code: 'CONFLICT',
      reason: 'SELF',
    });
    expect((await read(admin, tenant.users[0]!.id)).active).toBe(true);
  });

  it('two admins deactivating each other at once: the organisation keeps one', async () => {
    const other = tenant.users[2]!.id;
    ok(await as(admin, SET_ROLES, { u: other, r: ['ADMIN'] }));
    const otherToken = await server.tenantToken(tenant, 2);
    const results = await Promise.all([
      as(admin, DEACTIVATE, { u: other }),
      as(otherToken, DEACTIVATE, { u: tenant.users[0]!.id }),
    ]);
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const standing = await Promise.all(
      [admin, otherToken].map(async (t) => (await server.gql(ME, {}, t)).status),
    );
    expect(standing.sort()).toEqual([200, 401]);
  });

  it("ends the user's live audit feed", async () => {
    const fresh = await server.createTenant(2);
    const freshAdmin = await server.tenantToken(fresh, 0);
    const auditorId = fresh.users[1]!.id;
    ok(await as(freshAdmin, SET_ROLES, { u: auditorId, r: ['MEMBER', 'AUDITOR'] }));
    const auditor = await server.tenantToken(fresh, 1);
    const ws = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${auditor}` },
      retryAttempts: 0,
    });
    const seen: string[] = [];
    const codes: unknown[] = [];
    const ended = new Promise<void>((resolve) => {
      ws.subscribe<{ auditEvents: { action: string } }>(
        { query: 'subscription { auditEvents { action } }' },
        {
          next: (r) => {
            if (r.data?.auditEvents) seen.push(r.data.auditEvents.action);
            for (const e of r.errors ?? []) codes.push(e.extensions?.['code']);
          },
          error: () => resolve(),
          complete: () => resolve(),
        },
      );
    });
    // Wait for the subscription to be live: an event it sees.
    const live = Date.now();
    while (seen.length === 0 && Date.now() - live < 10_000) {
      ok(await as(freshAdmin, CREATE_TEAM, { n: `ping ${randomUUID()}` }));
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(seen).toContain('team.create');
    const before = seen.length;
    ok(await as(freshAdmin, DEACTIVATE, { u: auditorId }));
    ok(await as(freshAdmin, CREATE_TEAM, { n: 'after the deactivation' }));
    await ended;
    await ws.dispose();
    // The deactivation's own event may reach the feed before the relay applied its
    // relationship changes to SpiceDB; nothing after it does.
    expect(['[]', '["user.deactivate"]']).toContain(JSON.stringify(seen.slice(before)));
    expect(codes).toEqual(['FORBIDDEN']);
  });
});

describe('teams', () => {
  let tenant: TestTenant;
  let admin: string;
  let teamId: string;
  let otherTeamId: string;
  beforeAll(async () => {
    tenant = await server.createTenant(4);
    admin = await server.tenantToken(tenant, 0);
    teamId = ok(await as<{ createTeam: { id: string } }>(admin, CREATE_TEAM, { n: 'Platform' }))
      .createTeam.id;
    otherTeamId = ok(await as<{ createTeam: { id: string } }>(admin, CREATE_TEAM, { n: 'Finance' }))
      .createTeam.id;
  });

  it('admins create and rename teams; names are unique in the organisation', async () => {
    expect(refusal(await as(admin, CREATE_TEAM, { n: 'Platform' })).code).toBe('CONFLICT');
    expect(refusal(await as(admin, RENAME_TEAM, { t: otherTeamId, n: 'Platform' })).code).toBe(
      'CONFLICT',
    );
    expect(refusal(await as(admin, CREATE_TEAM, { n: '   ' })).code).toBe('BAD_USER_INPUT');
    const renamed = ok(
      await as<{ renameTeam: { name: string } }>(admin, RENAME_TEAM, {
        t: otherTeamId,
        n: 'Finance & Ops',
      }),
    );
    expect(renamed.renameTeam.name).toBe('Finance & Ops');
    const member = await server.tenantToken(tenant, 1);
    expect(refusal(await as(member, CREATE_TEAM, { n: 'Mine' })).code).toBe('FORBIDDEN');
  });

  it("a maintainer manages their own team's members, never another team's", async () => {
    const [maintainerId, u2, u3] = [1, 2, 3].map((i) => tenant.users[i]!.id);
    ok(await as(admin, ADD_MEMBER, { t: teamId, u: maintainerId, r: 'MAINTAINER' }));
    const maintainer = await server.tenantToken(tenant, 1);
    const added = ok(
      await as<{ addTeamMember: { members: Array<{ role: string; user: { id: string } }> } }>(
        maintainer,
        ADD_MEMBER,
        { t: teamId, u: u2 },
      ),
    );
    expect(added.addTeamMember.members.map((m) => [m.user.id, m.role])).toEqual(
      expect.arrayContaining([
        [maintainerId, 'MAINTAINER'],
        [u2, 'MEMBER'],
      ]),
    );
    // Another team: FORBIDDEN, and nothing added.
    const body = await as(maintainer, ADD_MEMBER, { t: otherTeamId, u: u3 });
    expect(refusal(body).code).toBe('FORBIDDEN');
    expect(body.data).toBeNull();
    const teams = ok(
      await as<{ teams: Array<{ id: string; members: unknown[] }> }>(admin, READ_TEAM),
    ).teams;
    expect(teams.find((t) => t.id === otherTeamId)!.members).toEqual([]);
    // A plain member of the team cannot manage it either.
    const plain = await server.tenantToken(tenant, 2);
    expect(refusal(await as(plain, ADD_MEMBER, { t: teamId, u: u3 })).code).toBe('FORBIDDEN');
    expect(refusal(await as(plain, REMOVE_MEMBER, { t: teamId, u: maintainerId })).code).toBe(
      'FORBIDDEN',
    );
    // The maintainer removes a member; the change holds from the next request.
    const after = ok(
      await as<{ removeTeamMember: { members: Array<{ user: { id: string } }> } }>(
        maintainer,
        REMOVE_MEMBER,
        { t: teamId, u: u2 },
      ),
    );
    expect(after.removeTeamMember.members.map((m) => m.user.id)).toEqual([maintainerId]);
    // Idempotent.
    ok(await as(maintainer, REMOVE_MEMBER, { t: teamId, u: u2 }));
  });

  it('team membership is what SpiceDB decides on: a new member sees the team’s workflow', async () => {
    const owner = await server.tenantToken(tenant, 1);
    const { createWorkflow } = ok(
      await as<{ createWorkflow: { id: string } }>(
        owner,
        'mutation($t: ID) { createWorkflow(input: { name: "Team plan", amount: "3", teamId: $t }) { id } }',
        { t: teamId },
      ),
    );
    const newcomer = await server.tenantToken(tenant, 3);
    const read = 'query($id: ID!) { workflow(id: $id) { name } }';
    expect(refusal(await as(newcomer, read, { id: createWorkflow.id })).code).toBe('FORBIDDEN');
    ok(await as(admin, ADD_MEMBER, { t: teamId, u: tenant.users[3]!.id }));
    expect(ok(await as(newcomer, read, { id: createWorkflow.id }))).toEqual({
      workflow: { name: 'Team plan' },
    });
    ok(await as(admin, REMOVE_MEMBER, { t: teamId, u: tenant.users[3]!.id }));
    expect(refusal(await as(newcomer, read, { id: createWorkflow.id })).code).toBe('FORBIDDEN');
  });
});

describe('across organisations', () => {
  it("an admin of another organisation cannot touch this one's users or teams by any id", async () => {
    const mine = await server.createTenant(2);
    const theirs = await server.createTenant(2);
    const myAdmin = await server.tenantToken(mine, 0);
    const intruder = await server.tenantToken(theirs, 0);
    const victim = mine.users[1]!.id;
    const myTeam = mine.teamId;
    const attempts: Array<[string, Record<string, unknown>]> = [
      [SET_ROLES, { u: victim, r: ['ADMIN'] }],
      [DEACTIVATE, { u: victim }],
      [REACTIVATE, { u: victim }],
      [RENAME_TEAM, { t: myTeam, n: 'Owned' }],
      [ADD_MEMBER, { t: myTeam, u: theirs.users[1]!.id }],
      [ADD_MEMBER, { t: theirs.teamId, u: victim }],
      [REMOVE_MEMBER, { t: myTeam, u: victim }],
      [READ_USER, { id: victim }],
    ];
    for (const [query, variables] of attempts) {
      const random = Object.fromEntries(
        Object.entries(variables).map(([k, v]) => [
          k,
          v === victim || v === myTeam ? randomUUID() : v,
        ]),
      );
      const real = await as(intruder, query, variables);
      const made = await as(intruder, query, random);
      // Another organisation's id answers exactly as a random one: FORBIDDEN, no data.
      expect(refusal(real).code, query).toBe('FORBIDDEN');
      expect(refusal(made).code, query).toBe('FORBIDDEN');
      expect(real.data ?? null).toEqual(made.data ?? null);
      expect(JSON.stringify(real)).not.toContain(mine.users[1]!.email);
    }
    const victimNow = await read(myAdmin, victim);
    expect(victimNow).toMatchObject({ roles: ['MEMBER'], active: true });
    const teams = ok(
      await as<{ teams: Array<{ id: string; name: string; members: unknown[] }> }>(
        myAdmin,
        READ_TEAM,
      ),
    );
    expect(teams.teams.find((t) => t.id === myTeam)).toMatchObject({ name: 'Team' });
  });
});
