/** Parent values of the GraphQL types that are not Prisma models (see codegen.ts mappers). */
import type { Principal } from '../authn/Principal.js';
import type { Prisma, User, Workflow } from '../generated/prisma/client.js';
import type { CredentialModel } from '../domain/credentialModel.js';
import type { ServiceAccountModel } from '../domain/identity/serviceAccountModel.js';
import type { CursorPosition } from './cursor.js';
import type { AuditEvent } from '../audit/AuditEvent.js';
import type { AuditCheckpoint } from '../audit/AuditCheckpoint.js';

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

export interface CredentialConnectionModel {
  readonly nodes: readonly CredentialModel[];
  readonly hasNextPage: boolean;
  readonly end: CursorPosition | null;
  readonly where: Prisma.CredentialWhereInput;
}

export interface ServiceAccountConnectionModel {
  readonly nodes: readonly ServiceAccountModel[];
  readonly hasNextPage: boolean;
  readonly end: CursorPosition | null;
  readonly where: Prisma.ServiceAccountWhereInput;
}

export interface UserConnectionModel {
  readonly nodes: readonly User[];
  readonly hasNextPage: boolean;
  readonly end: CursorPosition | null;
}

/** A page of a list ordered by sequence number, newest first. */
export interface SeqConnectionModel<T extends { readonly seq: number }> {
  readonly nodes: readonly T[];
  readonly hasNextPage: boolean;
}

export type AuditEventConnectionModel = SeqConnectionModel<AuditEvent>;
export type AuditCheckpointConnectionModel = SeqConnectionModel<AuditCheckpoint>;
