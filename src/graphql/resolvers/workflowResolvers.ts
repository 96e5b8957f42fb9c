import type { Resolvers } from '../../generated/graphql.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { badUserInput } from '../../errors/clientErrors.js';
import { requireId } from '../../domain/inputValidation.js';
import {
  createWorkflow,
  shareWorkflow,
  transitionWorkflow,
  updateWorkflow,
  type Actor,
} from '../../domain/workflowCommands.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { GatehouseContext } from '../GatehouseContext.js';
import { mustExist } from './tenancyResolvers.js';
import { requireData } from './requireData.js';

const MAX_PAGE = 100;

async function actorOf(ctx: GatehouseContext): Promise<Actor> {
  const data = requireData(ctx);
  const user = await data.requireCurrentUser();
  return { tenantId: data.tenantId, userId: user.id };
}

export const workflowResolvers: Resolvers = {
  Query: {
    workflows: async (_parent, args, ctx) => {
      const data = requireData(ctx);
      const first = args.first;
      if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
        throw badUserInput(`first must be between 1 and ${MAX_PAGE}`, { argument: 'first' });
      }
      const filter = args.filter?.status ? { status: args.filter.status } : {};
      const after = args.after ? decodeCursor(args.after) : undefined;
      const where: Prisma.WorkflowWhereInput = {
        tenantId: data.tenantId,
        ...filter,
        ...(after
          ? {
              OR: [
                { createdAt: { lt: after.createdAt } },
                { createdAt: after.createdAt, id: { lt: after.id } },
              ],
            }
          : {}),
      };
      const rows = await (
        await data.tx()
      ).workflow.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: first + 1,
      });
      return { nodes: rows.slice(0, first), hasNextPage: rows.length > first, filter };
    },
    workflow: async (_parent, args, ctx) => {
      const data = requireData(ctx);
      return (await data.tx()).workflow.findFirst({
        where: { tenantId: data.tenantId, id: requireId(args.id, 'id') },
      });
    },
  },
  Mutation: {
    createWorkflow: (_parent, { input }, ctx) =>
      requireData(ctx).uow.mutation(async (tx) => createWorkflow(tx, await actorOf(ctx), input)),
    updateWorkflow: (_parent, { id, input, expectedVersion }, ctx) =>
      requireData(ctx).uow.mutation(async (tx) =>
        updateWorkflow(tx, await actorOf(ctx), id, input, expectedVersion),
      ),
    submitWorkflow: (_parent, { id }, ctx) =>
      requireData(ctx).uow.mutation(async (tx) =>
        transitionWorkflow(tx, await actorOf(ctx), id, 'submit'),
      ),
    approveWorkflow: (_parent, { id, comment }, ctx) =>
      requireData(ctx).uow.mutation(async (tx) =>
        transitionWorkflow(tx, await actorOf(ctx), id, 'approve', comment),
      ),
    rejectWorkflow: (_parent, { id, comment }, ctx) =>
      requireData(ctx).uow.mutation(async (tx) =>
        transitionWorkflow(tx, await actorOf(ctx), id, 'reject', comment),
      ),
    shareWorkflow: (_parent, { id, userId, role }, ctx) =>
      requireData(ctx).uow.mutation(async (tx) =>
        shareWorkflow(tx, await actorOf(ctx), id, userId, role),
      ),
  },
  WorkflowConnection: {
    edges: (conn) => conn.nodes.map((node) => ({ node, cursor: encodeCursor(node) })),
    pageInfo: (conn) => {
      const last = conn.nodes.at(-1);
      return { hasNextPage: conn.hasNextPage, endCursor: last ? encodeCursor(last) : null };
    },
    totalCount: async (conn, _args, ctx) => {
      const data = requireData(ctx);
      return (await data.tx()).workflow.count({
        where: { tenantId: data.tenantId, ...conn.filter },
      });
    },
  },
  Workflow: {
    owner: async (wf, _args, ctx) => mustExist(await requireData(ctx).users.load(wf.ownerId)),
    team: (wf, _args, ctx) => (wf.teamId ? requireData(ctx).teams.load(wf.teamId) : null),
    approvals: (wf, _args, ctx) => requireData(ctx).approvalsByWorkflow.load(wf.id),
    shares: (wf, _args, ctx) => requireData(ctx).sharesByWorkflow.load(wf.id),
  },
  Approval: {
    approver: async (a, _args, ctx) => mustExist(await requireData(ctx).users.load(a.approverId)),
  },
  WorkflowShare: {
    user: async (s, _args, ctx) => mustExist(await requireData(ctx).users.load(s.userId)),
  },
};
