/**
 * `npm run db:migrate`: applies prisma/migrations as the owner role — DATABASE_OWNER_URL
 * on PostgreSQL, or the embedded database at PGLITE_DATA_DIR.
 */
import { loadConfig } from '../config.js';
import { connectPostgres } from '../data/SqlClient.js';
import { migrate } from '../data/migrator.js';
import { openDatabase } from '../data/openDatabase.js';
import { runCli } from './runCli.js';

runCli(async () => {
  const config = loadConfig();
  if (config.database.kind === 'embedded') {
    const db = await openDatabase(config.database, {
      transactionTimeoutMs: config.transactionTimeoutMs,
    });
    await db.close();
    process.stdout.write(`embedded database at ${config.database.dataDir} is migrated\n`);
    return;
  }
  if (!config.database.ownerUrl)
    throw new Error('db:migrate needs DATABASE_OWNER_URL (the owner role)');
  const sql = await connectPostgres(config.database.ownerUrl);
  try {
    const result = await migrate(sql);
    for (const name of result.applied) process.stdout.write(`applied  ${name}\n`);
    process.stdout.write(
      `${result.applied.length} applied, ${result.alreadyApplied.length} already applied\n`,
    );
  } finally {
    await sql.close();
  }
});
