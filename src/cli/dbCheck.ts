/**
 * `npm run db:check`: fails (exit 1) listing every table without enabled and forced RLS,
 * missing tenant policies, unsafe views, or an app role that could bypass RLS.
 */
import { loadConfig } from '../config.js';
import { connectPostgres, type SqlClient } from '../data/SqlClient.js';
import { openDatabase } from '../data/openDatabase.js';
import { checkRls } from '../data/rlsCheck.js';
import { runCli } from './runCli.js';

async function report(sql: SqlClient, appRole?: string): Promise<number> {
  const problems = await checkRls(sql, appRole);
  if (problems.length === 0) {
    process.stdout.write(
      'db:check ok: every table has enabled and forced row-level security; the app role cannot bypass it\n',
    );
    return 0;
  }
  process.stderr.write(`db:check failed:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  return 1;
}

runCli(async () => {
  const config = loadConfig();
  if (config.database.kind === 'embedded') {
    const db = await openDatabase(config.database, {
      transactionTimeoutMs: config.transactionTimeoutMs,
    });
    try {
      return await db.asOwner((sql) => report(sql));
    } finally {
      await db.close();
    }
  }
  // Connect as the app role itself: the check then also covers the role the server uses.
  const sql = await connectPostgres(config.database.url);
  try {
    const rows = await sql.query<{ user: string }>('select current_user as "user"');
    return await report(sql, rows[0]?.user);
  } finally {
    await sql.close();
  }
});
