/** Parent values of the GraphQL types that are not Prisma models (see codegen.ts mappers). */
import type { Principal } from '../authn/Principal.js';
import type { Workflow, WorkflowStatus } from '../generated/prisma/client.js';

export interface ViewerModel {
  readonly principal: Principal;
}

export interface WorkflowConnectionModel {
  readonly nodes: readonly Workflow[];
  readonly hasNextPage: boolean;
  readonly filter: { readonly status?: WorkflowStatus };
}
