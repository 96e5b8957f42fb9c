/**
 * `npm run tenant:create -- --slug acme --name "Acme Corp" --admin-subject <sub>
 * --admin-email <email> --admin-name <name> [--id <uuid>]`: creates an organisation with
 * its first admin (domain/identity/provisionTenant.ts), as the owner role — how a real deployment
 * starts without the demo seed. Prints the tenant's id: the identity provider's tokens
 * must carry it in the tenant claim (AUTH_TENANT_CLAIM). Bad options exit 2.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { openDatabase } from '../data/openDatabase.js';
import { provisionTenant, TenantInputError } from '../domain/identity/provisionTenant.js';
import { runCli } from './runCli.js';

const USAGE =
  'usage: npm run tenant:create -- --slug <slug> --name <name> --admin-subject <sub> --admin-email <email> --admin-name <display name> [--id <uuid>]';

runCli(async () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        slug: { type: 'string' },
        name: { type: 'string' },
        'admin-subject': { type: 'string' },
        'admin-email': { type: 'string' },
        'admin-name': { type: 'string' },
        id: { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  const { slug, name, id } = values;
  const adminSubject = values['admin-subject'];
  const adminEmail = values['admin-email'];
  const adminDisplayName = values['admin-name'];
  if (!slug || !name || !adminSubject || !adminEmail || !adminDisplayName) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const db = await openDatabase(config.database, {
    transactionTimeoutMs: config.transactionTimeoutMs,
  });
  try {
    const tenant = await db.asOwner((_sql, prisma) =>
      provisionTenant(prisma, {
        slug,
        name,
        adminSubject,
        adminEmail,
        adminDisplayName,
        ...(id ? { id } : {}),
      }),
    );
    process.stdout.write(
      [
        `created tenant ${tenant.slug}: id ${tenant.id}`,
        `  first admin: user ${tenant.adminUserId} (subject ${adminSubject}; roles ADMIN, MEMBER)`,
        `  tokens of this organisation carry "${tenant.id}" in the tenant claim (AUTH_TENANT_CLAIM)`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (error instanceof TenantInputError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await db.close();
  }
});
