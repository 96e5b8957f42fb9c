/**
 * The NDJSON form of a tenant's trail, so it can be checked outside Gatehouse (and kept
 * where no database administrator can reach it). One JSON object per line:
 *
 *   {"type":"head","tenantId":…,"seq":…,"hash":…}          the chain head when exported
 *   {"type":"event",…,"prevHash":…,"hash":…}                one per event, in seq order
 *   {"type":"checkpoint","tenantId":…,"seq":…,"hash":…,"signedAt":…,"keyId":…,"signature":…}
 *
 * An event line is the event's hashed form (auditHash.ts) plus `type`, `prevHash` and
 * `hash`: drop those three members and hash(n) = SHA-256(prevHash ‖ JCS(the rest)).
 */
import type { AuditEvent } from './AuditEvent.js';
import type { AuditCheckpoint } from './AuditCheckpoint.js';
import { AUDIT_HASH_VERSION, hashedForm } from './auditHash.js';
import type { ChainHead } from './auditRows.js';

export function headLine(tenantId: string, head: ChainHead): string {
  return JSON.stringify({ type: 'head', tenantId, seq: head.seq, hash: head.hash });
}

export function eventLine(e: AuditEvent): string {
  return JSON.stringify({
    type: 'event',
    ...(hashedForm(e) as Record<string, unknown>),
    prevHash: e.prevHash,
    hash: e.hash,
  });
}

export function checkpointLine(c: AuditCheckpoint): string {
  return JSON.stringify({ type: 'checkpoint', ...c, signedAt: c.signedAt.toISOString() });
}

export interface ExportedTrail {
  readonly heads: ReadonlyMap<string, ChainHead>;
  readonly events: ReadonlyMap<string, AuditEvent[]>;
  readonly checkpoints: ReadonlyMap<string, AuditCheckpoint[]>;
}

export class ExportFormatError extends Error {
  override readonly name = 'ExportFormatError';
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Reads NDJSON lines written by audit:export (events and checkpoints of any tenants). */
export function parseExport(text: string): ExportedTrail {
  const heads = new Map<string, ChainHead>();
  const events = new Map<string, AuditEvent[]>();
  const checkpoints = new Map<string, AuditCheckpoint[]>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ExportFormatError(`line ${index + 1}: not JSON`);
    }
    const tenantId = value['tenantId'];
    if (typeof tenantId !== 'string') throw new ExportFormatError(`line ${index + 1}: no tenantId`);
    switch (value['type']) {
      case 'head':
        heads.set(tenantId, { seq: Number(value['seq']), hash: String(value['hash']) });
        break;
      case 'event': {
        const { type: _type, v, occurredAt, ...rest } = value;
        if (v !== AUDIT_HASH_VERSION) {
          throw new ExportFormatError(`line ${index + 1}: event format v${String(v)} is not known`);
        }
        push(events, tenantId, {
          ...rest,
          occurredAt: new Date(String(occurredAt)),
        } as unknown as AuditEvent);
        break;
      }
      case 'checkpoint': {
        const { type: _type, signedAt, ...rest } = value;
        push(checkpoints, tenantId, {
          ...rest,
          signedAt: new Date(String(signedAt)),
        } as unknown as AuditCheckpoint);
        break;
      }
      default:
        throw new ExportFormatError(`line ${index + 1}: unknown type`);
    }
  }
  for (const list of events.values()) list.sort((a, b) => a.seq - b.seq);
  return { heads, events, checkpoints };
}
