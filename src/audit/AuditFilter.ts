/**
 * Which events an auditor asks for (`AuditEventFilter`), as SQL for the stored trail and as
 * a predicate for the live feed — the same meaning both ways. Applied on the server: a
 * subscriber never receives an event outside its filter.
 */
import type { AuditEvent, AuditOutcome } from './AuditEvent.js';

export interface AuditFilter {
  readonly actorUserId?: string | null | undefined;
  /** An action, or a prefix ending in `.` (`workflow.` matches `workflow.create`, …). */
  readonly action?: string | null | undefined;
  readonly resourceType?: string | null | undefined;
  readonly resourceId?: string | null | undefined;
  readonly outcome?: AuditOutcome | null | undefined;
  readonly decisionId?: string | null | undefined;
  /** Inclusive. */
  readonly since?: Date | null | undefined;
  /** Exclusive. */
  readonly until?: Date | null | undefined;
}

function isPrefix(action: string): boolean {
  return action.endsWith('.');
}

export function matchesFilter(filter: AuditFilter, e: AuditEvent): boolean {
  const f = filter;
  if (f.actorUserId && e.actor.userId !== f.actorUserId) return false;
  if (f.action && (isPrefix(f.action) ? !e.action.startsWith(f.action) : e.action !== f.action))
    return false;
  if (f.resourceType && e.resource?.type !== f.resourceType) return false;
  if (f.resourceId && e.resource?.id !== f.resourceId) return false;
  if (f.outcome && e.outcome !== f.outcome) return false;
  if (f.decisionId && !e.decisions.some((d) => d.id === f.decisionId)) return false;
  if (f.since && e.occurredAt < f.since) return false;
  if (f.until && e.occurredAt >= f.until) return false;
  return true;
}

/**
 * The filter as SQL conditions on `audit_events`, with its parameters numbered from
 * `params.length + 1` (appended to `params`). Prefixes are matched with `LIKE` on an
 * escaped pattern, so `%` and `_` in an action match only themselves.
 */
export function filterConditions(filter: AuditFilter, params: unknown[]): string[] {
  const where: string[] = [];
  const param = (value: unknown, cast = ''): string => {
    params.push(value);
    return `$${params.length}${cast}`;
  };
  const f = filter;
  if (f.actorUserId) where.push(`actor_user_id = ${param(f.actorUserId, '::uuid')}`);
  if (f.action) {
    where.push(
      isPrefix(f.action)
        ? `action like ${param(`${f.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`
        : `action = ${param(f.action)}`,
    );
  }
  if (f.resourceType) where.push(`resource_type = ${param(f.resourceType)}`);
  if (f.resourceId) where.push(`resource_id = ${param(f.resourceId)}`);
  if (f.outcome) where.push(`outcome = ${param(f.outcome)}`);
  if (f.decisionId) {
    // (`<> '{}'` is the predicate of the partial index on decision ids.)
    where.push(`decision_ids <> '{}' and decision_ids @> array[${param(f.decisionId)}::text]`);
  }
  if (f.since) where.push(`occurred_at >= ${param(f.since, '::timestamptz')}`);
  if (f.until) where.push(`occurred_at < ${param(f.until, '::timestamptz')}`);
  return where;
}
