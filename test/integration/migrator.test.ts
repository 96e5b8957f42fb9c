/**
 * The migrator (src/data/migrator.ts) on a fresh embedded PGlite per test, with temporary
 * migration folders in Prisma Migrate's layout (<name>/migration.sql). Always embedded: it
 * never touches the shared PostgreSQL of DATABASE_URL.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, MigrationError, type MigrationResult } from '../../src/data/migrator.js';
import { openDatabase, type OpenDatabase } from '../../src/data/openDatabase.js';
import { checkRls } from '../../src/data/rlsCheck.js';
import { META_SCHEMA, OWNER_ROLE } from '../../src/data/roles.js';

const REAL_MIGRATIONS = path.resolve(import.meta.dirname, '../../prisma/migrations');

const cleanups: Array<() => Promise<void>> = [];
/** A fresh, unmigrated embedded database (roles provisioned) for each test. */
let db: OpenDatabase;

beforeEach(async () => {
  db = await openDatabase(
    { kind: 'embedded', dataDir: 'memory://' },
    { transactionTimeoutMs: 5_000, migrate: false },
  );
  cleanups.push(() => db.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A temporary migrations folder; `write` adds or replaces one migration. */
async function migrationsDir() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-migrations-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return {
    dir,
    async write(name: string, sql: string): Promise<void> {
      await mkdir(path.join(dir, name), { recursive: true });
      await writeFile(path.join(dir, name, 'migration.sql'), sql);
    },
    async remove(name: string): Promise<void> {
      await rm(path.join(dir, name), { recursive: true });
    },
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function run(dir?: string): Promise<MigrationResult> {
  return db.asOwner((sql) => migrate(sql, dir));
}

async function ledger() {
  return db.asOwner((sql) =>
    sql.query<{ name: string; checksum: string; applied_by: string }>(
      `select name, checksum, applied_by from ${META_SCHEMA}.schema_migrations order by name`,
    ),
  );
}

async function tables(): Promise<string[]> {
  const rows = await db.asOwner((sql) =>
    sql.query<{ name: string }>(
      `select tablename as name from pg_tables where schemaname = 'public' order by 1`,
    ),
  );
  return rows.map((r) => r.name);
}

/** Session advisory locks still held (the migrator must always release its lock). */
async function advisoryLocks(): Promise<number> {
  const rows = await db.asOwner((sql) =>
    sql.query<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory'`),
  );
  return rows[0]!.n;
}

async function migrationError(work: Promise<unknown>): Promise<MigrationError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MigrationError);
  return error as MigrationError;
}

const FIRST = '20260101000000_create_things';
const SECOND = '20260102000000_add_note';
const THIRD = '20260103000000_create_others';

const SQL = {
  [FIRST]: 'create table things (id integer primary key);\n',
  // Depends on FIRST: succeeds only when applied after it.
  [SECOND]:
    "alter table things add column note text not null default '';\ninsert into things values (1, 'one');\n",
  [THIRD]: 'create table others (id integer primary key);\n',
};

describe('migrate', () => {
  it('applies pending migrations in name order, each recorded with its SHA-256 checksum', async () => {
    const m = await migrationsDir();
    // Written in reverse order: the order comes from the names, not from the file system.
    for (const name of [THIRD, SECOND, FIRST] as const) await m.write(name, SQL[name]);
    // Prisma Migrate keeps a lock file next to the folders; it is not a migration.
    await writeFile(path.join(m.dir, 'migration_lock.toml'), 'provider = "postgresql"\n');

    expect(await run(m.dir)).toEqual({ applied: [FIRST, SECOND, THIRD], alreadyApplied: [] });
    expect(await ledger()).toEqual(
      ([FIRST, SECOND, THIRD] as const).map((name) => ({
        name,
        checksum: sha256(SQL[name]),
        applied_by: OWNER_ROLE,
      })),
    );
    expect(await tables()).toEqual(['others', 'things']);
    const rows = await db.asOwner((sql) => sql.query('select id, note from things'));
    expect(rows).toEqual([{ id: 1, note: 'one' }]);
    expect(await advisoryLocks()).toBe(0);
  });

  it('is idempotent: a second run applies nothing and leaves the ledger as it was', async () => {
    const m = await migrationsDir();
    for (const name of [FIRST, SECOND] as const) await m.write(name, SQL[name]);
    await run(m.dir);
    const before = await db.asOwner((sql) =>
      sql.query(`select * from ${META_SCHEMA}.schema_migrations order by name`),
    );

    expect(await run(m.dir)).toEqual({ applied: [], alreadyApplied: [FIRST, SECOND] });
    expect(
      await db.asOwner((sql) =>
        sql.query(`select * from ${META_SCHEMA}.schema_migrations order by name`),
      ),
    ).toEqual(before);

    // A new migration is then applied alone.
    await m.write(THIRD, SQL[THIRD]);
    expect(await run(m.dir)).toEqual({ applied: [THIRD], alreadyApplied: [FIRST, SECOND] });
  });

  it('refuses an applied migration that was edited, naming it, before applying anything', async () => {
    const m = await migrationsDir();
    await m.write(FIRST, SQL[FIRST]);
    await m.write(THIRD, SQL[THIRD]);
    await run(m.dir);
    const before = await ledger();

    // Even a whitespace change counts; and a new migration that sorts before the edited one
    // must not be applied either, because the run as a whole is refused.
    await m.write(THIRD, `${SQL[THIRD]}\n`);
    await m.write(SECOND, SQL[SECOND]);
    const error = await migrationError(run(m.dir));
    expect(error.message).toContain(`migration ${THIRD} was edited after it was applied`);
    expect(error.message).toContain('add a new migration instead');
    expect(await ledger()).toEqual(before);
    const columns = await db.asOwner((sql) =>
      sql.query<{ name: string }>(
        `select column_name as name from information_schema.columns where table_name = 'things'`,
      ),
    );
    expect(columns).toEqual([{ name: 'id' }]);
    expect(await advisoryLocks()).toBe(0);
  });

  it('refuses to run when an applied migration is missing from the folder', async () => {
    const m = await migrationsDir();
    await m.write(FIRST, SQL[FIRST]);
    await m.write(SECOND, SQL[SECOND]);
    await run(m.dir);
    const before = await ledger();

    await m.remove(SECOND);
    await m.write(THIRD, SQL[THIRD]);
    const error = await migrationError(run(m.dir));
    expect(error.message).toBe(
      `migration ${SECOND} is recorded as applied but is missing from ${m.dir}`,
    );
    expect(await ledger()).toEqual(before);
    expect(await tables()).toEqual(['things']);
    expect(await advisoryLocks()).toBe(0);
  });

  it('rolls a failing migration back completely and records nothing of it; a fixed one then applies', async () => {
    const m = await migrationsDir();
    await m.write(FIRST, SQL[FIRST]);
    const broken = `create table partial (id integer);
insert into partial values (1);
insert into things values (42);
select 1 / 0;
`;
    await m.write(SECOND, broken);
    await m.write(THIRD, SQL[THIRD]);

    const error = await migrationError(run(m.dir));
    expect(error.message).toBe(`migration ${SECOND} failed: division by zero`);
    // FIRST was committed on its own; nothing of SECOND survives; THIRD never ran.
    expect((await ledger()).map((r) => r.name)).toEqual([FIRST]);
    expect(await tables()).toEqual(['things']);
    expect(await db.asOwner((sql) => sql.query('select * from things'))).toEqual([]);
    expect(await advisoryLocks()).toBe(0);
    // The connection is usable (not left inside the failed transaction).
    expect(await db.asOwner((sql) => sql.query('select 1 as ok'))).toEqual([{ ok: 1 }]);

    // SECOND was never recorded, so it may still be corrected.
    await m.write(SECOND, SQL[SECOND]);
    expect(await run(m.dir)).toEqual({ applied: [SECOND, THIRD], alreadyApplied: [FIRST] });
  });

  it('applies the real prisma/migrations cleanly on a fresh database, leaving no RLS problem', async () => {
    const names = (await readdir(REAL_MIGRATIONS, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(names.length).toBeGreaterThan(0);

    expect(await run()).toEqual({ applied: names, alreadyApplied: [] });
    expect((await ledger()).map((r) => r.name)).toEqual(names);
    expect(await tables()).toEqual(
      expect.arrayContaining([
        'approvals',
        'team_memberships',
        'teams',
        'tenants',
        'users',
        'workflow_shares',
        'workflows',
      ]),
    );
    expect(await db.asOwner((sql) => checkRls(sql))).toEqual([]);
    expect(await run()).toEqual({ applied: [], alreadyApplied: names });
  });
});
