/**
 * The workflow state machine: DRAFT → PENDING_APPROVAL → APPROVED | REJECTED.
 * Transitions are applied with a conditional UPDATE (`where status = from`), so two
 * concurrent approvals cannot both succeed.
 */
import type { WorkflowStatus } from '../generated/prisma/enums.js';

export type WorkflowTransition = 'submit' | 'approve' | 'reject';

export const TRANSITIONS: Readonly<
  Record<WorkflowTransition, { from: WorkflowStatus; to: WorkflowStatus }>
> = {
  submit: { from: 'DRAFT', to: 'PENDING_APPROVAL' },
  approve: { from: 'PENDING_APPROVAL', to: 'APPROVED' },
  reject: { from: 'PENDING_APPROVAL', to: 'REJECTED' },
};

/** Only drafts may be edited: a submitted workflow's amount is what approvers decide on. */
export const EDITABLE_STATUS: WorkflowStatus = 'DRAFT';
