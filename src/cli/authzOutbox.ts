/**
 * `npm run authz:outbox [-- --min-attempts <n>]`: lists relationship outbox entries that
 * keep failing to reach SpiceDB (exit 1 when there are any), so an operator sees stuck
 * relationship changes. Connects like the server (DATABASE_URL) and reads as the relay role.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { listStuckEntries } from '../authz/outbox/OutboxRelay.js';
import { openDatabase } from '../data/openDatabase.js';
import { runCli } from './runCli.js';

runCli(async () => {
  const { values } = parseArgs({ options: { 'min-attempts': { type: 'string', default: '3' } } });
  const minAttempts = Number(values['min-attempts']);
  if (!Number.isInteger(minAttempts) || minAttempts < 1)
    throw new Error('--min-attempts must be a positive integer');
  const config = loadConfig();
  const db = await openDatabase(config.database, {
    transactionTimeoutMs: config.transactionTimeoutMs,
  });
  try {
    const stuck = await listStuckEntries(db.prisma, minAttempts);
    if (stuck.length === 0) {
      process.stdout.write(`authz:outbox ok: no entry has failed ${minAttempts} or more times\n`);
      return 0;
    }
    for (const e of stuck) {
      process.stdout.write(
        `${e.tenantId} #${e.id} attempts=${e.attempts} since=${e.createdAt.toISOString()} ${e.lastError ?? ''}\n`,
      );
    }
    return 1;
  } finally {
    await db.close();
  }
});
