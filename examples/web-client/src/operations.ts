/**
 * The operations this client sends, written with the generated `graphql()`: each one is a
 * TypedDocumentNode, so Apollo Client infers its variables and result types.
 */
import { graphql } from './gql/index.js';

/** One page of workflows, newest first; the next page starts after `pageInfo.endCursor`. */
export const WorkflowsQuery = graphql(`
  query Workflows($first: Int, $after: String, $filter: WorkflowFilter) {
    workflows(first: $first, after: $after, filter: $filter) {
      totalCount
      edges {
        cursor
        node {
          id
          name
          amount
          status
          owner {
            id
            displayName
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CreateWorkflowMutation = graphql(`
  mutation CreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) {
      id
      name
      amount
      status
      version
    }
  }
`);

/**
 * The newest event's seq: where a live feed starts so that nothing after it is missed
 * (`afterSeq` sends the stored events after it first, then live ones, without a gap).
 */
export const AuditHeadQuery = graphql(`
  query AuditHead {
    auditEvents(first: 1) {
      edges {
        node {
          id
          seq
        }
      }
    }
  }
`);

/** The organisation's audit trail as it is written (organisation admins and auditors). */
export const AuditFeedSubscription = graphql(`
  subscription AuditFeed($afterSeq: Int, $filter: AuditEventFilter) {
    auditEvents(afterSeq: $afterSeq, filter: $filter) {
      id
      seq
      occurredAt
      action
      outcome
      actor {
        subject
      }
      resource {
        type
        id
      }
    }
  }
`);
