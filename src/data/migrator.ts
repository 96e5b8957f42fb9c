/**
 * Applies the SQL migrations in prisma/migrations/<name>/migration.sql (Prisma Migrate's
 * folder layout) in name order, each in its own transaction, recording name and SHA-256
 * checksum in gatehouse_meta.schema_migrations. Idempotent; refuses to run when an applied
 * migration was edited or has disappeared, because the database would no longer match the
 * code. Runs as the owner role; a session advisory lock keeps two migrators apart.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from './SqlClient.js';
import { META_SCHEMA } from './roles.js';

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL('../../prisma/migrations', import.meta.url),
);

const LOCK_KEY = 720_394_118; // arbitrary, constant: pg_advisory_lock key for migrations

export interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationResult {
  readonly applied: readonly string[];
  readonly alreadyApplied: readonly string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export async function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

export async function migrate(
  client: SqlClient,
  dir: string = DEFAULT_MIGRATIONS_DIR,
): Promise<MigrationResult> {
  const migrations = await readMigrations(dir);
  await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    await client.exec(`
      create schema if not exists ${META_SCHEMA};
      revoke all on schema ${META_SCHEMA} from public;
      create table if not exists ${META_SCHEMA}.schema_migrations (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now(),
        applied_by text not null default current_user
      );`);
    const rows = await client.query<{ name: string; checksum: string }>(
      `select name, checksum from ${META_SCHEMA}.schema_migrations order by name`,
    );
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    const known = new Set(migrations.map((m) => m.name));
    for (const name of applied.keys()) {
      if (!known.has(name)) {
        throw new MigrationError(
          `migration ${name} is recorded as applied but is missing from ${dir}`,
        );
      }
    }
    // Verify every applied migration before applying anything: an edited one refuses the
    // whole run, including pending migrations whose names sort before it.
    for (const m of migrations) {
      const recorded = applied.get(m.name);
      if (recorded !== undefined && recorded !== m.checksum) {
        throw new MigrationError(
          `migration ${m.name} was edited after it was applied (checksum ${recorded.slice(0, 12)}… → ${m.checksum.slice(0, 12)}…); add a new migration instead`,
        );
      }
    }
    const result = { applied: [] as string[], alreadyApplied: [] as string[] };
    for (const m of migrations) {
      if (applied.has(m.name)) {
        result.alreadyApplied.push(m.name);
        continue;
      }
      await client.exec('begin');
      try {
        await client.exec(m.sql);
        await client.query(
          `insert into ${META_SCHEMA}.schema_migrations (name, checksum) values ($1, $2)`,
          [m.name, m.checksum],
        );
        await client.exec('commit');
      } catch (error) {
        await client.exec('rollback');
        throw new MigrationError(`migration ${m.name} failed: ${(error as Error).message}`);
      }
      result.applied.push(m.name);
    }
    return result;
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
  }
}
