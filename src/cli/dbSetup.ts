/**
 * `npm run db:setup [-- --recreate]`: provisions a real PostgreSQL server for Gatehouse,
 * connecting as an administrator (DATABASE_ADMIN_URL, e.g. postgres://postgres@127.0.0.1/postgres):
 * - the owner role (LOGIN, not superuser, no BYPASSRLS, NOINHERIT) that owns the database and
 *   runs migrations;
 * - the app role (LOGIN, NOSUPERUSER NOBYPASSRLS NOINHERIT) the server connects as;
 * - the relay role (NOLOGIN) of the relationship outbox relay and the audit checkpoint
 *   signer's role (NOLOGIN), which the app role may assume;
 * - the API key reader's role (NOLOGIN), owner of the key lookup functions: the owner role
 *   is a member (migrations hand the functions to it), the app role is not;
 * - the database named in DATABASE_URL, owned by the owner role, with `public` owned by
 *   it and closed to everyone else.
 * Role names and passwords come from DATABASE_OWNER_URL and DATABASE_URL. Idempotent;
 * `--recreate` drops the database first (development and CI only).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { connectPostgres, type SqlClient } from '../data/SqlClient.js';
import {
  APP_ROLE,
  AUDIT_SIGNER_ROLE,
  KEY_READER_ROLE,
  OWNER_ROLE,
  RELAY_ROLE,
} from '../data/roles.js';
import { runCli } from './runCli.js';

function credentialsOf(
  url: string,
  expectedRole: string,
  variable: string,
): { password: string; database: string } {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  if (user !== expectedRole)
    throw new Error(`${variable} must connect as ${expectedRole} (found "${user}")`);
  return {
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

async function ensureRole(
  sql: SqlClient,
  role: string,
  password: string,
  attributes: string,
): Promise<void> {
  const exists = await sql.query('select 1 from pg_roles where rolname = $1', [role]);
  const pw = password ? `password ${pg.escapeLiteral(password)}` : 'password null';
  await sql.exec(`${exists.length ? 'alter' : 'create'} role ${role} login ${attributes} ${pw}`);
}

runCli(async () => {
  const { values } = parseArgs({ options: { recreate: { type: 'boolean', default: false } } });
  const adminUrl = process.env['DATABASE_ADMIN_URL'];
  if (!adminUrl)
    throw new Error(
      'db:setup needs DATABASE_ADMIN_URL (a role allowed to create roles and databases)',
    );
  const config = loadConfig();
  if (config.database.kind !== 'postgres' || !config.database.ownerUrl) {
    throw new Error('db:setup needs DATABASE_URL (app role) and DATABASE_OWNER_URL (owner role)');
  }
  const app = credentialsOf(config.database.url, APP_ROLE, 'DATABASE_URL');
  const owner = credentialsOf(config.database.ownerUrl, OWNER_ROLE, 'DATABASE_OWNER_URL');
  if (app.database !== owner.database)
    throw new Error('DATABASE_URL and DATABASE_OWNER_URL must name the same database');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(app.database))
    throw new Error(`unsupported database name "${app.database}"`);
  const database = app.database;

  const admin = await connectPostgres(adminUrl);
  try {
    // NOINHERIT: the owner is a member of the signer role (the audit CLI lists chains as it)
    // but gets none of its reach unless it SETs that role explicitly.
    await ensureRole(
      admin,
      OWNER_ROLE,
      owner.password,
      'nosuperuser nobypassrls nocreaterole nocreatedb noinherit',
    );
    await ensureRole(
      admin,
      APP_ROLE,
      app.password,
      'nosuperuser nobypassrls nocreaterole nocreatedb noinherit',
    );
    // The outbox relay's, the audit checkpoint signer's and the API key reader's roles:
    // NOLOGIN (see the migrations for what each may reach).
    for (const role of [RELAY_ROLE, AUDIT_SIGNER_ROLE, KEY_READER_ROLE]) {
      const exists = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
      if (exists.length === 0) {
        await admin.exec(
          `create role ${role} nologin nosuperuser nobypassrls nocreaterole nocreatedb noinherit`,
        );
      }
    }
    // The app role may SET ROLE to the relay and the signer; the key reader it reaches only
    // through the two functions the reader owns (EXECUTE), never as a member.
    await admin.exec(`grant ${RELAY_ROLE} to ${APP_ROLE}`);
    await admin.exec(`grant ${AUDIT_SIGNER_ROLE} to ${APP_ROLE}`);
    // The operator's audit CLI runs as the owner and lists the chains as the signer.
    await admin.exec(`grant ${AUDIT_SIGNER_ROLE} to ${OWNER_ROLE}`);
    // Migrations (as the owner) make the key reader own the key lookup functions, which
    // ALTER FUNCTION … OWNER TO allows only to a member of the new owner.
    await admin.exec(`grant ${KEY_READER_ROLE} to ${OWNER_ROLE}`);
    if (values.recreate) await admin.exec(`drop database if exists ${database} with (force)`);
    const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.length === 0) await admin.exec(`create database ${database} owner ${OWNER_ROLE}`);
    await admin.exec(
      `revoke all on database ${database} from public; grant connect on database ${database} to ${APP_ROLE}`,
    );
  } finally {
    await admin.close();
  }
  const adminInDb = new URL(adminUrl);
  adminInDb.pathname = `/${database}`;
  const db = await connectPostgres(adminInDb.toString());
  try {
    await db.exec(
      `alter schema public owner to ${OWNER_ROLE}; revoke all on schema public from public`,
    );
  } finally {
    await db.close();
  }
  process.stdout.write(`database ${database} ready: owner ${OWNER_ROLE}, app role ${APP_ROLE}\n`);
});
