import type { Resolvers } from '../../generated/graphql.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { requireId } from '../../domain/inputValidation.js';
import {
  createWorkflow,
  shareWorkflow,
  transitionWorkflow,
  unshareWorkflow,
  updateWorkflow,
} from '../../domain/workflowCommands.js';
import { after, checkedPage, connectionFields, NEWEST_FIRST, requirePageSize } from './paging.js';
import { visibleWorkflows } from '../../domain/workflowVisibility.js';
import { mustExist } from './tenancyResolvers.js';
import { requireData } from './requireData.js';
import { selectedPermissions } from '../../authz/selectedPermissions.js';

export const workflowResolvers: Resolvers = {
  Query: {
    workflows: async (_parent, args, ctx, info) => {
      const data = requireData(ctx);
      const first = requirePageSize(args.first);
      // A user, or a service account (with its roles: it owns and is shared nothing).
      const user = await data.currentCaller();
      if (!user) return { nodes: [], hasNextPage: false, end: null, where: { id: { in: [] } } };
      const where: Prisma.WorkflowWhereInput = {
        AND: [
          { tenantId: data.tenantId },
          args.filter?.status ? { status: args.filter.status } : {},
          visibleWorkflows(user),
        ],
      };
      const rows = await (
        await data.tx()
      ).workflow.findMany({
        where: { AND: [where, after(args.after)] },
        orderBy: NEWEST_FIRST,
        take: first + 1,
      });
      // One bulk check for the page; the per-field checks below then hit its memo.
      const page = await checkedPage(rows, first, (p) =>
        ctx.authz.filter(p, 'workflow', (w) => w.id, 'view', selectedPermissions(info, 'workflow')),
      );
      return { ...page, where };
    },
    workflow: async (_parent, args, ctx) => {
      const data = requireData(ctx);
      return (await data.tx()).workflow.findFirst({
        where: { tenantId: data.tenantId, id: requireId(args.id, 'id') },
      });
    },
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
    user: async (s, _args, ctx) => mustExist(await requireData(ctx).users.load(s.userId)),
  },
};
