/**
 * The normalised cache. Objects with an `id` are stored once whatever query fetched them;
 * the workflow list is one Relay connection the pages are merged into.
 */
import { InMemoryCache } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';

export function createCache(): InMemoryCache {
  return new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // `first`/`after` (and `last`/`before`) choose a page, `filter` chooses the list:
          // pages of one filter are appended into one list (edges in order, `pageInfo` of
          // the ends, `totalCount` kept), so `fetchMore({ variables: { after } })` grows
          // the list every watcher of the query sees.
          workflows: relayStylePagination(['filter']),
        },
      },
    },
  });
}
