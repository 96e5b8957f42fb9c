/**
 * `npm run db:seed`: creates the demo tenants (idempotent) as the owner role. Credential
 * secrets are sealed with CREDENTIAL_KEYS (or the development key), so seed with the same
 * keys the server uses.
 */
import { loadConfig } from '../config.js';
import { openDatabase } from '../data/openDatabase.js';
import { seedDemoData } from '../demo/seedDemoData.js';
import { openSecretBox } from '../domain/secretBox.js';
import { runCli } from './runCli.js';

runCli(async () => {
  const config = loadConfig();
  const db = await openDatabase(config.database, {
    transactionTimeoutMs: config.transactionTimeoutMs,
  });
  try {
    const secrets = await openSecretBox(config.credentialKeys);
    const result = await db.asOwner((_sql, prisma) => seedDemoData(prisma, secrets));
    process.stdout.write(
      `created: ${result.created.join(', ') || '-'}; already present: ${result.existing.join(', ') || '-'}\n`,
    );
  } finally {
    await db.close();
  }
});
