/** Parent values of the GraphQL types that are not Prisma models (see codegen.ts mappers). */
import type { Principal } from '../authn/Principal.js';
import type { Prisma, User, Workflow } from '../generated/prisma/client.js';
import type { CredentialModel } from '../domain/credentialModel.js';
import type { ServiceAccountModel } from '../domain/identity/serviceAccountModel.js';
import type { AuditEvent } from '../audit/AuditEvent.js';
import type { AuditCheckpoint } from '../audit/AuditCheckpoint.js';

export interface ViewerModel {
  readonly principal: Principal;
}

/**
 * A page of a connection, newest first (graphql/resolvers/paging.ts makes it). `start` and
 * `end` are the first and last rows fetched for the page, also when the relationship check
 * removed them, so the cursors of `pageInfo` still continue from there.
 */
export interface PageModel<T> {
  readonly nodes: readonly T[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly start: T | null;
  readonly end: T | null;
}

export interface WorkflowConnectionModel extends PageModel<Workflow> {
  /** What the caller may see and the filter, as SQL over `workflows w`, for `totalCount`. */
  readonly visible: Prisma.Sql;
}

export interface CredentialConnectionModel extends PageModel<CredentialModel> {
  readonly where: Prisma.CredentialWhereInput;
}

export interface ServiceAccountConnectionModel extends PageModel<ServiceAccountModel> {
  readonly where: Prisma.ServiceAccountWhereInput;
}
export type UserConnectionModel = PageModel<User>;
export type AuditEventConnectionModel = PageModel<AuditEvent>;
export type AuditCheckpointConnectionModel = PageModel<AuditCheckpoint>;
