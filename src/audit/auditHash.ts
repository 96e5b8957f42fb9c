/**
 * The hash chain of a tenant's audit trail:
 *
 *   hash(n) = SHA-256( prev_hash ‖ JCS(event n) ),  prev_hash of seq 1 = 32 zero bytes
 *
 * where `prev_hash` is the previous event's hash as 32 raw bytes, `‖` is concatenation and
 * JCS(event) the UTF-8 bytes of the event's canonical JSON (RFC 8785, canonicalJson.ts)
 * with exactly these members (`v` is this format's version):
 *
 *   { v: 1, tenantId, seq, id, occurredAt (ISO 8601, milliseconds, Z), actor { subject,
 *     userId, kind, ip }, action, resource { type, id } | null, outcome, gate, reasons,
 *     requestId, traceId, decisions [ { id, gate, code, field, reasons } ], changes }
 *
 * Hashes are written as 64 lowercase hex digits. A verifier in another language needs
 * only this comment, SHA-256 and a JCS implementation.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, JsonValue } from './AuditEvent.js';
import { canonicalJson } from './canonicalJson.js';

export const AUDIT_HASH_VERSION = 1;

/** The members of an event that its hash covers (everything but the hashes themselves). */
export function hashedForm(event: Omit<AuditEvent, 'prevHash' | 'hash'>): JsonValue {
  return {
    v: AUDIT_HASH_VERSION,
    tenantId: event.tenantId,
    seq: event.seq,
    id: event.id,
    occurredAt: event.occurredAt.toISOString(),
    actor: {
      subject: event.actor.subject,
      userId: event.actor.userId,
      kind: event.actor.kind,
      ip: event.actor.ip,
    },
    action: event.action,
    resource: event.resource ? { type: event.resource.type, id: event.resource.id } : null,
    outcome: event.outcome,
    gate: event.gate,
    reasons: [...event.reasons],
    requestId: event.requestId,
    traceId: event.traceId,
    decisions: event.decisions.map((d) => ({
      id: d.id,
      gate: d.gate,
      code: d.code,
      field: d.field,
      reasons: [...d.reasons],
    })),
    changes: event.changes,
  };
}

export function chainHash(prevHash: string, event: Omit<AuditEvent, 'prevHash' | 'hash'>): string {
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalJson(hashedForm(event)), 'utf8')
    .digest('hex');
}
