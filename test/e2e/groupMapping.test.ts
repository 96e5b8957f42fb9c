/**
 * Identity-provider groups mapped to roles and team memberships, and just-in-time
 * provisioning (identity administration, issue 12), end to end with tokens shaped as
 * three identity providers issue them — the claim settings each needs are the README's:
 *
 * - Keycloak (a realm with the "Group Membership" mapper, full group path on): `groups`
 *   holds paths such as `/acme/approvers`; `realm_access.roles` beside it.
 * - Authentik (the default OAuth2 scope mappings): `groups` holds group names.
 * - Ory Hydra with Kratos (JWT access tokens; the consent app puts the identity's traits
 *   in the session's access token claims, which Hydra nests under `ext`):
 *   AUTH_GROUPS_CLAIM=/ext/groups, AUTH_TENANT_CLAIM=/ext/tenant_id, and `email` /
 *   `email_verified` allowed as top-level claims.
 *
 * What each shows: a first token provisions the account with what its groups map to; a
 * change of groups or of the mapping is reconciled once, at the next request (roles,
 * memberships, their relationships, one audit event), and not on requests that change
 * nothing; roles an admin granted and memberships set by hand are left alone; the last
 * admin keeps ADMIN whatever their groups say.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestTenant } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

interface Body<T> {
  data?: T | null;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
}
interface Me {
  id: string;
  displayName: string;
  roles: string[];
  grantedRoles: string[];
  rolesFromGroups: string[];
  teams: Array<{ role: string; fromGroups: boolean; team: { name: string } }>;
}

const ME = `{ me { user { id displayName roles grantedRoles rolesFromGroups
  teams { role fromGroups team { name } } } } }`;
const MAPPING = `mutation($r: [GroupMappingInput!]!) { updateRoleMapping(rules: $r) {
  version rules { group role teamRole team { name } } } }`;
const AUDIT_LIST = '{ auditEvents(first: 5) { edges { node { action } } } }';
const EVENTS = `query($f: AuditEventFilter) { auditEvents(first: 100, filter: $f) {
  edges { node { action reasons changes } } } }`;

interface Shape {
  readonly name: string;
  readonly env: Record<string, string>;
  /** The token's claims for `groups` (the tenant, subject and expiry come from the dev issuer). */
  claims(tenantId: string, groups: readonly string[], email: string): Record<string, unknown>;
  /** Group names as this provider spells them. */
  readonly groups: {
    readonly approvers: string;
    readonly auditors: string;
    readonly platform: string;
    readonly admins: string;
  };
}

const SHAPES: readonly Shape[] = [
  {
    name: 'Keycloak',
    env: { AUTH_GROUPS_CLAIM: 'groups' },
    groups: {
      approvers: '/acme/approvers',
      auditors: '/acme/auditors',
      platform: '/acme/platform',
      admins: '/acme/admins',
    },
    claims: (_tenantId, groups, email) => ({
      typ: 'Bearer',
      azp: 'gatehouse-web',
      session_state: randomUUID(),
      realm_access: { roles: ['offline_access', 'uma_authorization', 'default-roles-acme'] },
      resource_access: { account: { roles: ['manage-account', 'view-profile'] } },
      email_verified: true,
      name: 'Kim Keycloak',
      preferred_username: 'kim',
      given_name: 'Kim',
      family_name: 'Keycloak',
      email,
      groups,
    }),
  },
  {
    name: 'Authentik',
    env: { AUTH_GROUPS_CLAIM: 'groups' },
    groups: {
      approvers: 'Approvers',
      auditors: 'Auditors',
      platform: 'Platform Team',
      admins: 'authentik Admins',
    },
    claims: (_tenantId, groups, email) => ({
      email,
      email_verified: true,
      name: 'Ari Authentik',
      given_name: 'Ari Authentik',
      preferred_username: 'ari',
      nickname: 'ari',
      groups,
    }),
  },
  {
    name: 'Ory Hydra + Kratos',
    env: { AUTH_GROUPS_CLAIM: '/ext/groups', AUTH_TENANT_CLAIM: '/ext/tenant_id' },
    groups: {
      approvers: 'approvers',
      auditors: 'auditors',
      platform: 'platform',
      admins: 'admins',
    },
    claims: (tenantId, groups, email) => ({
      client_id: 'gatehouse-web',
      scp: ['openid', 'offline_access'],
      email,
      email_verified: true,
      ext: { tenant_id: tenantId, groups, email, email_verified: true },
    }),
  },
];

for (const shape of SHAPES) {
  describe(`group mapping with ${shape.name} tokens`, () => {
    let server: TestServer;
    let tenant: TestTenant;
    let admin: string;
    const g = shape.groups;
    const subject = `idp|${randomUUID()}`;
    const email = `${randomUUID()}@corp.example`;

    async function as<T>(token: string, query: string, variables: Record<string, unknown> = {}) {
      return (await server.gql<T>(query, variables, token)).body as Body<T>;
    }
    function ok<T>(body: Body<T>): T {
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
      return body.data!;
    }
    /** A token of `subject` (or another) carrying `groups`, shaped as this provider does. */
    function token(groups: readonly string[], who = subject, mail = email): Promise<string> {
      const someone = { ...tenant, users: [{ ...tenant.users[0]!, subject: who }] };
      return server.tenantToken(someone, 0, { extra: shape.claims(tenant.id, groups, mail) });
    }
    async function me(groups: readonly string[], who = subject, mail = email): Promise<Me | null> {
      return ok(await as<{ me: { user: Me | null } }>(await token(groups, who, mail), ME)).me.user;
    }
    async function mapEvents(
      userId: string,
    ): Promise<Array<{ action: string; reasons: string[] }>> {
      const body = ok(
        await as<{
          auditEvents: { edges: Array<{ node: { action: string; reasons: string[] } }> };
        }>(admin, EVENTS, { f: { resourceType: 'user', resourceId: userId } }),
      );
      return body.auditEvents.edges
        .map((e) => e.node)
        .filter((e) => e.action === 'user.groups_map');
    }

    beforeAll(async () => {
      server = await startTestServer({ ...shape.env, AUTH_JIT_PROVISIONING: 'true' });
      tenant = await server.createTenant(2);
      // The admin's own token, in this provider's shape (their groups map to nothing).
      admin = await server.tenantToken(tenant, 0, {
        extra: shape.claims(tenant.id, [], tenant.users[0]!.email),
      });
      const { createTeam } = ok(
        await as<{ createTeam: { id: string } }>(
          admin,
          'mutation { createTeam(input: { name: "Platform" }) { id } }',
        ),
      );
      const mapping = ok(
        await as<{ updateRoleMapping: { version: number; rules: unknown[] } }>(admin, MAPPING, {
          r: [
            { group: g.approvers, role: 'VP' },
            { group: g.auditors, role: 'AUDITOR' },
            { group: g.platform, teamId: createTeam.id, teamRole: 'MAINTAINER' },
            { group: g.admins, role: 'ADMIN' },
          ],
        }),
      );
      expect(mapping.updateRoleMapping.version).toBe(1);
      expect(mapping.updateRoleMapping.rules).toHaveLength(4);
    });
    afterAll(() => server.stop());

    it('provisions a new subject with what its groups map to (just in time)', async () => {
      const user = await me([g.approvers, g.platform, 'unmapped-group']);
      expect(user).toMatchObject({
        roles: ['VP'],
        grantedRoles: [],
        rolesFromGroups: ['VP'],
        teams: [{ role: 'MAINTAINER', fromGroups: true, team: { name: 'Platform' } }],
      });
      expect(user!.displayName).not.toBe('');
    });

    it('reconciles a change of groups once, at the next request, and the gates follow it', async () => {
      const before = await me([g.approvers, g.platform, 'unmapped-group']);
      const eventsBefore = (await mapEvents(before!.id)).length;
      // Not an auditor yet.
      const listed = await as(await token([g.approvers, g.platform]), AUDIT_LIST);
      expect(listed.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      // The same groups in another order: nothing to reconcile.
      await me(['unmapped-group', g.platform, g.approvers]);
      expect(await mapEvents(before!.id)).toHaveLength(eventsBefore);
      // Auditors joined, platform left: one reconciliation, seen by the very next request.
      const after = await me([g.approvers, g.auditors]);
      expect(after).toMatchObject({
        roles: ['VP', 'AUDITOR'],
        rolesFromGroups: ['VP', 'AUDITOR'],
        teams: [],
      });
      ok(await as(await token([g.approvers, g.auditors]), AUDIT_LIST));
      for (let i = 0; i < 3; i++) await me([g.approvers, g.auditors]);
      const events = await mapEvents(before!.id);
      expect(events).toHaveLength(eventsBefore + 1);
    });

    it('leaves granted roles and hand-made memberships alone', async () => {
      const user = (await me([g.approvers, g.auditors]))!;
      ok(
        await as(admin, 'mutation($u: ID!) { setUserRoles(userId: $u, roles: [MEMBER]) { id } }', {
          u: user.id,
        }),
      );
      const teams = ok(
        await as<{ teams: Array<{ id: string; name: string }> }>(admin, '{ teams { id name } }'),
      );
      const platform = teams.teams.find((t) => t.name === 'Platform')!.id;
      ok(
        await as(
          admin,
          'mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }',
          {
            t: platform,
            u: user.id,
          },
        ),
      );
      // No groups at all: what groups gave goes, what the admin gave stays.
      expect(await me([])).toMatchObject({
        roles: ['MEMBER'],
        grantedRoles: ['MEMBER'],
        rolesFromGroups: [],
        teams: [{ role: 'MEMBER', fromGroups: false, team: { name: 'Platform' } }],
      });
    });

    it('applies a new mapping at each user’s next request', async () => {
      await me([g.auditors]);
      expect((await me([g.auditors]))!.roles).toEqual(['MEMBER', 'AUDITOR']);
      // The admin drops the auditors rule: the version changes, so does every fingerprint.
      const { updateRoleMapping } = ok(
        await as<{ updateRoleMapping: { version: number } }>(admin, MAPPING, {
          r: [
            { group: g.approvers, role: 'VP' },
            { group: g.admins, role: 'ADMIN' },
          ],
        }),
      );
      expect(updateRoleMapping.version).toBe(2);
      expect((await me([g.auditors]))!.roles).toEqual(['MEMBER']);
      const refused = await as(await token([g.auditors]), AUDIT_LIST);
      expect(refused.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    });

    it('never takes ADMIN from the last active admin', async () => {
      // A second subject whose groups make them admin; the first admin then steps down.
      const boss = `idp|${randomUUID()}`;
      const bossMail = `${randomUUID()}@corp.example`;
      const promoted = (await me([g.admins], boss, bossMail))!;
      expect(promoted.roles).toEqual(['ADMIN']);
      const bossToken = await token([g.admins], boss, bossMail);
      ok(
        await as(
          bossToken,
          'mutation($u: ID!) { setUserRoles(userId: $u, roles: [MEMBER]) { id } }',
          {
            u: tenant.users[0]!.id,
          },
        ),
      );
      // Their groups no longer say admin, but no one else is: they keep it, and the event says why.
      expect((await me([], boss, bossMail))!.roles).toEqual(['ADMIN']);
      const events = await (async () => {
        const body = ok(
          await as<{
            auditEvents: { edges: Array<{ node: { action: string; reasons: string[] } }> };
          }>(await token([], boss, bossMail), EVENTS, {
            f: { resourceType: 'user', resourceId: promoted.id },
          }),
        );
        return body.auditEvents.edges.map((e) => e.node);
      })();
      expect(events.some((e) => e.reasons.join(' ').includes('last active admin'))).toBe(true);
    });

    it('provisions no one from an unverified email, nor into a tenant that does not exist', async () => {
      const stranger = `idp|${randomUUID()}`;
      const unverified = await server.tenantToken(
        { ...tenant, users: [{ ...tenant.users[0]!, subject: stranger }] },
        0,
        {
          extra: {
            ...shape.claims(tenant.id, [g.admins], `${randomUUID()}@corp.example`),
            email_verified: false,
            ext: { tenant_id: tenant.id, groups: [g.admins] },
          },
        },
      );
      expect(ok(await as<{ me: { user: unknown } }>(unverified, ME)).me.user).toBeNull();
      const nowhere = randomUUID();
      const lost = await server.tenantToken(
        { ...tenant, id: nowhere, users: [{ ...tenant.users[0]!, subject: stranger }] },
        0,
        {
          extra: shape.claims(nowhere, [g.admins], `${randomUUID()}@corp.example`),
        },
      );
      const body = await as<{ me: { user: unknown } }>(lost, ME);
      expect(body.data?.me.user ?? null).toBeNull();
    });
  });
}

describe('the mapping itself', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ AUTH_GROUPS_CLAIM: 'groups' });
  });
  afterAll(() => server.stop());

  it('is for admins only, validated, and names only this organisation’s teams', async () => {
    const mine = await server.createTenant(2);
    const theirs = await server.createTenant(1);
    const admin = await server.tenantToken(mine, 0);
    const member = await server.tenantToken(mine, 1);
    const code = async (token: string, rules: unknown) =>
      (await server.gql(MAPPING, { r: rules }, token)).body.errors?.[0]?.extensions?.['code'];
    expect(await code(member, [{ group: 'x', role: 'ADMIN' }])).toBe('FORBIDDEN');
    expect(await code(admin, [{ group: 'x', role: 'VP', teamId: mine.teamId }])).toBe(
      'BAD_USER_INPUT',
    );
    expect(await code(admin, [{ group: 'x' }])).toBe('BAD_USER_INPUT');
    expect(await code(admin, [{ group: '', role: 'VP' }])).toBe('BAD_USER_INPUT');
    expect(await code(admin, [{ group: 'x', teamId: theirs.teamId }])).toBe('NOT_FOUND');
    expect(await code(admin, [{ group: 'x', teamId: randomUUID() }])).toBe('NOT_FOUND');
    expect(
      await code(
        admin,
        Array.from({ length: 501 }, (_, i) => ({ group: `g${i}`, role: 'VP' })),
      ),
    ).toBe('BAD_USER_INPUT');
    // Nothing of those was stored.
    const read = await server.gql<{ roleMapping: { version: number; rules: unknown[] } }>(
      '{ roleMapping { version rules { group } } }',
      {},
      admin,
    );
    expect(read.body.data).toEqual({ roleMapping: { version: 0, rules: [] } });
    expect(
      (await server.gql('{ roleMapping { version } }', {}, member)).body.errors?.[0]?.extensions?.[
        'code'
      ],
    ).toBe('FORBIDDEN');
  });

  it('provisions no one without AUTH_JIT_PROVISIONING (off by default)', async () => {
    const tenant = await server.createTenant(1);
    const stranger = await server.tenantToken(
      { ...tenant, users: [{ ...tenant.users[0]!, subject: `idp|${randomUUID()}` }] },
      0,
      {
        email: `${randomUUID()}@corp.example`,
        extra: { email_verified: true, groups: ['admins'] },
      },
    );
    const body = await server.gql<{ me: { user: unknown } }>(ME, {}, stranger);
    expect(body.body.data?.me.user).toBeNull();
  });
});
