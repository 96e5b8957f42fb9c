/**
 * Credential changes, each inside the caller's tenant transaction. The secret is sealed
 * (secretBox.ts) before it is written; the plaintext never reaches the database, a log or
 * a payload of these mutations.
 */
import { randomUUID } from 'node:crypto';
import type { TenantTx } from '../data/TenantDatabase.js';
import type { OrgRole } from '../generated/prisma/enums.js';
import { type Prisma } from '../generated/prisma/client.js';
import { badUserInput, conflict, notFound } from '../errors/clientErrors.js';
import { enqueueRelationships, remove, touch } from '../authz/outbox/RelationshipOutbox.js';
import { credentialTuples } from '../authz/RelationshipTuple.js';
import { CREDENTIAL_COLUMNS, type CredentialModel } from './credentialModel.js';
import { requireId, requireText } from './inputValidation.js';
import type { SecretBox } from './secretBox.js';
import type { Actor } from './workflowCommands.js';
import { diff, REDACTED, type Changed } from './Changed.js';
import { isUniqueViolation } from './uniqueViolation.js';

/** Largest secret accepted, in UTF-8 bytes. */
export const MAX_SECRET_BYTES = 8192;

function requireSecret(secret: string): string {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < 1 || bytes > MAX_SECRET_BYTES) {
    throw badUserInput(`secret must be 1 to ${MAX_SECRET_BYTES} bytes`, { field: 'secret' });
  }
  return secret;
}

/** Organisation roles whose members see every credential (not its secret): policies/authz.zed. */
const SEES_ALL: readonly OrgRole[] = ['ADMIN', 'AUDITOR'];

/**
 * Which credentials a user may view, as SQL: mirrors `permission view` of the credential
 * definition (owner, org admin, org auditor), so pages fill and `totalCount` is exact;
 * SpiceDB still checks every row (test/integration/listVisibility.test.ts compares them).
 */
export function visibleCredentials(user: {
  id: string;
  roles: readonly OrgRole[];
}): Prisma.CredentialWhereInput {
  return user.roles.some((r) => SEES_ALL.includes(r)) ? {} : { ownerId: user.id };
}

export async function createCredential(
  tx: TenantTx,
  actor: Actor,
  secrets: SecretBox,
  input: { name: string; secret: string },
): Promise<Changed<CredentialModel>> {
  const name = requireText(input.name, 'name', { min: 1, max: 200 });
  const secret = requireSecret(input.secret);
  const clash = await tx.credential.findFirst({
    where: { tenantId: actor.tenantId, ownerId: actor.userId, name },
    select: { id: true },
  });
  if (clash) throw conflict('You already have a credential with this name');
  const id = randomUUID();
  const sealed = secrets.seal(secret, { tenantId: actor.tenantId, id });
  let credential: CredentialModel;
  try {
    credential = await tx.credential.create({
      data: {
        tenantId: actor.tenantId,
        id,
        ownerId: actor.userId,
        name,
        secretCiphertext: sealed.ciphertext,
        secretKeyId: sealed.keyId,
      },
      select: CREDENTIAL_COLUMNS,
    });
  } catch (error) {
    // A concurrent create with the same name got there first.
    if (isUniqueViolation(error)) throw conflict('You already have a credential with this name');
    throw error;
  }
  await enqueueRelationships(
    tx,
    actor.tenantId,
    credentialTuples(actor.tenantId, credential).map(touch),
  );
  return {
    value: credential,
    resource: { type: 'credential', id },
    changes: {
      ...diff(null, credential, ['name', 'ownerId']),
      secret: { before: null, after: REDACTED },
    },
  };
}

/** Seals a new secret (with the active key) in place of the old one. */
export async function rotateCredential(
  tx: TenantTx,
  actor: Actor,
  secrets: SecretBox,
  id: string,
  secret: string,
): Promise<Changed<CredentialModel>> {
  const credentialId = requireId(id, 'id');
  const sealed = secrets.seal(requireSecret(secret), {
    tenantId: actor.tenantId,
    id: credentialId,
  });
  const updated = await tx.credential.updateManyAndReturn({
    // The owner only (SpiceDB `read_secret` already said so; the row agrees).
    where: { tenantId: actor.tenantId, id: credentialId, ownerId: actor.userId },
    data: { secretCiphertext: sealed.ciphertext, secretKeyId: sealed.keyId, updatedAt: new Date() },
    select: CREDENTIAL_COLUMNS,
  });
  const [credential] = updated;
  if (!credential) throw notFound('Credential');
  return {
    value: credential,
    resource: { type: 'credential', id: credential.id },
    changes: { secret: { before: REDACTED, after: REDACTED } },
  };
}

export async function deleteCredential(
  tx: TenantTx,
  actor: Actor,
  id: string,
): Promise<Changed<string>> {
  const credentialId = requireId(id, 'id');
  const credential = await tx.credential.findFirst({
    where: { tenantId: actor.tenantId, id: credentialId },
    select: { id: true, ownerId: true, name: true },
  });
  if (!credential) throw notFound('Credential');
  await tx.credential.deleteMany({ where: { tenantId: actor.tenantId, id: credentialId } });
  await enqueueRelationships(
    tx,
    actor.tenantId,
    credentialTuples(actor.tenantId, credential).map(remove),
  );
  return {
    value: credential.id,
    resource: { type: 'credential', id: credential.id },
    changes: diff(credential, null, ['name', 'ownerId']),
  };
}
