/** Parent values of the GraphQL types that are not Prisma models (see codegen.ts mappers). */
import type { Principal } from '../authn/Principal.js';
import type { Credential, Prisma, Workflow } from '../generated/prisma/client.js';
import type { CursorPosition } from './cursor.js';

export interface ViewerModel {
  readonly principal: Principal;
}

export interface WorkflowConnectionModel {
  /** The page, after the relationship check. */
  readonly nodes: readonly Workflow[];
  readonly hasNextPage: boolean;
  /** Position of the last row fetched (also when the check removed it). */
  readonly end: CursorPosition | null;
  /** What the caller may see, for `totalCount`. */
  readonly where: Prisma.WorkflowWhereInput;
}

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

export interface CredentialConnectionModel {
  readonly nodes: readonly CredentialModel[];
  readonly hasNextPage: boolean;
  readonly end: CursorPosition | null;
  readonly where: Prisma.CredentialWhereInput;
}

export interface PolicySettingsModel {
  readonly approvalLimit: Prisma.Decimal | null;
  readonly approvalNetworks: readonly string[];
  readonly version: number;
  readonly updatedAt: Date | null;
  readonly updatedBy: string | null;
}
