/**
 * Creates an organisation with its first admin: how a real deployment starts without the
 * demo seed (`npm run tenant:create`). Runs as the owner role (tenants are provisioned by
 * the operator; the app role may only read them) in one tenant-scoped transaction, so RLS
 * WITH CHECK validates every row: the tenant, the admin's user account (ADMIN and
 * MEMBER), the admin's relationships through the outbox (the relay applies them to
 * SpiceDB), and a `tenant.create` event opening the tenant's audit chain.
 */
import { randomUUID } from 'node:crypto';
import { appendAuditEvents } from '../../audit/appendAuditEvents.js';
import { enqueueRelationships, touch } from '../../authz/outbox/RelationshipOutbox.js';
import { userTuples } from '../../authz/RelationshipTuple.js';
import { TenantDatabase } from '../../data/TenantDatabase.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { isUniqueViolation } from '../uniqueViolation.js';
import { isEmail } from '../inputValidation.js';

export interface NewTenant {
  readonly slug: string;
  readonly name: string;
  /** The identity provider's `sub` of the first admin. */
  readonly adminSubject: string;
  readonly adminEmail: string;
  readonly adminDisplayName: string;
  /** The tenant's id; a new UUID when absent (the id tokens must carry in the tenant claim). */
  readonly id?: string;
}

export interface ProvisionedTenant {
  readonly id: string;
  readonly slug: string;
  readonly adminUserId: string;
}

/** A refusal of bad input, naming the option (the CLI exits 2 with it). */
export class TenantInputError extends Error {
  override readonly name = 'TenantInputError';
}

/** As the tenants table's CHECK has it. */
const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function validated(input: NewTenant): Required<NewTenant> {
  const id = (input.id ?? randomUUID()).toLowerCase();
  if (!UUID.test(id)) throw new TenantInputError('--id must be a UUID');
  if (!SLUG.test(input.slug)) {
    throw new TenantInputError(
      '--slug must be 2 to 63 lower-case letters, digits or dashes, starting with a letter or digit',
    );
  }
  const name = input.name.trim();
  if (name.length < 1 || name.length > 200)
    throw new TenantInputError('--name must be 1 to 200 characters');
  const subject = input.adminSubject.trim();
  if (subject.length < 1 || subject.length > 255) {
    throw new TenantInputError('--admin-subject must be 1 to 255 characters');
  }
  if (!isEmail(input.adminEmail.toLowerCase()))
    throw new TenantInputError('--admin-email must be an email address');
  const displayName = input.adminDisplayName.trim();
  if (displayName.length < 1 || displayName.length > 200) {
    throw new TenantInputError('--admin-name must be 1 to 200 characters');
  }
  return {
    id,
    slug: input.slug,
    name,
    adminSubject: subject,
    adminEmail: input.adminEmail.toLowerCase(),
    adminDisplayName: displayName,
  };
}

export async function provisionTenant(
  ownerPrisma: PrismaClient,
  input: NewTenant,
): Promise<ProvisionedTenant> {
  const t = validated(input);
  const adminUserId = randomUUID();
  const db = new TenantDatabase(ownerPrisma, { timeoutMs: 30_000 });
  await db.transaction({ tenantId: t.id, subject: 'operator' }, 'write', async (tx) => {
    try {
      await tx.tenant.create({ data: { id: t.id, slug: t.slug, name: t.name } });
    } catch (error) {
      // The slug and the id are unique across tenants (the owner sees only this tenant's row).
      if (isUniqueViolation(error)) {
        throw new TenantInputError(`a tenant with this slug or id exists: ${t.slug}`);
      }
      throw error;
    }
    const roles = ['ADMIN', 'MEMBER'] as const;
    await tx.user.create({
      data: {
        tenantId: t.id,
        id: adminUserId,
        subject: t.adminSubject,
        email: t.adminEmail,
        displayName: t.adminDisplayName,
        roles: [...roles],
        grantedRoles: [...roles],
      },
    });
    await enqueueRelationships(
      tx,
      t.id,
      userTuples(t.id, { id: adminUserId, roles: [...roles] }).map(touch),
    );
    await appendAuditEvents(tx, t.id, [
      {
        actor: { subject: null, userId: null, kind: 'system', ip: null },
        action: 'tenant.create',
        resource: { type: 'tenant', id: t.id },
        outcome: 'SUCCEEDED',
        gate: null,
        reasons: ['created by the operator (npm run tenant:create)'],
        requestId: null,
        traceId: null,
        decisions: [],
        changes: {
          slug: { before: null, after: t.slug },
          name: { before: null, after: t.name },
          admin: { before: null, after: { userId: adminUserId, subject: t.adminSubject } },
        },
      },
    ]);
  });
  return { id: t.id, slug: t.slug, adminUserId };
}
