/**
 * Minimal raw-SQL connection used by the migrator, the RLS check and set-up commands, over
 * either node-postgres or PGlite. Application data access goes through Prisma inside a
 * tenant transaction instead (see TenantTransaction.ts).
 */
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';

export interface SqlClient {
  /** One parameterised statement. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<Row[]>;
  /** Several statements, no parameters (simple query protocol). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export async function connectPostgres(
  url: string,
  options: { readonly connectTimeoutMs?: number; readonly applicationName?: string } = {},
): Promise<SqlClient> {
  const client = new pg.Client({
    connectionString: url,
    ...(options.connectTimeoutMs ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
    ...(options.applicationName ? { application_name: options.applicationName } : {}),
  });
  await client.connect();
  return {
    async query<Row extends Record<string, unknown>>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query<Row>(sql, params as unknown[]);
      return result.rows;
    },
    async exec(sql) {
      await client.query(sql);
    },
    async close() {
      await client.end();
    },
  };
}

/** Wraps a PGlite instance; closing the wrapper leaves the instance open (its owner closes it). */
export function pgliteSqlClient(db: PGlite): SqlClient {
  return {
    async query<Row extends Record<string, unknown>>(sql: string, params: readonly unknown[] = []) {
      const result = await db.query<Row>(sql, params as unknown[]);
      return result.rows;
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {},
  };
}
