/**
 * The database a test runs against: the real PostgreSQL of DATABASE_URL (app role) and
 * DATABASE_OWNER_URL (owner role) when set — as in CI — otherwise a fresh in-memory
 * embedded PostgreSQL (PGlite) per test file. Both are migrated and use the same roles.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_POOL, type DatabaseConfig, type PoolSettings } from '../../src/config.js';
import { openDatabase, type OpenDatabase } from '../../src/data/openDatabase.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import { enqueueRelationships, touch } from '../../src/authz/outbox/RelationshipOutbox.js';
import { teamTuples, userTuples } from '../../src/authz/RelationshipTuple.js';

export const usingPostgres = Boolean(process.env['DATABASE_URL']);

export function testDatabaseConfig(): DatabaseConfig {
  const url = process.env['DATABASE_URL'];
  if (!url) return { kind: 'embedded', dataDir: 'memory://' };
  const ownerUrl = process.env['DATABASE_OWNER_URL'];
  if (!ownerUrl) throw new Error('tests against DATABASE_URL also need DATABASE_OWNER_URL');
  return { kind: 'postgres', url, ownerUrl };
}

export function openTestDatabase(): Promise<OpenDatabase> {
  return openDatabase(testDatabaseConfig(), { transactionTimeoutMs: 20_000 });
}

/**
 * The run's PostgreSQL through the production request pool (prepared statements, settings
 * sent with BEGIN) with `pool` over the defaults — e.g. a single connection, on which a
 * setting or a plan left behind would show. PostgreSQL runs only.
 */
export function openTestPool(pool: Partial<PoolSettings>): Promise<OpenDatabase> {
  const config = testDatabaseConfig();
  if (config.kind !== 'postgres') throw new Error('openTestPool needs DATABASE_URL');
  return openDatabase(
    { ...config, pool: { ...DEFAULT_POOL, ...pool } },
    { transactionTimeoutMs: 20_000 },
  );
}

export interface TestTenant {
  readonly id: string;
  readonly slug: string;
  readonly users: ReadonlyArray<{
    readonly id: string;
    readonly subject: string;
    readonly email: string;
  }>;
  readonly teamId: string;
}

/**
 * Provisions a tenant with `userCount` users and one team, with fresh random ids, as the
 * owner role (through RLS, like the seed). Tests never share rows this way.
 */
export async function createTestTenant(db: OpenDatabase, userCount = 2): Promise<TestTenant> {
  const id = randomUUID();
  const slug = `t-${id.slice(0, 8)}`;
  const users = Array.from({ length: userCount }, (_, i) => ({
    id: randomUUID(),
    subject: `test|${slug}|u${i}`,
    email: `u${i}@${slug}.example`,
  }));
  const teamId = randomUUID();
  await db.asOwner(async (_sql, prisma) => {
    const owner = new TenantDatabase(prisma, { timeoutMs: 20_000 });
    await owner.transaction({ tenantId: id, subject: 'test-setup' }, 'write', async (tx) => {
      await tx.tenant.create({ data: { id, slug, name: `Tenant ${slug}` } });
      await tx.user.createMany({
        data: users.map((u, i) => ({
          tenantId: id,
          ...u,
          displayName: `User ${i}`,
          roles: i === 0 ? ['ADMIN'] : ['MEMBER'],
          grantedRoles: i === 0 ? ['ADMIN'] : ['MEMBER'],
        })),
      });
      await tx.team.create({ data: { tenantId: id, id: teamId, name: 'Team' } });
      // Relationships go through the outbox, as in the application; the server's relay
      // (or TestServer.createTenant) applies them to SpiceDB.
      await enqueueRelationships(tx, id, [
        ...users.flatMap((u, i) =>
          userTuples(id, { id: u.id, roles: i === 0 ? ['ADMIN'] : ['MEMBER'] }).map(touch),
        ),
        ...teamTuples(id, { id: teamId }).map(touch),
      ]);
    });
  });
  return { id, slug, users, teamId };
}
