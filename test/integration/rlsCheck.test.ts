/**
 * The catalog check behind `npm run db:check` and the server's start-up guard: it passes on
 * the migrated database and names every table, policy and view that would let tenant data
 * escape row-level security. The unsafe objects are created by the owner role inside a
 * transaction that is rolled back, so the shared database never holds them.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/data/openDatabase.js';
import { connectPostgres } from '../../src/data/SqlClient.js';
import { checkRls } from '../../src/data/rlsCheck.js';
import { APP_ROLE, KEY_READER_ROLE, OWNER_ROLE } from '../../src/data/roles.js';
import type { SqlClient } from '../../src/data/SqlClient.js';
import { asSuperuser } from '../support/superuser.js';
import { openTestDatabase, usingPostgres } from '../support/testDatabase.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TENANT_FILTER = `tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

let db: OpenDatabase;

beforeAll(async () => {
  db = await openTestDatabase();
});

afterAll(async () => {
  await db.close();
});

/** Runs `work` as the owner role in a transaction that is always rolled back. */
function rolledBackAsOwner<T>(work: (sql: SqlClient) => Promise<T>): Promise<T> {
  return db.asOwner(async (sql) => {
    await sql.exec('begin');
    try {
      return await work(sql);
    } finally {
      await sql.exec('rollback');
    }
  });
}

describe('checkRls', () => {
  it('finds no problem on the migrated database', async () => {
    expect(await db.asOwner((sql) => checkRls(sql))).toEqual([]);
  });

  it('names a table without RLS, one not FORCEd, a policy without WITH CHECK and a definer view', async () => {
    const tag = randomUUID().slice(0, 8);
    const t = {
      noRls: `gh_norls_${tag}`,
      notForced: `gh_notforced_${tag}`,
      noCheck: `gh_nocheck_${tag}`,
      safe: `gh_safe_${tag}`,
      definerView: `gh_definer_view_${tag}`,
      invokerView: `gh_invoker_view_${tag}`,
    };
    const { problems, stillSafe } = await rolledBackAsOwner(async (sql) => {
      await sql.exec(`
        create table ${t.noRls} (tenant_id uuid not null);

        create table ${t.notForced} (tenant_id uuid not null);
        alter table ${t.notForced} enable row level security;
        create policy tenant_isolation on ${t.notForced} for all
          using (${TENANT_FILTER}) with check (${TENANT_FILTER});

        create table ${t.noCheck} (tenant_id uuid not null);
        alter table ${t.noCheck} enable row level security;
        alter table ${t.noCheck} force row level security;
        create policy tenant_isolation on ${t.noCheck} for all using (${TENANT_FILTER});

        -- A control: configured exactly like the real tables, so it must not be reported.
        create table ${t.safe} (tenant_id uuid not null);
        alter table ${t.safe} enable row level security;
        alter table ${t.safe} force row level security;
        create policy tenant_isolation on ${t.safe} for all
          using (${TENANT_FILTER}) with check (${TENANT_FILTER});

        create view ${t.definerView} as select id, name from workflows;
        create view ${t.invokerView} with (security_invoker = true) as select id, name from workflows;`);
      const found = await checkRls(sql);
      return { problems: found, stillSafe: found.every((p) => !p.includes(t.safe)) };
    });

    expect([...problems].sort()).toEqual(
      [
        `public.${t.noRls}: row-level security is not enabled`,
        `public.${t.noRls}: row-level security is not forced`,
        `public.${t.noRls}: no tenant policy with USING for SELECT`,
        `public.${t.noRls}: no tenant policy with WITH CHECK for INSERT`,
        `public.${t.noRls}: no tenant policy with USING and WITH CHECK for UPDATE`,
        `public.${t.noRls}: no tenant policy with USING for DELETE`,
        `public.${t.notForced}: row-level security is not forced`,
        `public.${t.noCheck}: no tenant policy with WITH CHECK for INSERT`,
        `public.${t.noCheck}: no tenant policy with USING and WITH CHECK for UPDATE`,
        `public.${t.definerView}: view is not security_invoker (it would bypass RLS)`,
      ].sort(),
    );
    expect(stillSafe).toBe(true);
    // Rolled back: the database is clean again.
    expect(await db.asOwner((sql) => checkRls(sql))).toEqual([]);
  });

  it('names a policy that does not read app.tenant_id, and a policy for SELECT only', async () => {
    const tag = randomUUID().slice(0, 8);
    const open = `gh_open_${tag}`;
    const readOnly = `gh_selectonly_${tag}`;
    const problems = await rolledBackAsOwner(async (sql) => {
      await sql.exec(`
        create table ${open} (tenant_id uuid not null);
        alter table ${open} enable row level security;
        alter table ${open} force row level security;
        create policy everything on ${open} for all using (true) with check (true);

        create table ${readOnly} (tenant_id uuid not null);
        alter table ${readOnly} enable row level security;
        alter table ${readOnly} force row level security;
        create policy reads on ${readOnly} for select using (${TENANT_FILTER});
        create policy writes on ${readOnly} for insert with check (true);`);
      return checkRls(sql);
    });
    expect([...problems].sort()).toEqual(
      [
        `public.${open}: no tenant policy with USING for SELECT`,
        `public.${open}: no tenant policy with WITH CHECK for INSERT`,
        `public.${open}: no tenant policy with USING and WITH CHECK for UPDATE`,
        `public.${open}: no tenant policy with USING for DELETE`,
        `public.${readOnly}: no tenant policy with WITH CHECK for INSERT`,
        `public.${readOnly}: no tenant policy with USING and WITH CHECK for UPDATE`,
        `public.${readOnly}: no tenant policy with USING for DELETE`,
        `public.${open}: policy everything is looser than the tenant predicate`,
        `public.${readOnly}: policy writes is looser than the tenant predicate`,
      ].sort(),
    );
  });

  it('names a permissive policy that mentions the tenant but is looser (… OR true)', async () => {
    const tag = randomUUID().slice(0, 8);
    const table = `gh_ortrue_${tag}`;
    const problems = await rolledBackAsOwner(async (sql) => {
      await sql.exec(`
        create table ${table} (tenant_id uuid not null);
        alter table ${table} enable row level security;
        alter table ${table} force row level security;
        create policy sneaky on ${table} for all
          using (${TENANT_FILTER} or true) with check (${TENANT_FILTER});`);
      return checkRls(sql);
    });
    expect(problems).toEqual([
      `public.${table}: policy sneaky is looser than the tenant predicate`,
    ]);
  });

  it('allows the app role to become only the relay and signer roles, each reaching only its tables', async () => {
    const tag = randomUUID().slice(0, 8);
    const extra = `gh_extra_role_${tag}`;
    const problems = await rolledBackAsOwner(async (sql) => {
      // Grant each assumable role one more table.
      await sql.exec(`grant select on workflows to gatehouse_relay`);
      await sql.exec(`grant select on audit_events to gatehouse_audit_signer`);
      return checkRls(sql);
    });
    expect(problems).toEqual([
      'role gatehouse_audit_signer can reach public.audit_events (only public.audit_chain_heads, public.audit_checkpoints)',
      'role gatehouse_relay can reach public.workflows (only public.authz_outbox, public.authz_tokens)',
    ]);
    const superuser = process.env['DATABASE_ADMIN_URL'];
    if (!superuser) return; // creating roles needs an administrator (PostgreSQL mode)
    const admin = await connectPostgres(superuser);
    try {
      await admin.exec(`create role ${extra} nologin; grant ${extra} to ${APP_ROLE}`);
      const withExtra = await db.asOwner((sql) => checkRls(sql));
      expect(withExtra).toEqual([`role ${APP_ROLE} is a member of ${extra}`]);
    } finally {
      await admin.exec(`drop role if exists ${extra}`);
    }
  });

  it('names a table outside public that the app role was granted, and checks the role itself', async () => {
    const tag = randomUUID().slice(0, 8);
    const schema = `gh_side_${tag}`;
    const problems = await rolledBackAsOwner(async (sql) => {
      await sql.exec(`
        create schema ${schema};
        create table ${schema}.granted (tenant_id uuid not null);
        create table ${schema}.private (tenant_id uuid not null);
        grant usage on schema ${schema} to ${APP_ROLE};
        grant select on ${schema}.granted to ${APP_ROLE};`);
      return checkRls(sql);
    });
    // Only the table the app role can reach is reported; the private one is not its concern.
    expect(problems.filter((p) => p.startsWith(`${schema}.`))).toEqual([
      `${schema}.granted: row-level security is not enabled`,
      `${schema}.granted: row-level security is not forced`,
      `${schema}.granted: no tenant policy with USING for SELECT`,
      `${schema}.granted: no tenant policy with WITH CHECK for INSERT`,
      `${schema}.granted: no tenant policy with USING and WITH CHECK for UPDATE`,
      `${schema}.granted: no tenant policy with USING for DELETE`,
    ]);
    expect(problems).toHaveLength(6);

    const roleProblems = await db.asOwner(async (sql) => ({
      missing: await checkRls(sql, 'gh_no_such_role'),
      superuser: await checkRls(sql, 'postgres'),
    }));
    // Reported, not thrown (has_table_privilege() errors for an unknown role).
    expect(roleProblems.missing).toEqual(['role gh_no_such_role does not exist']);
    expect(roleProblems.superuser).toEqual(
      expect.arrayContaining([
        'role postgres is a superuser (bypasses RLS)',
        'role postgres has BYPASSRLS',
      ]),
    );
  });
});

describe('checkRls: the API key reader and its functions', () => {
  const LOOKUP = 'function public.api_key_lookup(text)';
  const TOUCH = 'function public.api_keys_touch(text[])';

  /** Runs `work` on a superuser connection in a transaction that is always rolled back. */
  function rolledBackAsSuperuser<T>(work: (sql: SqlClient) => Promise<T>): Promise<T> {
    return asSuperuser(db, async (sql) => {
      await sql.exec('begin');
      try {
        return await work(sql);
      } finally {
        await sql.exec('rollback');
      }
    });
  }

  it('names every column, table and command granted to the reader beyond what the lookup needs', async () => {
    const problems = await rolledBackAsOwner(async (sql) => {
      await sql.exec(`
        grant select (name, description) on service_accounts to ${KEY_READER_ROLE};
        grant update (hash) on api_keys to ${KEY_READER_ROLE};
        grant delete on api_keys to ${KEY_READER_ROLE};
        grant select on workflows to ${KEY_READER_ROLE};
        grant select (id) on credentials to ${KEY_READER_ROLE};`);
      return checkRls(sql);
    });
    const only = 'only public.service_accounts, public.api_keys';
    expect([...problems].sort()).toEqual(
      [
        `role ${KEY_READER_ROLE} may SELECT public.service_accounts.name`,
        `role ${KEY_READER_ROLE} may SELECT public.service_accounts.description`,
        `role ${KEY_READER_ROLE} may UPDATE public.api_keys.hash`,
        `role ${KEY_READER_ROLE} may DELETE public.api_keys`,
        `role ${KEY_READER_ROLE} can reach public.workflows (${only})`,
        // A column grant is reach too.
        `role ${KEY_READER_ROLE} can reach public.credentials (${only})`,
      ].sort(),
    );
  });

  it('names a function that is not SECURITY DEFINER, has no fixed search_path, or that others may execute', async () => {
    const problems = await rolledBackAsOwner(async (sql) => {
      // The owner role is a member of the reader (it hands the functions over in the
      // migration), so it can become their owner to change them.
      await sql.exec(`
        set local role ${KEY_READER_ROLE};
        alter function api_key_lookup(text) security invoker;
        alter function api_keys_touch(text[]) reset search_path;
        grant execute on function api_key_lookup(text) to public;
        grant execute on function api_keys_touch(text[]) to gatehouse_relay;
        revoke execute on function api_keys_touch(text[]) from ${APP_ROLE};
        reset role;
        set local role ${OWNER_ROLE};`);
      return checkRls(sql);
    });
    expect([...problems].sort()).toEqual(
      [
        `${LOOKUP}: not SECURITY DEFINER`,
        `${LOOKUP}: PUBLIC may EXECUTE it`,
        `${TOUCH}: search_path is not fixed (SET search_path=public, pg_temp)`,
        `${TOUCH}: gatehouse_relay may EXECUTE it (only ${APP_ROLE})`,
        `${TOUCH}: ${APP_ROLE} may not EXECUTE it`,
      ].sort(),
    );
  });

  it('names a search_path that puts pg_temp first (or leaves it out) as not fixed', async () => {
    const problems = await rolledBackAsOwner(async (sql) => {
      await sql.exec(`
        set local role ${KEY_READER_ROLE};
        alter function api_key_lookup(text) set search_path = pg_temp, public;
        alter function api_keys_touch(text[]) set search_path = public;
        reset role;
        set local role ${OWNER_ROLE};`);
      return checkRls(sql);
    });
    expect([...problems].sort()).toEqual([
      `${LOOKUP}: search_path is not fixed (SET search_path=public, pg_temp)`,
      `${TOUCH}: search_path is not fixed (SET search_path=public, pg_temp)`,
    ]);
  });

  it('names a reader that may create objects or owns anything more', async () => {
    const tag = randomUUID().slice(0, 8);
    const problems = await rolledBackAsOwner(async (sql) => {
      await sql.exec(`
        grant create on schema public to ${KEY_READER_ROLE};
        set local role ${KEY_READER_ROLE};
        create function gh_extra_${tag}() returns int language sql as 'select 1';
        reset role;
        set local role ${OWNER_ROLE};`);
      return checkRls(sql);
    });
    expect([...problems].sort()).toEqual([
      `role ${KEY_READER_ROLE} may CREATE in schema public`,
      `role ${KEY_READER_ROLE} owns function gh_extra_${tag}()`,
    ]);
  });

  it('names a reader that can log in, bypasses RLS, belongs to another role, or that the app role may become', async () => {
    const problems = await rolledBackAsSuperuser(async (sql) => {
      await sql.exec(`
        alter role ${KEY_READER_ROLE} login superuser bypassrls;
        grant gatehouse_relay to ${KEY_READER_ROLE};
        grant ${KEY_READER_ROLE} to ${APP_ROLE};`);
      return checkRls(sql);
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        `role ${APP_ROLE} is a member of ${KEY_READER_ROLE}`,
        `role ${KEY_READER_ROLE} can log in (it must be NOLOGIN)`,
        `role ${KEY_READER_ROLE} is a superuser (bypasses RLS)`,
        `role ${KEY_READER_ROLE} has BYPASSRLS`,
        `role ${KEY_READER_ROLE} is a member of gatehouse_relay`,
      ]),
    );
    // (A superuser reader also "reaches" every table; those lines are not the point here.)
    const attributesOnly = await rolledBackAsSuperuser(async (sql) => {
      await sql.exec(`alter role ${KEY_READER_ROLE} login bypassrls`);
      return checkRls(sql);
    });
    expect([...attributesOnly].sort()).toEqual([
      `role ${KEY_READER_ROLE} can log in (it must be NOLOGIN)`,
      `role ${KEY_READER_ROLE} has BYPASSRLS`,
    ]);
  });

  it('names functions owned by someone else, and missing ones', async () => {
    const problems = await rolledBackAsSuperuser(async (sql) => {
      await sql.exec(`
        alter function api_key_lookup(text) owner to ${OWNER_ROLE};
        drop function api_keys_touch(text[]);`);
      return checkRls(sql);
    });
    expect([...problems].sort()).toEqual([
      `${LOOKUP}: owned by ${OWNER_ROLE}, not ${KEY_READER_ROLE}`,
      `${TOUCH}: missing (the API key lookup path)`,
    ]);
    // Rolled back: the database is clean again.
    expect(await db.asOwner((sql) => checkRls(sql))).toEqual([]);
  });
});

describe('npm run db:check', () => {
  const tempDirs: string[] = [];
  afterAll(async () => {
    for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  });

  async function tempDataDir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-dbcheck-'));
    tempDirs.push(dir);
    return dir;
  }

  function dbCheck(env: NodeJS.ProcessEnv) {
    return spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['src/cli/dbCheck.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      // The same Node as this test (the project needs Node 24).
      env: {
        ...env,
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${env['PATH'] ?? ''}`,
      },
    });
  }

  it('exits 0 on the test database', { timeout: 120_000 }, async () => {
    const env = usingPostgres
      ? { ...process.env }
      : { ...process.env, PGLITE_DATA_DIR: await tempDataDir() };
    const result = dbCheck(env);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toContain('db:check ok');
  });

  it(
    'exits 1 naming the table when a table lacks RLS (embedded database)',
    { timeout: 120_000 },
    async () => {
      const dataDir = await tempDataDir();
      const env: NodeJS.ProcessEnv = { ...process.env, PGLITE_DATA_DIR: dataDir };
      delete env['DATABASE_URL'];
      delete env['DATABASE_OWNER_URL'];

      const bad = await openDatabase(
        { kind: 'embedded', dataDir },
        { transactionTimeoutMs: 5_000 },
      );
      try {
        await bad.asOwner((sql) =>
          sql.exec('create table gh_unprotected (tenant_id uuid not null)'),
        );
      } finally {
        await bad.close();
      }

      const result = dbCheck(env);
      expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
        status: 1,
        stdout: '',
        stderr: expect.stringContaining(
          'db:check failed:\n  - public.gh_unprotected: row-level security is not enabled\n',
        ) as unknown,
      });
    },
  );
});
