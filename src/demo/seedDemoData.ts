/**
 * Creates the demo tenants once. Runs as the owner role (tenants are provisioned by the
 * owner; the app role may only read them) through the same tenant-scoped transaction as
 * requests, so RLS WITH CHECK validates every row. Idempotent: a tenant that exists is
 * left as it is.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { TenantDatabase } from '../data/TenantDatabase.js';
import {
  DEMO_CREDENTIALS,
  DEMO_TEAMS,
  DEMO_TENANTS,
  DEMO_USERS,
  DEMO_WORKFLOWS,
} from './demoData.js';
import type { SecretBox } from '../domain/secretBox.js';
import {
  enqueueRelationships,
  touch,
  type RelationshipChange,
} from '../authz/outbox/RelationshipOutbox.js';
import {
  credentialTuples,
  membershipTuple,
  shareTuple,
  teamTuples,
  userTuples,
  workflowTuples,
} from '../authz/RelationshipTuple.js';

export interface SeedResult {
  readonly created: string[];
  readonly existing: string[];
}

export async function seedDemoData(
  ownerPrisma: PrismaClient,
  secrets: SecretBox,
): Promise<SeedResult> {
  const db = new TenantDatabase(ownerPrisma, { timeoutMs: 30_000 });
  const result: SeedResult = { created: [], existing: [] };
  for (const [key, tenant] of Object.entries(DEMO_TENANTS)) {
    const created = await db.transaction(
      { tenantId: tenant.id, subject: 'seed' },
      'write',
      async (tx) => {
        if (await tx.tenant.findFirst({ where: { id: tenant.id } })) return false;
        await tx.tenant.create({ data: tenant });
        const users = DEMO_USERS.filter((x) => x.tenant === key);
        await tx.user.createMany({
          data: users.map((x) => ({
            tenantId: tenant.id,
            id: x.id,
            subject: x.subject,
            email: x.email,
            displayName: x.displayName,
            roles: [...x.roles],
            grantedRoles: [...x.roles],
          })),
        });
        const relationships: RelationshipChange[] = users.flatMap((x) =>
          userTuples(tenant.id, x).map(touch),
        );
        const userId = (k: string): string => {
          const found = users.find((x) => x.key === k);
          if (!found) throw new Error(`demo data: unknown user ${k}`);
          return found.id;
        };
        for (const team of DEMO_TEAMS.filter((t) => t.tenant === key)) {
          await tx.team.create({ data: { tenantId: tenant.id, id: team.id, name: team.name } });
          const memberships = team.members.map(([member, role]) => ({
            tenantId: tenant.id,
            teamId: team.id,
            userId: userId(member),
            role,
          }));
          await tx.teamMembership.createMany({ data: memberships });
          relationships.push(
            ...teamTuples(tenant.id, team).map(touch),
            ...memberships.map((m) => touch(membershipTuple(tenant.id, m))),
          );
        }
        for (const wf of DEMO_WORKFLOWS.filter((w) => w.tenant === key)) {
          const team = DEMO_TEAMS.find((t) => t.tenant === key && t.name === wf.team);
          const workflow = await tx.workflow.create({
            data: {
              tenantId: tenant.id,
              id: wf.id,
              name: wf.name,
              amount: wf.amount,
              status: wf.status,
              ownerId: userId(wf.owner),
              teamId: team?.id ?? null,
            },
          });
          for (const [member, role] of wf.shares) {
            const share = await tx.workflowShare.create({
              data: { tenantId: tenant.id, workflowId: wf.id, userId: userId(member), role },
            });
            relationships.push(touch(shareTuple(tenant.id, share)));
          }
          relationships.push(...workflowTuples(tenant.id, workflow).map(touch));
        }
        for (const c of DEMO_CREDENTIALS.filter((x) => x.tenant === key)) {
          const sealed = secrets.seal(c.secret, { tenantId: tenant.id, id: c.id });
          await tx.credential.create({
            data: {
              tenantId: tenant.id,
              id: c.id,
              ownerId: userId(c.owner),
              name: c.name,
              secretCiphertext: sealed.ciphertext,
              secretKeyId: sealed.keyId,
            },
          });
          relationships.push(
            ...credentialTuples(tenant.id, { id: c.id, ownerId: userId(c.owner) }).map(touch),
          );
        }
        await enqueueRelationships(tx, tenant.id, relationships);
        return true;
      },
    );
    (created ? result.created : result.existing).push(tenant.slug);
  }
  return result;
}
