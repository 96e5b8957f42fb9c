/** `npm run db:seed`: creates the demo tenants (idempotent) as the owner role. */
import { loadConfig } from '../config.js';
import { openDatabase } from '../data/openDatabase.js';
import { seedDemoData } from '../demo/seedDemoData.js';
import { runCli } from './runCli.js';

runCli(async () => {
  const config = loadConfig();
  const db = await openDatabase(config.database, {
    transactionTimeoutMs: config.transactionTimeoutMs,
  });
  try {
    const result = await db.asOwner((_sql, prisma) => seedDemoData(prisma));
    process.stdout.write(
      `created: ${result.created.join(', ') || '-'}; already present: ${result.existing.join(', ') || '-'}\n`,
    );
  } finally {
    await db.close();
  }
});
