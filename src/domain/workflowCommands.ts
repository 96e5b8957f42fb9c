/**
 * Workflow changes, each inside the caller's tenant transaction. Every lookup goes through
 * RLS, so another tenant's id behaves exactly like one that does not exist (NOT_FOUND).
 * Each returns the workflow with what it changed (its mutation's audit event).
 */
import type { TenantTx } from '../data/TenantDatabase.js';
import type { ShareRole, Workflow } from '../generated/prisma/client.js';
import { badUserInput, conflict, notFound } from '../errors/clientErrors.js';
import { EDITABLE_STATUS, TRANSITIONS, type WorkflowTransition } from './workflowLifecycle.js';
import { requireId, requireText } from './inputValidation.js';
import { enqueueRelationships, remove, touch } from '../authz/outbox/RelationshipOutbox.js';
import { shareTuple, workflowTeamTuple, workflowTuples } from '../authz/RelationshipTuple.js';
import { diff, type Changed } from './Changed.js';

const PAST_TENSE: Readonly<Record<WorkflowTransition, string>> = {
  submit: 'submitted',
  approve: 'approved',
  reject: 'rejected',
};

export interface Actor {
  readonly tenantId: string;
  readonly userId: string;
}

export interface WorkflowDraft {
  readonly name: string;
  readonly description?: string | null | undefined;
  readonly amount: string;
  readonly teamId?: string | null | undefined;
}

export interface WorkflowPatch {
  readonly name?: string | null | undefined;
  readonly description?: string | null | undefined;
  readonly amount?: string | null | undefined;
  readonly teamId?: string | null | undefined;
}

async function requireTeam(tx: TenantTx, tenantId: string, teamId: string): Promise<string> {
  const id = requireId(teamId, 'teamId');
  const team = await tx.team.findFirst({ where: { tenantId, id }, select: { id: true } });
  if (!team) throw notFound('Team');
  return id;
}

/** The fields of a workflow an audit event shows before → after. */
const AUDITED: ReadonlyArray<keyof Workflow> = [
  'name',
  'description',
  'amount',
  'status',
  'ownerId',
  'teamId',
  'version',
];

function workflowChange(
  before: Workflow | null,
  after: Workflow,
  extra: Changed<Workflow>['changes'] = {},
): Changed<Workflow> {
  return {
    value: after,
    resource: { type: 'workflow', id: after.id },
    changes: { ...diff(before, after, AUDITED), ...extra },
  };
}

export async function findWorkflow(tx: TenantTx, tenantId: string, id: string): Promise<Workflow> {
  const workflow = await tx.workflow.findFirst({ where: { tenantId, id: requireId(id, 'id') } });
  if (!workflow) throw notFound('Workflow');
  return workflow;
}

export async function createWorkflow(
  tx: TenantTx,
  actor: Actor,
  draft: WorkflowDraft,
): Promise<Changed<Workflow>> {
  const name = requireText(draft.name, 'name', { min: 1, max: 200 });
  const description = requireText(draft.description ?? '', 'description', { min: 0, max: 10_000 });
  const teamId = draft.teamId ? await requireTeam(tx, actor.tenantId, draft.teamId) : null;
  const workflow = await tx.workflow.create({
    data: {
      tenantId: actor.tenantId,
      name,
      description,
      amount: draft.amount,
      ownerId: actor.userId,
      teamId,
    },
  });
  // Relationships commit with the workflow (transactional outbox, DESIGN.md gate 2).
  await enqueueRelationships(
    tx,
    actor.tenantId,
    workflowTuples(actor.tenantId, workflow).map(touch),
  );
  return workflowChange(null, workflow);
}

export async function updateWorkflow(
  tx: TenantTx,
  actor: Actor,
  id: string,
  patch: WorkflowPatch,
  expectedVersion: number | null | undefined,
): Promise<Changed<Workflow>> {
  const current = await findWorkflow(tx, actor.tenantId, id);
  if (patch.name === null) throw badUserInput('name cannot be null', { field: 'name' });
  if (patch.amount === null) throw badUserInput('amount cannot be null', { field: 'amount' });
  const data = {
    ...(patch.name !== undefined
      ? { name: requireText(patch.name, 'name', { min: 1, max: 200 }) }
      : {}),
    ...(patch.description !== undefined
      ? {
          description: requireText(patch.description ?? '', 'description', { min: 0, max: 10_000 }),
        }
      : {}),
    ...(patch.amount !== undefined ? { amount: patch.amount } : {}),
    ...(patch.teamId !== undefined
      ? {
          teamId:
            patch.teamId === null ? null : await requireTeam(tx, actor.tenantId, patch.teamId),
        }
      : {}),
  };
  const version = expectedVersion ?? current.version;
  const { count } = await tx.workflow.updateMany({
    where: { tenantId: actor.tenantId, id: current.id, status: EDITABLE_STATUS, version },
    data: { ...data, version: { increment: 1 }, updatedAt: new Date() },
  });
  if (count === 0) {
    if (current.status !== EDITABLE_STATUS) {
      throw badUserInput(`Only ${EDITABLE_STATUS} workflows can be edited`, {
        reason: 'INVALID_STATE',
      });
    }
    throw conflict('The workflow was changed by someone else; reload it and retry');
  }
  if (data.teamId !== undefined && data.teamId !== current.teamId) {
    await enqueueRelationships(tx, actor.tenantId, [
      ...(current.teamId
        ? [remove(workflowTeamTuple(actor.tenantId, current.id, current.teamId))]
        : []),
      ...(data.teamId ? [touch(workflowTeamTuple(actor.tenantId, current.id, data.teamId))] : []),
    ]);
  }
  return workflowChange(current, await findWorkflow(tx, actor.tenantId, current.id));
}

export async function transitionWorkflow(
  tx: TenantTx,
  actor: Actor,
  id: string,
  transition: WorkflowTransition,
  comment?: string | null,
): Promise<Changed<Workflow>> {
  const current = await findWorkflow(tx, actor.tenantId, id);
  const { from, to } = TRANSITIONS[transition];
  const note = requireText(comment ?? '', 'comment', { min: 0, max: 2_000 });
  const { count } = await tx.workflow.updateMany({
    where: { tenantId: actor.tenantId, id: current.id, status: from },
    data: { status: to, version: { increment: 1 }, updatedAt: new Date() },
  });
  if (count === 0) {
    throw badUserInput(`Only ${from} workflows can be ${PAST_TENSE[transition]}`, {
      reason: 'INVALID_STATE',
    });
  }
  if (transition !== 'submit') {
    await tx.approval.create({
      data: {
        tenantId: actor.tenantId,
        workflowId: current.id,
        approverId: actor.userId,
        decision: to === 'APPROVED' ? 'APPROVED' : 'REJECTED',
        comment: note,
      },
    });
  }
  const after = await findWorkflow(tx, actor.tenantId, current.id);
  return workflowChange(current, after, note ? { comment: { before: null, after: note } } : {});
}

export async function shareWorkflow(
  tx: TenantTx,
  actor: Actor,
  id: string,
  userId: string,
  role: ShareRole,
): Promise<Changed<Workflow>> {
  const workflow = await findWorkflow(tx, actor.tenantId, id);
  const user = await tx.user.findFirst({
    where: { tenantId: actor.tenantId, id: requireId(userId, 'userId') },
    select: { id: true },
  });
  if (!user) throw notFound('User');
  const key = { tenantId: actor.tenantId, workflowId: workflow.id, userId: user.id };
  const previous = await tx.workflowShare.findUnique({
    where: { tenantId_workflowId_userId: key },
  });
  await tx.workflowShare.upsert({
    where: { tenantId_workflowId_userId: key },
    create: { ...key, role },
    update: { role },
  });
  if (previous?.role !== role) {
    await enqueueRelationships(tx, actor.tenantId, [
      ...(previous ? [remove(shareTuple(actor.tenantId, previous))] : []),
      touch(shareTuple(actor.tenantId, { workflowId: workflow.id, userId: user.id, role })),
    ]);
  }
  return workflowChange(workflow, workflow, {
    share: {
      before: previous ? { userId: user.id, role: previous.role } : null,
      after: { userId: user.id, role },
    },
  });
}

export async function unshareWorkflow(
  tx: TenantTx,
  actor: Actor,
  id: string,
  userId: string,
): Promise<Changed<Workflow>> {
  const workflow = await findWorkflow(tx, actor.tenantId, id);
  const key = {
    tenantId: actor.tenantId,
    workflowId: workflow.id,
    userId: requireId(userId, 'userId'),
  };
  const previous = await tx.workflowShare.findUnique({
    where: { tenantId_workflowId_userId: key },
  });
  if (previous) {
    await tx.workflowShare.delete({ where: { tenantId_workflowId_userId: key } });
    await enqueueRelationships(tx, actor.tenantId, [remove(shareTuple(actor.tenantId, previous))]);
  }
  return workflowChange(
    workflow,
    workflow,
    previous ? { share: { before: { userId: key.userId, role: previous.role }, after: null } } : {},
  );
}
