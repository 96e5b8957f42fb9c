/**
 * What a domain command changed, for its mutation's audit event (gate 5): the object and
 * its fields before → after. Values are JSON (decimals as exact strings, dates as ISO
 * strings) and never secret material.
 */
import type { FieldChanges, JsonValue } from '../audit/AuditEvent.js';

export interface Changed<T> {
  readonly value: T;
  readonly resource: { readonly type: string; readonly id: string | null };
  readonly changes: FieldChanges | null;
}

/** Stands for secret material in a change: that it changed, never what it is. */
export const REDACTED = '[redacted]';

/** A stored value as JSON: exact decimals, ISO dates, arrays element by element. */
export function jsonOf(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonOf);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'object':
      // Prisma.Decimal: its exact text (toFixed without digits does not round).
      if ('toFixed' in value && typeof value.toFixed === 'function') {
        return (value as { toFixed(): string }).toFixed();
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonOf(v)]));
    case 'function':
    case 'symbol':
    case 'undefined':
      break;
  }
  return null;
}

/** The named fields whose value differs between `before` and `after` (null: absent). */
export function diff<T extends object>(
  before: T | null,
  after: T | null,
  fields: ReadonlyArray<keyof T>,
): FieldChanges {
  const changes: Record<string, { before: JsonValue; after: JsonValue }> = {};
  for (const field of fields) {
    const b = jsonOf(before?.[field]);
    const a = jsonOf(after?.[field]);
    if (JSON.stringify(b) !== JSON.stringify(a)) changes[String(field)] = { before: b, after: a };
  }
  return changes;
}
