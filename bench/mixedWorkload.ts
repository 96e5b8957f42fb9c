/**
 * The list benchmark's mixed workload (bench/authzList.ts, `mixed`): one tenant with
 * MIXED_USERS users whose relationships differ — an admin, a vice-president and an
 * auditor (who view every workflow), members in teams (some maintainers), owners, and
 * shares of every role — so each user's list is a different set of decisions and the
 * cross-request decision cache cannot answer one user from another's. Nine in ten
 * requests are the list query of a user (each in turn), one in ten a mutation:
 * `shareWorkflow` (which writes a relationship, so the relay invalidates the decision
 * cache) or `updateWorkflow`, each by the workflow's owner. The mix is two passes of a
 * cycle of 100 requests that give each share another role, so a share changes its role —
 * and writes its relationship — every time it runs (the same role again would write
 * nothing); the benchmark counts the relationship writes it measured.
 *
 * The data is inserted as the owner role (through RLS) with its relationships through
 * the outbox, as test/support/workflowFixtures.ts does; the mutations change roles and
 * names, never the number of rows, so every round sees the same data.
 */
import { randomUUID } from 'node:crypto';
import { enqueueRelationships, touch } from '../src/authz/outbox/RelationshipOutbox.js';
import {
  membershipTuple,
  shareTuple,
  teamTuples,
  userTuples,
  workflowTuples,
} from '../src/authz/RelationshipTuple.js';
import { mintDevToken, type DevSigningKey } from '../src/authn/devSigningKey.js';
import { TenantDatabase } from '../src/data/TenantDatabase.js';
import type { OrgRole, ShareRole } from '../src/generated/prisma/enums.js';
import type { Gatehouse } from '../src/server/createGatehouse.js';
import type { LoadRequest } from './load.js';

export const MIXED_USERS = 50;
const TEAMS = 5;
const WORKFLOWS = 200;
/** Requests in one cycle of the mix; MUTATIONS of them are mutations (10%). */
const CYCLE = 100;
const MUTATIONS = 10;
/** Cycles in the mix, each giving the shares another role than the one before. */
const PASSES = 2;
const SHARE_ROLES: readonly ShareRole[] = ['VIEWER', 'EDITOR', 'APPROVER'];

function orgRoleOf(index: number): OrgRole {
  if (index === 0) return 'ADMIN';
  if (index === 1) return 'VP';
  if (index === 2) return 'AUDITOR';
  return 'MEMBER';
}

/** Members (index ≥ 3) are the owners, team members and share holders. */
const member = (n: number): number => 3 + (n % (MIXED_USERS - 3));

export interface MixedWorkload {
  readonly tenantId: string;
  /** One cycle of the mix; each load connection goes through it in turn. */
  readonly requests: readonly LoadRequest[];
  /** How many of `requests` are mutations. */
  readonly mutations: number;
}

/** Creates the mixed workload's tenant and returns its requests (tokens of `key`). */
export async function createMixedWorkload(
  gatehouse: Gatehouse,
  key: DevSigningKey,
  listQuery: string,
): Promise<MixedWorkload> {
  const tenantId = randomUUID();
  const slug = `mix-${tenantId.slice(0, 8)}`;
  const users = Array.from({ length: MIXED_USERS }, (_, i) => ({
    id: randomUUID(),
    subject: `bench|${slug}|u${i}`,
    email: `u${i}@${slug}.example`,
    roles: [orgRoleOf(i)],
  }));
  const teams = Array.from({ length: TEAMS }, (_, i) => ({ id: randomUUID(), name: `Team ${i}` }));
  // Members in the team of their index; one in eight of them maintains it.
  const memberships = users.slice(3).map((u, i) => ({
    teamId: teams[i % TEAMS]!.id,
    userId: u.id,
    role: i % 8 === 0 ? ('MAINTAINER' as const) : ('MEMBER' as const),
  }));
  // Owned by the members in turn; one in three in a team.
  const workflows = Array.from({ length: WORKFLOWS }, (_, i) => ({
    id: randomUUID(),
    name: `mixed ${i}`,
    amount: `${(i * 37) % 5000}.00`,
    ownerId: users[member(i)]!.id,
    teamId: i % 3 === 0 ? teams[i % TEAMS]!.id : null,
  }));
  // Each workflow shared with one other member, the roles in turn.
  const shares = workflows.map((w, i) => ({
    workflowId: w.id,
    userId: users[member(i * 7 + 5)]!.id,
    role: SHARE_ROLES[i % SHARE_ROLES.length]!,
  }));
  await gatehouse.database.asOwner(async (_sql, prisma) => {
    const owner = new TenantDatabase(prisma, { timeoutMs: 60_000 });
    await owner.transaction({ tenantId, subject: 'bench-setup' }, 'write', async (tx) => {
      await tx.tenant.create({ data: { id: tenantId, slug, name: `Mixed ${slug}` } });
      await tx.user.createMany({
        data: users.map((u, i) => ({
          tenantId,
          id: u.id,
          subject: u.subject,
          email: u.email,
          displayName: `User ${i}`,
          roles: u.roles,
          grantedRoles: u.roles,
        })),
      });
      await tx.team.createMany({ data: teams.map((t) => ({ tenantId, ...t })) });
      await tx.teamMembership.createMany({ data: memberships.map((m) => ({ tenantId, ...m })) });
      await tx.workflow.createMany({ data: workflows.map((w) => ({ tenantId, ...w })) });
      await tx.workflowShare.createMany({ data: shares.map((s) => ({ tenantId, ...s })) });
      await enqueueRelationships(tx, tenantId, [
        ...users.flatMap((u) => userTuples(tenantId, u).map(touch)),
        ...teams.flatMap((t) => teamTuples(tenantId, t).map(touch)),
        ...memberships.map((m) => touch(membershipTuple(tenantId, m))),
        ...workflows.flatMap((w) => workflowTuples(tenantId, w).map(touch)),
        ...shares.map((s) => touch(shareTuple(tenantId, s))),
      ]);
    });
  });
  await gatehouse.relay.drain();

  const tokens = await Promise.all(
    users.map((u) =>
      mintDevToken(key, { subject: u.subject, tenantId, ttlSeconds: 6 * 3600 }).then(
        (token) => `Bearer ${token}`,
      ),
    ),
  );
  // A mutation's answer is checked (a refused or failed one is a 200 with errors); a list's
  // errors are the fields the user may not see.
  const request = (authorization: string, query: string, variables?: object): LoadRequest => ({
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    ...(variables ? { checked: true } : {}),
  });
  const ownerToken = (workflowIndex: number): string => tokens[member(workflowIndex)]!;
  const requests: LoadRequest[] = [];
  let listed = 0;
  let mutation = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = 0; i < CYCLE; i++) {
      if ((i + 1) % (CYCLE / MUTATIONS) !== 0) {
        requests.push(request(tokens[listed++ % MIXED_USERS]!, listQuery));
        continue;
      }
      const k = mutation % MUTATIONS;
      const w = (k * 13) % WORKFLOWS;
      if (k % 2 === 0) {
        // Created with role w, shared with role w + 1 in the first pass, w + 2 in the
        // second, w + 1 again in the next round: always another role than the last.
        requests.push(
          request(
            ownerToken(w),
            'mutation ($id: ID!, $userId: ID!, $role: ShareRole!) { shareWorkflow(id: $id, userId: $userId, role: $role) { id } }',
            {
              id: workflows[w]!.id,
              userId: shares[w]!.userId,
              role: SHARE_ROLES[(w + 1 + pass) % SHARE_ROLES.length],
            },
          ),
        );
      } else {
        requests.push(
          request(
            ownerToken(w),
            'mutation ($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { id name } }',
            { id: workflows[w]!.id, input: { name: `mixed ${w} (edited)` } },
          ),
        );
      }
      mutation += 1;
    }
  }
  return { tenantId, requests, mutations: mutation };
}
