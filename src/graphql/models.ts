/** Parent values of the GraphQL types that are not Prisma models (see codegen.ts mappers). */
import type { Principal } from '../authn/Principal.js';
import type { Prisma, Workflow } from '../generated/prisma/client.js';
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
