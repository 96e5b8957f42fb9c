/**
 * Appends events to a tenant's chain inside the caller's transaction (a mutation's own
 * write transaction, or the transaction that records an operation's denials and reads),
 * so the events commit — or roll back — with it.
 *
 * Two statements: the first locks the tenant's chain head (creating it at seq 0) and reads
 * the database clock; the events are then numbered and hashed here, and the second inserts
 * them, moves the head and sends `NOTIFY gatehouse_audit, '<tenant>:<seq>'`, which
 * PostgreSQL delivers only when the transaction commits. The lock is held to the commit:
 * appends of one tenant are serialised (gapless, in commit order), other tenants' heads
 * are other rows.
 */
import { randomUUID } from 'node:crypto';
import type { TenantTx } from '../data/TenantDatabase.js';
import { API_KEY_IN_TEXT } from '../authn/apiKeys.js';
import { inSpan } from '../observability/spans.js';
import type { AuditEvent, AuditEventInput, JsonValue } from './AuditEvent.js';
import { chainHash } from './auditHash.js';

/** Appends events in a transaction (appendAuditEvents; benchmarks inject others). */
export interface AuditAppender {
  append(tx: TenantTx, tenantId: string, events: readonly AuditEventInput[]): Promise<unknown>;
}

/** The channel of the live feed's notifications (payload `<tenant id>:<head seq>`). */
export const AUDIT_CHANNEL = 'gatehouse_audit';

/** Where API_KEY_IN_TEXT could match (its prefix, any case). */
const MAYBE_API_KEY = /ghk_/i;

/**
 * Text as PostgreSQL stores it: no NUL, no lone surrogates (both would be stored
 * differently from what was hashed, or refused). A replacement character stands in. And
 * never an API key, wherever a client put one (an id argument, a name): `[redacted]`.
 */
function storable<T extends JsonValue>(value: T): T {
  if (typeof value === 'string') {
    // (Most text needs nothing: tested before anything is copied.)
    if (value.isWellFormed() && !value.includes('\u0000') && !MAYBE_API_KEY.test(value)) {
      return value;
    }
    return value
      .toWellFormed()
      .replaceAll('\u0000', '\uFFFD')
      .replace(API_KEY_IN_TEXT, '[redacted]') as T;
  }
  if (Array.isArray(value)) return value.map((v: JsonValue) => storable(v)) as unknown as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [storable(k), storable(v)]),
    ) as T;
  }
  return value;
}

function sanitised(input: AuditEventInput): AuditEventInput {
  return storable(input as unknown as JsonValue) as unknown as AuditEventInput;
}

/**
 * Locks the tenant's chain head until the transaction ends (creating it at seq 0 and the
 * genesis hash for a tenant without events) and reads the database clock.
 */
export async function lockChainHead(
  tx: TenantTx,
  tenantId: string,
): Promise<{ seq: number; hash: string; now: Date }> {
  const [head] = await tx.$queryRawUnsafe<Array<{ seq: bigint; hash: string; now: Date }>>(
    `insert into audit_chain_heads (tenant_id) values ($1::uuid)
     on conflict (tenant_id) do update set tenant_id = excluded.tenant_id
     returning seq, hash, date_trunc('milliseconds', clock_timestamp()) as now`,
    tenantId,
  );
  if (!head) throw new Error('lockChainHead: the chain head did not answer');
  return { seq: Number(head.seq), hash: head.hash, now: head.now };
}

export function appendAuditEvents(
  tx: TenantTx,
  tenantId: string,
  inputs: readonly AuditEventInput[],
): Promise<AuditEvent[]> {
  if (inputs.length === 0) return Promise.resolve([]);
  return inSpan(
    'audit append',
    { attributes: { 'gatehouse.tenant.id': tenantId, 'gatehouse.audit.events': inputs.length } },
    () => append(tx, tenantId, inputs),
  );
}

async function append(
  tx: TenantTx,
  tenantId: string,
  inputs: readonly AuditEventInput[],
): Promise<AuditEvent[]> {
  const head = await lockChainHead(tx, tenantId);
  let prevHash = head.hash;
  let seq = head.seq;
  const events: AuditEvent[] = inputs.map((input) => {
    seq += 1;
    const unhashed = { ...sanitised(input), tenantId, seq, id: randomUUID(), occurredAt: head.now };
    const hash = chainHash(prevHash, unhashed);
    const event = { ...unhashed, prevHash, hash };
    prevHash = hash;
    return event;
  });
  await tx.$executeRawUnsafe(
    `with input as (
       select * from jsonb_to_recordset($2::jsonb) as e(
         seq bigint, id uuid, actor_subject text, actor_user_id uuid, actor_kind text,
         actor_ip text, action text, resource_type text, resource_id text, outcome text,
         gate text, reasons jsonb, request_id text, trace_id text, decisions jsonb,
         changes jsonb, prev_hash text, hash text)
     ), inserted as (
       insert into audit_events (tenant_id, seq, id, occurred_at, actor_subject, actor_user_id,
         actor_kind, actor_ip, action, resource_type, resource_id, outcome, gate, reasons,
         request_id, trace_id, decision_ids, decisions, changes, prev_hash, hash)
       select $1::uuid, seq, id, $3::timestamptz, actor_subject, actor_user_id, actor_kind,
              actor_ip, action, resource_type, resource_id, outcome, gate,
              array(select jsonb_array_elements_text(reasons)), request_id, trace_id,
              array(select d ->> 'id' from jsonb_array_elements(decisions) d), decisions,
              changes, prev_hash, hash
         from input
       returning seq
     ), head as (
       update audit_chain_heads set seq = $4, hash = $5 where tenant_id = $1::uuid returning seq
     )
     -- (Data-modifying CTEs run whether or not they are read.)
     select pg_notify('${AUDIT_CHANNEL}', $1 || ':' || head.seq::text) from head`,
    tenantId,
    JSON.stringify(events.map(toRow)),
    head.now,
    seq,
    prevHash,
  );
  return events;
}

function toRow(e: AuditEvent): Record<string, unknown> {
  return {
    seq: e.seq,
    id: e.id,
    actor_subject: e.actor.subject,
    actor_user_id: e.actor.userId,
    actor_kind: e.actor.kind,
    actor_ip: e.actor.ip,
    action: e.action,
    resource_type: e.resource?.type ?? null,
    resource_id: e.resource?.id ?? null,
    outcome: e.outcome,
    gate: e.gate,
    reasons: e.reasons,
    request_id: e.requestId,
    trace_id: e.traceId,
    decisions: e.decisions,
    changes: e.changes,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}
