import type { Resolvers } from '../../generated/graphql.js';
import type { AuditEvent } from '../../audit/AuditEvent.js';
import { signChainHead } from '../../audit/AuditCheckpoint.js';
import type { AuditFilter } from '../../audit/AuditFilter.js';
import {
  listCheckpoints,
  listEvents,
  readChainHead,
  type AuditQuery,
  type SeqPage,
} from '../../audit/auditRows.js';
import { verifyAuditChain } from '../../audit/verifyAuditChain.js';
import type { TenantTx } from '../../data/TenantDatabase.js';
import { requireId } from '../../domain/inputValidation.js';
import { badUserInput } from '../../errors/clientErrors.js';
import { decodeSeqCursor, encodeSeqCursor } from '../cursor.js';
import { checkedPage, connectionFieldsOf, pageRequest, type PageRequest } from './paging.js';
import { requireData } from './requireData.js';

const NAME = /^[a-z][a-z0-9_.]{0,99}$/;

function queryOf(tx: TenantTx): AuditQuery {
  return (sql, params) => tx.$queryRawUnsafe(sql, ...params);
}

/** An `AuditEventFilter` checked field by field (BAD_USER_INPUT names the field). */
function auditFilter(input: Record<string, unknown> | null | undefined): AuditFilter {
  if (!input) return {};
  const name = (field: string): string | undefined => {
    const value = input[field];
    if (value === null || value === undefined) return undefined;
    if (typeof value !== 'string' || !NAME.test(value)) {
      throw badUserInput(`filter.${field} must be a lowercase dotted name`, {
        field: `filter.${field}`,
      });
    }
    return value;
  };
  const id = (field: string): string | undefined => {
    const value = input[field];
    return typeof value === 'string' ? requireId(value, `filter.${field}`) : undefined;
  };
  const resourceId = input['resourceId'];
  if (typeof resourceId === 'string' && (resourceId.length < 1 || resourceId.length > 200)) {
    throw badUserInput('filter.resourceId must be 1 to 200 characters', {
      field: 'filter.resourceId',
    });
  }
  return {
    actorUserId: id('actorUserId'),
    action: name('action'),
    resourceType: name('resourceType'),
    resourceId: typeof resourceId === 'string' ? resourceId.toLowerCase() : undefined,
    outcome: input['outcome'] as AuditFilter['outcome'],
    decisionId: id('decisionId'),
    since: input['since'] as Date | undefined,
    until: input['until'] as Date | undefined,
  };
}

function requireSeq(value: number | null | undefined, argument: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) {
    throw badUserInput(`${argument} must be a non-negative integer`, { argument });
  }
  return value;
}

/** The audit lists page by seq: the SQL page of a Relay page request. */
function seqPage(request: PageRequest<number>): SeqPage {
  return {
    from: request.cursor,
    towards: request.direction === 'forward' ? 'older' : 'newer',
    limit: request.size + 1,
  };
}

const bySeq = (node: { readonly seq: number }): string => encodeSeqCursor(node.seq);

export const auditResolvers: Resolvers = {
  Query: {
    auditEvents: async (_parent, args, ctx) => {
      const data = requireData(ctx);
      const request = pageRequest(args, decodeSeqCursor);
      const filter = auditFilter(args.filter);
      const rows = await listEvents(
        queryOf(await data.tx()),
        data.tenantId,
        filter,
        seqPage(request),
      );
      return checkedPage(rows, request);
    },
    verifyAuditChain: async (_parent, args, ctx) => {
      const data = requireData(ctx);
      const fromSeq = requireSeq(args.fromSeq, 'fromSeq');
      const toSeq = requireSeq(args.toSeq, 'toSeq');
      if (fromSeq !== undefined && toSeq !== undefined && fromSeq > toSeq) {
        throw badUserInput('fromSeq must not be after toSeq', { argument: 'fromSeq' });
      }
      return verifyAuditChain(queryOf(await data.tx()), data.tenantId, { fromSeq, toSeq });
    },
    auditCheckpoints: async (_parent, args, ctx) => {
      const data = requireData(ctx);
      const request = pageRequest(args, decodeSeqCursor);
      const rows = await listCheckpoints(queryOf(await data.tx()), data.tenantId, seqPage(request));
      return checkedPage(rows, request);
    },
  },
  Mutation: {
    createAuditCheckpoint: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, async (tx, actor) => {
        const checkpoint = await signChainHead(tx, actor.tenantId, ctx.auditSigner);
        return {
          value: checkpoint,
          resource: { type: 'audit', id: null },
          changes: {
            checkpoint: { before: null, after: { seq: checkpoint.seq, hash: checkpoint.hash } },
          },
        };
      }),
  },
  Subscription: {
    auditEvents: {
      // Positioned inside the subscribe step's own transaction; the events are then read by
      // the feed, after that transaction has closed.
      subscribe: async (_parent, args, ctx) => {
        const data = requireData(ctx);
        const filter = auditFilter(args.filter);
        const afterSeq =
          requireSeq(args.afterSeq, 'afterSeq') ??
          (await readChainHead(queryOf(await data.tx()), data.tenantId)).seq;
        return ctx.auditFeed.subscribe(data.tenantId, afterSeq, filter);
      },
      // Each event is resolved (and authorised again) in an operation scope of its own.
      resolve: (event: AuditEvent) => event,
    },
  },
  AuditEventConnection: connectionFieldsOf(bySeq),
  AuditCheckpointConnection: connectionFieldsOf(bySeq),
  AuditCheckpoint: {
    id: (checkpoint) => `audit-checkpoint:${checkpoint.tenantId}:${checkpoint.seq}`,
  },
  AuditEvent: {
    seq: (e) => e.seq,
    decisionIds: (e) => e.decisions.map((d) => d.id),
    decisions: (e) => [...e.decisions],
    reasons: (e) => [...e.reasons],
  },
  AuditActor: {
    kind: (a) => (a.kind === 'user' ? 'USER' : a.kind === 'service' ? 'SERVICE' : 'SYSTEM'),
  },
  AuditDecision: {
    reasons: (d) => [...d.reasons],
  },
};
