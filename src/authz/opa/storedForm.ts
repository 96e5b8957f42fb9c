/**
 * The form in which an object "as stored" is given to a policy (`input.resource`): its
 * scalar columns as JSON — dates as ISO-8601, decimals as exact strings. Bytes (such as a
 * credential's ciphertext), nested objects and functions are left out: a policy judges
 * what an object is, and never needs, or gets, secret material.
 */
import { Prisma } from '../../generated/prisma/client.js';

type Json = string | number | boolean | null | Json[];

function scalar(value: unknown): Json | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (Prisma.Decimal.isDecimal(value)) return value.toString();
  if (Array.isArray(value)) {
    const items = value.map(scalar);
    return items.every((i): i is Json => i !== undefined) ? items : undefined;
  }
  return undefined;
}

/** The stored form of a row, or null when `value` is not an object. */
export function storedForm(value: unknown): Record<string, Json> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  if (value instanceof Uint8Array || value instanceof Date) return null;
  const out: Record<string, Json> = {};
  for (const [key, v] of Object.entries(value)) {
    const s = scalar(v);
    if (s !== undefined) out[key] = s;
  }
  return out;
}
