/**
 * Relay cursor paging (https://relay.dev/graphql/connections.htm) shared by every list:
 * `first`/`after` pages towards older items, `last`/`before` towards newer ones, and the
 * page is always returned newest first. Keyset paging: a cursor names a position in the
 * order, never a row a caller may see, so RLS and authorization apply to every page.
 */
import { Prisma } from '../../generated/prisma/client.js';
import { badUserInput } from '../../errors/clientErrors.js';
import { decodeCursor, encodeCursor, type CursorPosition } from '../cursor.js';
import type { PageModel } from '../models.js';

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

/** The paging arguments of a connection field, as graphql-js passes them. */
export interface PagingArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
}

/** What a client asked for: `size` items from `cursor` (exclusive) in `direction`. */
export interface PageRequest<C> {
  /** `forward`: older items than the cursor (`first`/`after`); `backward`: newer ones. */
  readonly direction: 'forward' | 'backward';
  readonly size: number;
  readonly cursor: C | null;
}

function pageSize(value: number, argument: 'first' | 'last'): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE) {
    throw badUserInput(`${argument} must be between 1 and ${MAX_PAGE}`, { argument });
  }
  return value;
}

/** A cursor argument that names a position (null and `""` are the list's end). */
function given(cursor: string | null | undefined): cursor is string {
  return cursor != null && cursor !== '';
}

/**
 * Reads the four arguments. One direction per request: `first` or `after` with `last` or
 * `before` is BAD_USER_INPUT (the spec allows the mix but no client needs it, and its
 * answer is easy to misread). A size that is null or absent is {@link DEFAULT_PAGE}.
 */
export function pageRequest<C>(
  args: PagingArgs,
  decode: (cursor: string, argument: 'after' | 'before') => C,
): PageRequest<C> {
  const forward = args.first != null || given(args.after);
  const backward = args.last != null || given(args.before);
  if (forward && backward) {
    const argument = args.last != null ? 'last' : 'before';
    throw badUserInput('Page with `first`/`after` or with `last`/`before`, not both', {
      argument,
    });
  }
  if (backward) {
    return {
      direction: 'backward',
      size: args.last != null ? pageSize(args.last, 'last') : DEFAULT_PAGE,
      cursor: given(args.before) ? decode(args.before, 'before') : null,
    };
  }
  return {
    direction: 'forward',
    size: args.first != null ? pageSize(args.first, 'first') : DEFAULT_PAGE,
    cursor: given(args.after) ? decode(args.after, 'after') : null,
  };
}

/** {@link pageRequest} for the lists ordered by (createdAt desc, id desc). */
export function positionPageRequest(args: PagingArgs): PageRequest<CursorPosition> {
  return pageRequest(args, decodeCursor);
}

type KeysetCondition =
  | { createdAt: { lt: Date } | { gt: Date } }
  | { createdAt: Date; id: { lt: string } | { gt: string } };

/**
 * The Prisma `where` and `orderBy` of a page of a list ordered by (createdAt desc, id
 * desc), and the number of rows to fetch: one more than the page, to know whether more
 * follow. Backward pages are read oldest first from the cursor, then reversed.
 */
export function keyset(request: PageRequest<CursorPosition>): {
  where: { OR?: KeysetCondition[] };
  orderBy: Array<{ createdAt: 'asc' | 'desc' } | { id: 'asc' | 'desc' }>;
  take: number;
} {
  const forward = request.direction === 'forward';
  const order = forward ? ('desc' as const) : ('asc' as const);
  const position = request.cursor;
  const where = position
    ? {
        OR: forward
          ? [
              { createdAt: { lt: position.createdAt } },
              { createdAt: position.createdAt, id: { lt: position.id } },
            ]
          : [
              { createdAt: { gt: position.createdAt } },
              { createdAt: position.createdAt, id: { gt: position.id } },
            ],
      }
    : {};
  return { where, orderBy: [{ createdAt: order }, { id: order }], take: request.size + 1 };
}

/**
 * {@link keyset} as SQL, for a list read by hand (graphql/workflowPage.ts): the condition
 * and order over the `created_at` and `id` columns of the table aliased `alias`, and the
 * number of rows to fetch, and the direction of the order (for an outer query keeping it).
 * The row comparison `(created_at, id) < (…)` is the same as keyset's `OR`; every value is
 * a parameter.
 */
export function keysetSql(
  request: PageRequest<CursorPosition>,
  alias: 'w',
): { where: Prisma.Sql; orderBy: Prisma.Sql; order: 'asc' | 'desc'; limit: number } {
  const forward = request.direction === 'forward';
  const columns = Prisma.raw(`(${alias}.created_at, ${alias}.id)`);
  const position = request.cursor;
  const where = position
    ? Prisma.sql`${columns} ${Prisma.raw(forward ? '<' : '>')} (${position.createdAt}::timestamptz, ${position.id}::uuid)`
    : Prisma.sql`true`;
  const order = forward ? 'desc' : 'asc';
  const orderBy = Prisma.raw(`${alias}.created_at ${order}, ${alias}.id ${order}`);
  return { where, orderBy, order, limit: request.size + 1 };
}

/**
 * A page from `size + 1` rows fetched in the request's order. The relationship check
 * (`keep`, when the list has one) filters the page, while the cursors still name the first
 * and last rows fetched, so the next page starts after them even when the check removed
 * them. As the spec allows, only the direction paged in says whether more follow:
 * `hasPreviousPage` is false when paging forward, `hasNextPage` when paging backward.
 */
export async function checkedPage<T>(
  rows: readonly T[],
  request: PageRequest<unknown>,
  keep?: (page: readonly T[]) => Promise<readonly T[]>,
): Promise<PageModel<T>> {
  const fetched = rows.slice(0, request.size);
  const page = request.direction === 'forward' ? fetched : fetched.reverse();
  const more = rows.length > request.size;
  return {
    nodes: keep ? await keep(page) : page,
    hasNextPage: request.direction === 'forward' && more,
    hasPreviousPage: request.direction === 'backward' && more,
    start: page[0] ?? null,
    end: page.at(-1) ?? null,
  };
}

/** The model of a connection nobody can see anything of (no caller account). */
export function emptyPage<T>(): PageModel<T> {
  return { nodes: [], hasNextPage: false, hasPreviousPage: false, start: null, end: null };
}

/**
 * An edge of a page. Its cursor is encoded when a client selects it, not for every row of
 * every page (most list queries ask only for the nodes).
 */
class Edge<T extends Position, Position> {
  readonly node: T;
  readonly #encode: (node: Position) => string;

  constructor(node: T, encode: (node: Position) => string) {
    this.node = node;
    this.#encode = encode;
  }

  get cursor(): string {
    return this.#encode(this.node);
  }
}

/** `edges` and `pageInfo` of a connection model, with the list's own cursor encoding. */
export function connectionFieldsOf<Position>(encode: (node: Position) => string) {
  return {
    edges: <T extends Position>(conn: PageModel<T>) =>
      conn.nodes.map((node) => new Edge<T, Position>(node, encode)),
    pageInfo: <T extends Position>(conn: PageModel<T>) => ({
      hasNextPage: conn.hasNextPage,
      hasPreviousPage: conn.hasPreviousPage,
      startCursor: conn.start ? encode(conn.start) : null,
      endCursor: conn.end ? encode(conn.end) : null,
    }),
  };
}

/** `edges` and `pageInfo` of the lists ordered by (createdAt desc, id desc). */
export const connectionFields = connectionFieldsOf<CursorPosition>(encodeCursor);
