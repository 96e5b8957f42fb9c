/**
 * Reading the audit tables: one column list and one row mapping for everything that reads
 * events (the API, the live feed, verification, export), over any connection that runs a
 * parameterised query — a tenant transaction (RLS: the caller's tenant only) or the
 * operator CLI's owner connection.
 */
import {
  GENESIS_HASH,
  type ActorKind,
  type AuditDecision,
  type AuditEvent,
  type AuditOutcome,
  type FieldChanges,
} from './AuditEvent.js';
import { filterConditions, type AuditFilter } from './AuditFilter.js';
import {
  CHECKPOINT_COLUMNS,
  checkpointFromRow,
  type AuditCheckpoint,
  type CheckpointRow,
} from './AuditCheckpoint.js';

/** Runs one parameterised statement and returns its rows. */
export type AuditQuery = <Row extends Record<string, unknown>>(
  sql: string,
  params: readonly unknown[],
) => Promise<Row[]>;

export const EVENT_COLUMNS = `tenant_id, seq, id, occurred_at, actor_subject, actor_user_id,
  actor_kind, actor_ip, action, resource_type, resource_id, outcome, gate, reasons, request_id,
  trace_id, decisions, changes, prev_hash, hash`;

export interface AuditEventRow extends Record<string, unknown> {
  tenant_id: string;
  seq: bigint | number | string;
  id: string;
  occurred_at: Date | string;
  actor_subject: string | null;
  actor_user_id: string | null;
  actor_kind: string;
  actor_ip: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  gate: string | null;
  reasons: string[];
  request_id: string | null;
  trace_id: string | null;
  decisions: unknown;
  changes: unknown;
  prev_hash: string;
  hash: string;
}

export function eventFromRow(row: AuditEventRow): AuditEvent {
  return {
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    id: row.id,
    occurredAt: new Date(row.occurred_at),
    actor: {
      subject: row.actor_subject,
      userId: row.actor_user_id,
      kind: row.actor_kind as ActorKind,
      ip: row.actor_ip,
    },
    action: row.action,
    resource: row.resource_type === null ? null : { type: row.resource_type, id: row.resource_id },
    outcome: row.outcome as AuditOutcome,
    gate: row.gate,
    reasons: row.reasons,
    requestId: row.request_id,
    traceId: row.trace_id,
    decisions: parsed(row.decisions) as AuditDecision[],
    changes: parsed(row.changes) as FieldChanges | null,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** jsonb arrives parsed from node-postgres and Prisma, as text from some drivers. */
function parsed(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

/** Events of a tenant after `afterSeq`, oldest first, at most `limit`. */
export async function readEventsAfter(
  query: AuditQuery,
  tenantId: string,
  afterSeq: number,
  limit: number,
  untilSeq: number = Number.MAX_SAFE_INTEGER,
): Promise<AuditEvent[]> {
  const rows = await query<AuditEventRow>(
    `select ${EVENT_COLUMNS} from audit_events
      where tenant_id = $1::uuid and seq > $2 and seq <= $3 order by seq limit $4`,
    [tenantId, afterSeq, untilSeq, limit],
  );
  return rows.map(eventFromRow);
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** The tenant's chain head (seq 0 and the genesis hash before the first event). */
export async function readChainHead(query: AuditQuery, tenantId: string): Promise<ChainHead> {
  const rows = await query<{ seq: bigint | number | string; hash: string }>(
    'select seq, hash from audit_chain_heads where tenant_id = $1::uuid',
    [tenantId],
  );
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
}

/**
 * Where a page of a list ordered by seq starts: after `from` (exclusive; null: at the
 * newest, or at the oldest), towards `older` seqs (newest first) or `newer` ones (oldest
 * first — a backward page, which the caller reverses).
 */
export interface SeqPage {
  readonly from: number | null;
  readonly towards: 'older' | 'newer';
  readonly limit: number;
}

function seqCondition(page: SeqPage, params: unknown[]): string | null {
  if (page.from === null) return null;
  params.push(page.from);
  return `seq ${page.towards === 'older' ? '<' : '>'} $${params.length}`;
}

function seqOrder(page: SeqPage): string {
  return page.towards === 'older' ? 'seq desc' : 'seq asc';
}

/** Events of a tenant matching `filter`, one page in the order `page` says. */
export async function listEvents(
  query: AuditQuery,
  tenantId: string,
  filter: AuditFilter,
  page: SeqPage,
): Promise<AuditEvent[]> {
  const params: unknown[] = [tenantId];
  const where = ['tenant_id = $1::uuid', ...filterConditions(filter, params)];
  const position = seqCondition(page, params);
  if (position) where.push(position);
  params.push(page.limit);
  const rows = await query<AuditEventRow>(
    `select ${EVENT_COLUMNS} from audit_events where ${where.join(' and ')}
      order by ${seqOrder(page)} limit $${params.length}`,
    params,
  );
  return rows.map(eventFromRow);
}

/** A tenant's checkpoints, one page in the order `page` says. */
export async function listCheckpoints(
  query: AuditQuery,
  tenantId: string,
  page: SeqPage,
): Promise<AuditCheckpoint[]> {
  const params: unknown[] = [tenantId];
  const position = seqCondition(page, params);
  params.push(page.limit);
  const rows = await query<CheckpointRow>(
    `select ${CHECKPOINT_COLUMNS} from audit_checkpoints
      where tenant_id = $1::uuid${position ? ` and ${position}` : ''}
      order by ${seqOrder(page)} limit $${params.length}`,
    params,
  );
  return rows.map(checkpointFromRow);
}
