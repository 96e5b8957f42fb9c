/**
 * Catalog checks behind `npm run db:check` and the server's start-up guard: tenant data is
 * protected by row-level security that the app role cannot escape.
 */
import type { SqlClient } from './SqlClient.js';
import { APP_ROLE, AUDIT_SIGNER_ROLE, KEY_READER_ROLE, OWNER_ROLE, RELAY_ROLE } from './roles.js';

const TENANT_SETTING = "current_setting('app.tenant_id'";
/**
 * The one predicate a permissive policy reachable by the app role may have, as PostgreSQL
 * prints it. Permissive policies are OR-ed, so anything looser (`… OR true`) would open
 * the table; checking the exact text is deliberate.
 */
const TENANT_PREDICATE =
  /^\((tenant_id|id) = \( SELECT \(NULLIF\(current_setting\('app\.tenant_id'::text, true\), ''::text\)\)::uuid AS "?nullif"?\)\)$/;
/**
 * The roles the app role may assume (SET ROLE), each with the only tables it may touch,
 * across tenants: the outbox relay (relationship tuples, no domain data) and the audit
 * checkpoint signer (chain heads and checkpoints: sequence numbers and hashes).
 */
const ASSUMABLE_ROLES: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  [RELAY_ROLE, new Set(['public.authz_outbox', 'public.authz_tokens'])],
  [AUDIT_SIGNER_ROLE, new Set(['public.audit_chain_heads', 'public.audit_checkpoints'])],
]);

/**
 * The API key reader (KEY_READER_ROLE): not assumable by the app role, which reaches it only
 * by executing the functions it owns. What it may touch, column by column, across tenants.
 */
const KEY_READER_COLUMNS: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>> = new Map([
  ['public.service_accounts', new Map([['SELECT', ['tenant_id', 'id', 'active']]])],
  [
    'public.api_keys',
    new Map([
      [
        'SELECT',
        ['tenant_id', 'id', 'service_account_id', 'hash', 'scopes', 'expires_at', 'revoked_at'],
      ],
      ['UPDATE', ['last_used_at']],
    ]),
  ],
]);
/** The functions the key reader owns: the app role's only way to a key of an unknown tenant. */
const KEY_READER_FUNCTIONS = ['public.api_key_lookup(text)', 'public.api_keys_touch(text[])'];
/** The search_path those functions must pin (pg_temp last: no temporary object shadows). */
const DEFINER_SEARCH_PATH = 'search_path=public, pg_temp';

/** Append-only tables: the app role may only INSERT and SELECT; a trigger refuses the rest. */
const APPEND_ONLY_TABLES = ['public.audit_events', 'public.audit_checkpoints'];

/**
 * Returns every problem found (empty when the database is safe):
 * - a table the app role can touch, or any table in `public`, without ENABLE and FORCE RLS;
 * - such a table without policies that cover SELECT, INSERT, UPDATE and DELETE with both
 *   USING and WITH CHECK expressions reading `app.tenant_id`;
 * - a view in `public` that is not `security_invoker`;
 * - an app role that is a superuser, has BYPASSRLS, owns a relation or is a member of the
 *   owner role;
 * - an API key reader role that could log in or bypass RLS, reaches more than its columns,
 *   or owns anything but its two SECURITY DEFINER functions, and such a function that is
 *   not SECURITY DEFINER, not the reader's, without a fixed search_path, or executable by
 *   anyone but the app role.
 */
export async function checkRls(sql: SqlClient, appRole: string = APP_ROLE): Promise<string[]> {
  const problems: string[] = [];

  const roles = await sql.query<{
    rolsuper: boolean;
    rolbypassrls: boolean;
    owns: string;
    owner_member: boolean;
  }>(
    `select r.rolsuper, r.rolbypassrls,
            (select count(*) from pg_class c where c.relowner = r.oid)::text as owns,
            pg_has_role(r.rolname, $2, 'MEMBER') as owner_member
       from pg_roles r where r.rolname = $1`,
    [appRole, OWNER_ROLE],
  );
  const role = roles[0];
  if (!role) {
    problems.push(`role ${appRole} does not exist`);
  } else {
    if (role.rolsuper) problems.push(`role ${appRole} is a superuser (bypasses RLS)`);
    if (role.rolbypassrls) problems.push(`role ${appRole} has BYPASSRLS`);
    if (role.owns !== '0')
      problems.push(`role ${appRole} owns ${role.owns} relation(s); table owners can disable RLS`);
    if (role.owner_member) problems.push(`role ${appRole} is a member of ${OWNER_ROLE}`);
  }

  // Roles the app role can become (SET ROLE). Only the assumable roles are acceptable, and
  // only while each reaches nothing but its own tables.
  const memberOf = role
    ? (
        await sql.query<{ rolname: string }>(
          `select r.rolname from pg_roles r
            where r.rolname not in ($1, $2) and pg_has_role($1, r.oid, 'MEMBER') order by 1`,
          [appRole, OWNER_ROLE],
        )
      ).map((r) => r.rolname)
    : [];
  for (const other of memberOf) {
    const allowed = ASSUMABLE_ROLES.get(other);
    if (!allowed) {
      problems.push(`role ${appRole} is a member of ${other}`);
      continue;
    }
    const reach = await sql.query<{ name: string }>(
      `select format('%I.%I', n.nspname, c.relname) as name
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm')
          and n.nspname not in ('pg_catalog', 'information_schema')
          and has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
        order by 1`,
      [other],
    );
    for (const r of reach) {
      if (!allowed.has(r.name))
        problems.push(`role ${other} can reach ${r.name} (only ${[...allowed].join(', ')})`);
    }
  }
  const appRoles = new Set(['public', appRole, ...memberOf]);

  // has_table_privilege() raises an error for a role that does not exist; then only the
  // tables in `public` are checked (and the missing role is reported above).
  const reachable = role
    ? `or has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')`
    : '';
  const tables = await sql.query<{ name: string; enabled: boolean; forced: boolean }>(
    `select format('%I.%I', n.nspname, c.relname) as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p')
        and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
        and (n.nspname = 'public' ${reachable})
      order by 1`,
    role ? [appRole] : [],
  );
  const policies = await sql.query<{
    table: string;
    cmd: string;
    qual: string | null;
    check: string | null;
    roles: string[];
    name: string;
    permissive: string;
  }>(
    `select format('%I.%I', schemaname, tablename) as "table", policyname as name, permissive, cmd,
            qual, with_check as "check", roles::text[] as roles
       from pg_policies`,
  );
  for (const t of tables) {
    if (!t.enabled) problems.push(`${t.name}: row-level security is not enabled`);
    if (!t.forced) problems.push(`${t.name}: row-level security is not forced`);
    const applicable = policies.filter(
      (p) => p.table === t.name && (p.roles.includes('public') || p.roles.includes(appRole)),
    );
    for (const p of policies) {
      if (p.table !== t.name || p.permissive !== 'PERMISSIVE') continue;
      if (!p.roles.some((r) => appRoles.has(r))) continue;
      // A policy only for an assumable role, on one of that role's own tables.
      const assumableOnly = p.roles.every((r) => ASSUMABLE_ROLES.get(r)?.has(t.name) === true);
      if (assumableOnly) continue;
      const loose = [p.qual, p.check].some((e) => e !== null && !TENANT_PREDICATE.test(e));
      if (loose) problems.push(`${t.name}: policy ${p.name} is looser than the tenant predicate`);
    }
    const covers = (
      cmd: 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE',
      needs: Array<'qual' | 'check'>,
    ): boolean =>
      applicable.some(
        (p) =>
          (p.cmd === 'ALL' || p.cmd === cmd) && needs.every((k) => p[k]?.includes(TENANT_SETTING)),
      );
    if (!covers('SELECT', ['qual']))
      problems.push(`${t.name}: no tenant policy with USING for SELECT`);
    if (!covers('INSERT', ['check']))
      problems.push(`${t.name}: no tenant policy with WITH CHECK for INSERT`);
    if (!covers('UPDATE', ['qual', 'check']))
      problems.push(`${t.name}: no tenant policy with USING and WITH CHECK for UPDATE`);
    if (!covers('DELETE', ['qual']))
      problems.push(`${t.name}: no tenant policy with USING for DELETE`);
  }

  if (role) {
    problems.push(...(await checkAppendOnly(sql, appRole)));
    problems.push(...(await checkKeyReader(sql, appRole)));
  }

  const views = await sql.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('v', 'm') and n.nspname = 'public'
        and not coalesce('security_invoker=true' = any(c.reloptions), false)`,
  );
  for (const v of views)
    problems.push(`${v.name}: view is not security_invoker (it would bypass RLS)`);
  return problems;
}

/**
 * The audit tables are append-only: the app role holds no UPDATE, DELETE or TRUNCATE on
 * them, and an enabled trigger refuses those commands for every role (the owner included).
 */
async function checkAppendOnly(sql: SqlClient, appRole: string): Promise<string[]> {
  const problems: string[] = [];
  for (const table of APPEND_ONLY_TABLES) {
    const rows = await sql.query<{ exists: boolean; writable: boolean; guarded: string[] }>(
      `select to_regclass($1) is not null as exists,
              coalesce(has_table_privilege($2, to_regclass($1), 'UPDATE, DELETE, TRUNCATE'), false) as writable,
              coalesce((select array_agg(e.ev order by e.ev)
                          from pg_trigger tg
                          cross join lateral (values
                            (case when tg.tgtype & 8 <> 0 then 'DELETE' end),
                            (case when tg.tgtype & 16 <> 0 then 'UPDATE' end),
                            (case when tg.tgtype & 32 <> 0 then 'TRUNCATE' end)) as e(ev)
                         where tg.tgrelid = to_regclass($1) and not tg.tgisinternal
                           and tg.tgenabled in ('O', 'A') and tg.tgtype & 2 <> 0
                           and tg.tgfoid = to_regproc('audit_append_only') and e.ev is not null),
                       '{}') as guarded`,
      [table, appRole],
    );
    const r = rows[0];
    if (!r?.exists) {
      problems.push(`${table}: missing (the audit trail's table)`);
      continue;
    }
    if (r.writable) problems.push(`${table}: role ${appRole} may UPDATE, DELETE or TRUNCATE it`);
    for (const command of ['DELETE', 'TRUNCATE', 'UPDATE']) {
      if (!r.guarded.includes(command)) {
        problems.push(`${table}: no enabled trigger refuses ${command} (append-only)`);
      }
    }
  }
  return problems;
}

/**
 * The API key reader may not log in or bypass RLS, is a member of no role, holds CREATE on
 * no schema, touches only the columns of KEY_READER_COLUMNS (table or column grants alike)
 * and owns nothing but KEY_READER_FUNCTIONS; each of those is SECURITY DEFINER, owned by
 * it, pins its search_path, and may be executed by the app role and nobody else.
 */
async function checkKeyReader(sql: SqlClient, appRole: string): Promise<string[]> {
  const problems: string[] = [];
  const reader = KEY_READER_ROLE;
  const [role] = await sql.query<{
    rolcanlogin: boolean;
    rolsuper: boolean;
    rolbypassrls: boolean;
  }>('select rolcanlogin, rolsuper, rolbypassrls from pg_roles where rolname = $1', [reader]);
  if (!role) return [`role ${reader} does not exist (it owns the API key lookup functions)`];
  if (role.rolcanlogin) problems.push(`role ${reader} can log in (it must be NOLOGIN)`);
  if (role.rolsuper) problems.push(`role ${reader} is a superuser (bypasses RLS)`);
  if (role.rolbypassrls) problems.push(`role ${reader} has BYPASSRLS`);

  const memberOf = await sql.query<{ rolname: string }>(
    `select r.rolname from pg_roles r
      where r.rolname <> $1 and pg_has_role($1, r.oid, 'MEMBER') order by 1`,
    [reader],
  );
  for (const m of memberOf) problems.push(`role ${reader} is a member of ${m.rolname}`);

  const creates = await sql.query<{ name: string }>(
    `select format('%I', nspname) as name from pg_namespace
      where nspname <> 'information_schema' and nspname !~ '^pg_'
        and has_schema_privilege($1, oid, 'CREATE') order by 1`,
    [reader],
  );
  for (const c of creates) problems.push(`role ${reader} may CREATE in schema ${c.name}`);

  // Table-level privileges count for every column, so has_column_privilege() sees both.
  const reach = await sql.query<{ name: string; whole: string[]; columns: string[] }>(
    `select format('%I.%I', n.nspname, c.relname) as name,
            array(select p from unnest(array['DELETE', 'TRUNCATE', 'TRIGGER']) as p
                   where has_table_privilege($1, c.oid, p)) as whole,
            array(select p || ' ' || a.attname
                    from pg_attribute a, unnest(array['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) as p
                   where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                     and has_column_privilege($1, c.oid, a.attnum, p)
                   order by a.attnum, p) as columns
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'f')
        and n.nspname not in ('pg_catalog', 'information_schema')
        and (has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
             or has_any_column_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
      order by 1`,
    [reader],
  );
  const allowedTables = [...KEY_READER_COLUMNS.keys()].join(', ');
  for (const r of reach) {
    const allowed = KEY_READER_COLUMNS.get(r.name);
    if (!allowed) {
      problems.push(`role ${reader} can reach ${r.name} (only ${allowedTables})`);
      continue;
    }
    for (const p of r.whole) problems.push(`role ${reader} may ${p} ${r.name}`);
    for (const granted of r.columns) {
      const [privilege = '', column = ''] = granted.split(' ');
      if (!(allowed.get(privilege) ?? []).includes(column)) {
        problems.push(`role ${reader} may ${privilege} ${r.name}.${column}`);
      }
    }
  }

  const owned = await sql.query<{ name: string }>(
    `select format('relation %s', c.oid::regclass) as name from pg_class c where c.relowner = $1::regrole
     union all
     select format('function %s', p.oid::regprocedure) from pg_proc p
      where p.proowner = $1::regrole
        and not coalesce(p.oid = any (array(select to_regprocedure(f) from unnest($2::text[]) f)), false)
     order by 1`,
    [reader, KEY_READER_FUNCTIONS],
  );
  for (const o of owned) problems.push(`role ${reader} owns ${o.name}`);

  for (const signature of KEY_READER_FUNCTIONS) {
    const [fn] = await sql.query<{
      definer: boolean;
      owner: string;
      config: string[] | null;
      public_execute: boolean;
      app_execute: boolean;
      grantees: string[];
    }>(
      `select p.prosecdef as definer, pg_get_userbyid(p.proowner) as owner,
              p.proconfig as config,
              has_function_privilege('public', p.oid, 'EXECUTE') as public_execute,
              has_function_privilege($2, p.oid, 'EXECUTE') as app_execute,
              array(select distinct coalesce(r.rolname, 'PUBLIC')
                      from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                      left join pg_roles r on r.oid = a.grantee
                     where a.privilege_type = 'EXECUTE' and a.grantee <> p.proowner
                       and coalesce(r.rolname, 'PUBLIC') <> $2
                     order by 1)::text[] as grantees
         from pg_proc p where p.oid = to_regprocedure($1)`,
      [signature, appRole],
    );
    const name = `function ${signature}`;
    if (!fn) {
      problems.push(`${name}: missing (the API key lookup path)`);
      continue;
    }
    if (!fn.definer) problems.push(`${name}: not SECURITY DEFINER`);
    if (fn.owner !== reader) problems.push(`${name}: owned by ${fn.owner}, not ${reader}`);
    if (!(fn.config ?? []).includes(DEFINER_SEARCH_PATH)) {
      problems.push(`${name}: search_path is not fixed (SET ${DEFINER_SEARCH_PATH})`);
    }
    if (fn.public_execute) problems.push(`${name}: PUBLIC may EXECUTE it`);
    for (const g of fn.grantees.filter((g) => g !== 'PUBLIC')) {
      problems.push(`${name}: ${g} may EXECUTE it (only ${appRole})`);
    }
    if (!fn.app_execute) problems.push(`${name}: ${appRole} may not EXECUTE it`);
  }
  return problems;
}

/**
 * Start-up guard for a server connected as its own role: refuses to serve when the
 * connection could bypass row-level security.
 */
export async function assertAppRoleIsConfined(sql: SqlClient): Promise<void> {
  const rows = await sql.query<{ user: string }>('select current_user as "user"');
  const user = rows[0]?.user ?? '?';
  const problems = (await checkRls(sql, user)).filter((p) => p.startsWith(`role ${user}`));
  if (problems.length > 0) {
    throw new Error(
      `DATABASE_URL connects as ${user}, which can bypass row-level security:\n  ${problems.join('\n  ')}\n` +
        `Connect as the app role (${APP_ROLE}); see the README, "Running on PostgreSQL" (npm run db:setup makes it).`,
    );
  }
}
