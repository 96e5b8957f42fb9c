/**
 * Names for the request pool's statements, so that PostgreSQL parses and plans each one
 * once per connection (a prepared statement: node-postgres sends `Parse` for a name only
 * the first time on a connection, then `Bind`/`Execute`) instead of on every execution.
 * Prisma's statements are long and their tables carry RLS policies, so planning is a
 * good part of what they cost the database.
 *
 * Bounded: PostgreSQL keeps a connection's prepared statements until it closes, and
 * Prisma writes one text per length of an `IN (…)` list, so only the first `max` distinct
 * texts get a name (the hot ones come first) and later ones run as the unnamed statement
 * (`''`, parsed on every execution), as before. The same text always has the same name,
 * on every connection. Only statements with parameters are named (`BEGIN`, `COMMIT`:
 * nothing to plan). `max` 0 names nothing — for a pooler that cannot carry prepared
 * statements (PgBouncer before 1.21 in transaction mode).
 */

/** What the driver adapter passes (Prisma's SqlQuery). */
interface Statement {
  readonly sql: string;
  readonly args: readonly unknown[];
}

/** The protocol's unnamed statement: node-postgres parses it on every execution. */
const UNNAMED = '';

export function preparedStatementNames(max: number): (query: Statement) => string {
  const names = new Map<string, string>();
  return (query) => {
    if (query.args.length === 0) return UNNAMED;
    const known = names.get(query.sql);
    if (known !== undefined) return known;
    if (names.size >= max) return UNNAMED;
    const name = `gatehouse_${names.size + 1}`;
    names.set(query.sql, name);
    return name;
  };
}
