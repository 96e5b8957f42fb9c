import type { Resolvers } from '../../generated/graphql.js';
import { Prisma, type Workflow } from '../../generated/prisma/client.js';
import type { RequestData } from '../RequestData.js';
import { requireId } from '../../domain/inputValidation.js';
import {
  createWorkflow,
  shareWorkflow,
  transitionWorkflow,
  unshareWorkflow,
  updateWorkflow,
} from '../../domain/workflowCommands.js';
import { checkedPage, connectionFields, emptyPage, positionPageRequest } from './paging.js';
import { mustExist } from './tenancyResolvers.js';
import { requireData } from './requireData.js';
import { listCondition, readWorkflowPage } from '../workflowPage.js';
import { selectsField } from '../selectsField.js';
import { listLookahead } from '../../authz/selectedPermissions.js';

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
      if (!user) return { ...emptyPage(), visible: Prisma.sql`false` };
      const visible = listCondition(user, args.filter?.status);
      const { rows, shares } = await readWorkflowPage(
        await data.tx(),
        data.tenantId,
        visible,
        request,
        // edges → node → shares
        selectsField(info, 'shares', 3),
      );
      // `Workflow.shares` answers from what the page read (its rule still decides).
      if (shares) data.knowShares(shares);
      // One bulk check for the page; the per-field checks below then hit its memo.
      const checked = await checkedPage(rows, request, (p) =>
        ctx.authz.filter(p, 'workflow', (w) => w.id, 'view', listLookahead(info, 'workflow', ctx)),
      );
      return { ...checked, visible };
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
    totalCount: async (conn, _args, ctx) => {
      const data = requireData(ctx);
      const [row] = await (
        await data.tx()
      ).$queryRaw<Array<{ count: number }>>`
        select count(*)::int as count from workflows w
         where w.tenant_id = ${data.tenantId}::uuid and ${conn.visible}`;
      return row!.count;
    },
  },
  Workflow: {
    owner: async (wf, _args, ctx) => mustExist(await requireData(ctx).users.load(wf.ownerId)),
    team: (wf, _args, ctx) => (wf.teamId ? requireData(ctx).teams.load(wf.teamId) : null),
    approvals: (wf, _args, ctx) => requireData(ctx).approvalsByWorkflow.load(wf.id),
    shares: (wf, _args, ctx) => requireData(ctx).sharesOf(wf.id),
  },
  Approval: {
    approver: async (a, _args, ctx) => mustExist(await requireData(ctx).users.load(a.approverId)),
  },
  WorkflowShare: {
    id: (s) => `workflow-share:${s.workflowId}:${s.userId}`,
    user: async (s, _args, ctx) => mustExist(await requireData(ctx).users.load(s.userId)),
  },
};
