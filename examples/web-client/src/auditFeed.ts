/**
 * The live audit feed (organisation admins and auditors: `view_audit`). It starts from the
 * newest event's seq, so every event written after that arrives, however long the socket
 * takes to subscribe: with `afterSeq` Gatehouse sends the stored events after it first,
 * then live ones, without a gap or a duplicate.
 */
import type { ApolloClient } from '@apollo/client';
import type { Subscription } from 'rxjs';
import type { AuditEventFilter, AuditFeedSubscription } from './gql/graphql.js';
import { asError } from './errors.js';
import { AuditFeedSubscription as AuditFeedDocument, AuditHeadQuery } from './operations.js';

export type AuditFeedEvent = AuditFeedSubscription['auditEvents'];

/** The seq of the organisation's newest event (0 before the first). */
export async function auditHead(apollo: ApolloClient): Promise<number> {
  const { data, error } = await apollo.query({ query: AuditHeadQuery, fetchPolicy: 'no-cache' });
  // An error is FORBIDDEN when the caller may not read the trail (`view_audit`).
  if (!data || error) throw asError(error, 'no audit head');
  return data.auditEvents.edges[0]?.node.seq ?? 0;
}

export interface AuditFeedHandlers {
  readonly onEvent: (event: AuditFeedEvent) => void;
  /**
   * The feed ended: refused or revoked (a GraphQL error such as FORBIDDEN), the socket
   * closed (4401 when the token expired), or the server completed it.
   */
  readonly onEnd: (error?: unknown) => void;
}

/** Subscribes to the events after `afterSeq` (matching `filter`); unsubscribe to stop. */
export function watchAuditFeed(
  apollo: ApolloClient,
  afterSeq: number,
  handlers: AuditFeedHandlers,
  eventFilter?: AuditEventFilter,
): Subscription {
  return apollo
    .subscribe({
      query: AuditFeedDocument,
      variables: { afterSeq, ...(eventFilter ? { filter: eventFilter } : {}) },
    })
    .subscribe({
      next: ({ data, error }) => {
        if (data) handlers.onEvent(data.auditEvents);
        if (error) handlers.onEnd(error);
      },
      error: (error: unknown) => handlers.onEnd(error),
      complete: () => handlers.onEnd(),
    });
}

export interface AuditFeedRecording {
  /** The events received so far, in seq order. */
  readonly events: readonly AuditFeedEvent[];
  /**
   * The first event `match` accepts, received already or later: an event may arrive before
   * the answer of the mutation that wrote it. Rejects when the feed ends or after `timeoutMs`.
   */
  waitFor(match: (event: AuditFeedEvent) => boolean, timeoutMs?: number): Promise<AuditFeedEvent>;
  stop(): void;
}

/** Watches the feed after `afterSeq`, keeping every event (see `waitFor`). */
export function recordAuditFeed(
  apollo: ApolloClient,
  afterSeq: number,
  eventFilter?: AuditEventFilter,
): AuditFeedRecording {
  const events: AuditFeedEvent[] = [];
  const waiters = new Set<() => void>();
  let ended: { error: unknown } | undefined;
  const subscription = watchAuditFeed(
    apollo,
    afterSeq,
    {
      onEvent: (event) => {
        events.push(event);
        for (const wake of waiters) wake();
      },
      onEnd: (error) => {
        ended = { error };
        for (const wake of waiters) wake();
      },
    },
    eventFilter,
  );
  return {
    events,
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = (): void => {
          const event = events.find(match);
          if (event) {
            done();
            resolve(event);
          } else if (ended) {
            done();
            reject(ended.error instanceof Error ? ended.error : new Error('the audit feed ended'));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching audit event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => subscription.unsubscribe(),
  };
}
