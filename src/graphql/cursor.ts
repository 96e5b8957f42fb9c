/**
 * Opaque keyset cursors for lists ordered by (createdAt desc, id desc). A cursor says where
 * a page ends, never what a caller may see: RLS and authorization still apply to the next
 * page. Malformed cursors are BAD_USER_INPUT.
 */
import { badUserInput } from '../errors/clientErrors.js';

export interface CursorPosition {
  readonly createdAt: Date;
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// The form encodeCursor writes, in years 0001–9999: `Date` also accepts years PostgreSQL
// cannot compare with (e.g. negative ones), which would otherwise fail in the database.
const TIMESTAMP = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(position: CursorPosition): string {
  // The JSON array `["<ISO time>","<uuid>"]`, written without JSON.stringify (one per row of
  // every page): neither part can hold a character JSON would escape.
  const json = `["${position.createdAt.toISOString()}","${position.id}"]`;
  return Buffer.from(json, 'latin1').toString('base64url');
}

/** `argument`: the argument the cursor came in (`after` or `before`), named in the error. */
export function decodeCursor(cursor: string, argument = 'after'): CursorPosition {
  try {
    if (cursor.length > 200) throw new Error('too long');
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string'
    ) {
      const createdAt = new Date(value[0]);
      if (
        TIMESTAMP.test(value[0]) &&
        !Number.isNaN(createdAt.getTime()) &&
        createdAt.toISOString() === value[0] &&
        UUID.test(value[1])
      )
        return { createdAt, id: value[1] };
    }
  } catch {
    // fall through: every malformed cursor gets the same answer
  }
  throw badUserInput('Invalid cursor', { argument });
}

/** Cursors of lists ordered by a sequence number (the audit trail, newest first). */
export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

export function decodeSeqCursor(cursor: string, argument = 'after'): number {
  const match =
    cursor.length <= 40
      ? /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
      : null;
  const seq = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(seq) || encodeSeqCursor(seq) !== cursor) {
    throw badUserInput('Invalid cursor', { argument });
  }
  return seq;
}
