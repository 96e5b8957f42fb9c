/** What of a credential may be read outside `Credential.secret`: everything but the sealed secret. */
import type { Credential } from '../generated/prisma/client.js';

/** A credential without its sealed secret: `Credential.secret` opens that on demand. */
export type CredentialModel = Omit<Credential, 'secretCiphertext' | 'secretKeyId'>;

/** The columns of a credential that may be read outside `Credential.secret`. */
export const CREDENTIAL_COLUMNS = {
  tenantId: true,
  id: true,
  ownerId: true,
  name: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Record<keyof CredentialModel, true>;
