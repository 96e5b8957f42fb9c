import type { Resolvers } from '../../generated/graphql.js';
import type { Prisma, Workflow } from '../../generated/prisma/client.js';
import type { RequestData } from '../RequestData.js';
import { requireId } from '../../domain/inputValidation.js';
import {
  createWorkflow,
  shareWorkflow,
  transitionWorkflow,
  unshareWorkflow,
  updateWorkflow,
} from '../../domain/workflowCommands.js';
import { checkedPage, connectionFields, emptyPage, keyset, positionPageRequest } from './paging.js';
import { visibleWorkflows } from '../../domain/workflowVisibility.js';
import { mustExist } from './tenancyResolvers.js';
import { requireData } from './requireData.js';
import { selectedPermissions } from '../../authz/selectedPermissions.js';

/** A workflow of the tenant by id (`workflow(id:)`, `node(id:)`), or null. */
export async function readWorkflow(data: RequestData, id: string): Promise<Workflow | null> {
  return (await data.tx()).workflow.findFirst({ where: { tenantId: data.tenantId, id } });
}

export const workflowResolvers: Resolvers = {
  Query: {
    workflows: async (_parent, args, ctx, info) => {
      const data = requireData(ctx);
      const request = positionPageRequest(args);
      // A user, or a service account (with its roles: it owns and is shared nothing).
      const user = await data.currentCaller();
      if (!user) return { ...emptyPage(), where: { id: { in: [] } } };
      const where: Prisma.WorkflowWhereInput = {
        AND: [
          { tenantId: data.tenantId },
          args.filter?.status ? { status: args.filter.status } : {},
          visibleWorkflows(user),
        ],
      };
      const page = keyset(request);
      const rows = await (
        await data.tx()
      ).workflow.findMany({
        where: { AND: [where, page.where] },
        orderBy: page.orderBy,
        take: page.take,
      });
      // One bulk check for the page; the per-field checks below then hit its memo.
      const checked = await checkedPage(rows, request, (p) =>
        ctx.authz.filter(p, 'workflow', (w) => w.id, 'view', selectedPermissions(info, 'workflow')),
      );
      return { ...checked, where };
    },
    workflow: (_parent, args, ctx) => readWorkflow(requireData(ctx), requireId(args.id, 'id')),
  },
  Mutation: {
    createWorkflow: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => createWorkflow(tx, actor, args.input)),
    updateWorkflow: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        updateWorkflow(tx, actor, args.id, args.input, args.expectedVersion),
      ),
    submitWorkflow: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        transitionWorkflow(tx, actor, args.id, 'submit'),
      ),
    approveWorkflow: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        transitionWorkflow(tx, actor, args.id, 'approve', args.comment),
      ),
    rejectWorkflow: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        transitionWorkflow(tx, actor, args.id, 'reject', args.comment),
      ),
    shareWorkflow: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        shareWorkflow(tx, actor, args.id, args.userId, args.role),
      ),
    unshareWorkflow: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        unshareWorkflow(tx, actor, args.id, args.userId),
      ),
  },
  WorkflowConnection: {
    ...connectionFields,
    totalCount: async (conn, _args, ctx) =>
      (await requireData(ctx).tx()).workflow.count({ where: conn.where }),
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
    id: (s) => `workflow-share:${s.workflowId}:${s.userId}`,
    user: async (s, _args, ctx) => mustExist(await requireData(ctx).users.load(s.userId)),
  },
};
