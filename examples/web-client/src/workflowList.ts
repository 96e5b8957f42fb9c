/**
 * The workflow list paged the way a UI pages it: one watched query, and each further page
 * fetched with `fetchMore` after the last `endCursor`. The cache's relay policy appends
 * the page (src/cache.ts), so the watched query then holds every workflow loaded so far.
 */
import type { ApolloClient, ObservableQuery } from '@apollo/client';
import { filter, firstValueFrom } from 'rxjs';
import { asError } from './errors.js';
import type { WorkflowFilter, WorkflowsQuery, WorkflowsQueryVariables } from './gql/graphql.js';
import { WorkflowsQuery as WorkflowsDocument } from './operations.js';

export type WorkflowList = ObservableQuery<WorkflowsQuery, WorkflowsQueryVariables>;

/** Starts watching the list with its first page of `pageSize` workflows. */
export function watchWorkflows(
  apollo: ApolloClient,
  pageSize: number,
  workflowFilter?: WorkflowFilter,
): WorkflowList {
  return apollo.watchQuery({
    query: WorkflowsDocument,
    variables: { first: pageSize, ...(workflowFilter ? { filter: workflowFilter } : {}) },
  });
}

export type LoadedList = ObservableQuery.Result<WorkflowsQuery, 'complete'>;

/**
 * The list's result once it is loaded: its data (denied cells null) and, when a gate
 * denied some of it, `error` with the FORBIDDEN errors. Rejects when there is no data (a
 * network error, a refused token).
 */
export async function settled(list: WorkflowList): Promise<LoadedList> {
  const result = await firstValueFrom(list.pipe(filter((r) => !r.loading)));
  if (result.dataState !== 'complete') throw asError(result.error, 'no workflows');
  return result;
}

/**
 * Fetches the page after the last one loaded and appends it to the list; undefined when
 * there is none. Answers the page alone, with its own errors: their paths index the
 * page's edges, not the list's.
 */
export async function loadNextPage(
  list: WorkflowList,
): Promise<ApolloClient.QueryResult<WorkflowsQuery> | undefined> {
  const current = await settled(list);
  const { pageInfo } = current.data.workflows;
  if (!pageInfo.hasNextPage || !pageInfo.endCursor) return undefined;
  return list.fetchMore({ variables: { after: pageInfo.endCursor }, errorPolicy: 'all' });
}
