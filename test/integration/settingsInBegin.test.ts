/**
 * The tenant setting of a transaction goes with its BEGIN on PostgreSQL
 * (data/settingsInBegin.ts): one round trip instead of two, every setting an escaped
 * literal, and nothing of the principal in the statement. Against the real PostgreSQL of
 * the run (embedded: the adapter sends its own BEGIN and the settings follow as the first
 * statement — the fallback, which must hold just the same).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginWithSettings } from '../../src/data/settingsInBegin.js';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import {
  createTestTenant,
  openTestDatabase,
  usingPostgres,
  type TestTenant,
} from '../support/testDatabase.js';

type Probe = { tenant: string; user: string | null; ro: string; workflows: bigint };
const PROBE = `select current_setting('app.tenant_id') as tenant, current_setting('app.user_id', true) as "user",
  current_setting('transaction_read_only') as ro, (select count(*) from workflows) as workflows`;

describe('tenant settings sent with BEGIN', () => {
  let db: OpenDatabase;
  let tenant: TestTenant;

  beforeAll(async () => {
    db = await openTestDatabase();
    tenant = await createTestTenant(db, 1);
  });

  afterAll(async () => {
    await db.close();
  });

  it('writes each setting as a literal, quotes and backslashes escaped', () => {
    expect(beginWithSettings([['app.user_id', "o'brien\\"]])).toBe(
      "BEGIN; select set_config('app.user_id',  E'o''brien\\\\', true)",
    );
  });

  it('tells the database the tenant and nothing of the principal, for either mode', async () => {
    // A subject made of SQL: were it ever written into a statement, this would show.
    const subject = `x'); select set_config('app.tenant_id', '00000000-0000-0000-0000-000000000000', true); drop table workflows; --\\'`;
    const before = db.tenants.settingsSentWithBegin;
    for (const mode of ['read', 'write'] as const) {
      const probe = await db.tenants.transaction(
        { tenantId: tenant.id, subject },
        mode,
        async (tx) => (await tx.$queryRawUnsafe<Probe[]>(PROBE))[0]!,
      );
      expect(probe).toEqual({
        tenant: tenant.id,
        user: null,
        ro: mode === 'read' ? 'on' : 'off',
        workflows: 0n,
      });
    }
    // PostgreSQL: both BEGINs carried the settings; embedded: neither (the fallback ran).
    expect(db.tenants.settingsSentWithBegin - before).toBe(usingPostgres ? 2 : 0);
  });

  // (PostgreSQL: the embedded database has one connection, so no transaction begins inside another.)
  it.runIf(usingPostgres)(
    'applies the settings to the one transaction they were sent for, not to one it starts',
    async () => {
      const other = await createTestTenant(db, 1);
      const inner = await db.tenants.transaction(
        { tenantId: tenant.id, subject: 'outer' },
        'read',
        async (tx) => {
          // A second transaction begun while the first is open gets its own settings.
          const nested = await db.tenants.transaction(
            { tenantId: other.id, subject: 'inner' },
            'read',
            async (tx2) => (await tx2.$queryRawUnsafe<Probe[]>(PROBE))[0]!,
          );
          const outer = (await tx.$queryRawUnsafe<Probe[]>(PROBE))[0]!;
          return { nested, outer };
        },
      );
      expect(inner.nested).toMatchObject({ tenant: other.id });
      expect(inner.outer).toMatchObject({ tenant: tenant.id });
    },
  );
});
