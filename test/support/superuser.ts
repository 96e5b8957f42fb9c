/**
 * A superuser connection to the test database, for tests that play an attacker with full
 * database access (disabling the audit trail's trigger, say): PostgreSQL's administrator
 * (DATABASE_ADMIN_URL, on the test database), or the embedded database's own superuser.
 */
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { connectPostgres, type SqlClient } from '../../src/data/SqlClient.js';
import { OWNER_ROLE } from '../../src/data/roles.js';

export async function asSuperuser<T>(
  db: OpenDatabase,
  work: (sql: SqlClient) => Promise<T>,
): Promise<T> {
  if (db.kind === 'embedded') {
    return db.asOwner(async (sql) => {
      await sql.exec('reset role');
      try {
        return await work(sql);
      } finally {
        await sql.exec(`set role ${OWNER_ROLE}`);
      }
    });
  }
  const admin = process.env['DATABASE_ADMIN_URL'];
  const app = process.env['DATABASE_URL'];
  if (!admin || !app) throw new Error('superuser tests need DATABASE_ADMIN_URL and DATABASE_URL');
  const url = new URL(admin);
  url.pathname = new URL(app).pathname;
  const sql = await connectPostgres(url.toString());
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}

/**
 * PostgreSQL's administrator (DATABASE_ADMIN_URL) on another database of the machine's
 * server — one a test made for SpiceDB's datastore or a cluster — for as long as `work` runs.
 */
export async function asAdministratorOf<T>(
  database: string,
  work: (sql: SqlClient) => Promise<T>,
): Promise<T> {
  const admin = process.env['DATABASE_ADMIN_URL'];
  if (!admin) throw new Error('this test needs DATABASE_ADMIN_URL');
  const url = new URL(admin);
  url.pathname = `/${database}`;
  const sql = await connectPostgres(url.toString());
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}
