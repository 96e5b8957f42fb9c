/** Keyset paging shared by the lists ordered by (createdAt desc, id desc). */
import { badUserInput } from '../../errors/clientErrors.js';
import { decodeCursor, encodeCursor, type CursorPosition } from '../cursor.js';

export const MAX_PAGE = 100;

export function requirePageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw badUserInput(`first must be between 1 and ${MAX_PAGE}`, { argument: 'first' });
  }
  return first;
}

/** The rows after the cursor's position (all rows without a cursor). */
export function after(cursor: string | null | undefined): {
  OR?: Array<{ createdAt: { lt: Date } } | { createdAt: Date; id: { lt: string } }>;
} {
  if (!cursor) return {};
  const position = decodeCursor(cursor);
  return {
    OR: [
      { createdAt: { lt: position.createdAt } },
      { createdAt: position.createdAt, id: { lt: position.id } },
    ],
  };
}

export const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

/**
 * A page from `first + 1` rows fetched in order: the relationship check (`keep`, when the
 * list has one) filters the page, while the cursor still ends at the last row fetched, so
 * the next page starts after it even when the check removed that row.
 */
export async function checkedPage<T extends CursorPosition>(
  rows: readonly T[],
  first: number,
  keep?: (page: readonly T[]) => Promise<readonly T[]>,
): Promise<{ nodes: readonly T[]; hasNextPage: boolean; end: T | null }> {
  const page = rows.slice(0, first);
  return {
    nodes: keep ? await keep(page) : page,
    hasNextPage: rows.length > first,
    end: page.at(-1) ?? null,
  };
}

/** `edges` and `pageInfo` of a connection model. */
export const connectionFields = {
  edges: <T extends CursorPosition>(conn: { nodes: readonly T[] }) =>
    conn.nodes.map((node) => ({ node, cursor: encodeCursor(node) })),
  pageInfo: (conn: { hasNextPage: boolean; end: CursorPosition | null }) => ({
    hasNextPage: conn.hasNextPage,
    endCursor: conn.end ? encodeCursor(conn.end) : null,
  }),
};
