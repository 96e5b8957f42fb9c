/**
 * API keys of service accounts against the real database (embedded PGlite, or the
 * PostgreSQL of DATABASE_URL / DATABASE_OWNER_URL): the verifier (authn/ApiKeyVerifier.ts)
 * through the data layer's lookup (data/ApiKeyLookup.ts), which calls the SECURITY
 * DEFINER functions of the service accounts migration as the app role.
 *
 * Service accounts and keys are inserted by the owner role inside a tenant transaction
 * (there are no operations for them yet), as createTestTenant provisions tenants.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ApiKeyVerifier,
  type ApiKeyLookup,
  type ApiKeyVerifierOptions,
} from '../../src/authn/ApiKeyVerifier.js';
import { generateApiKey, hashApiKey, sameHash } from '../../src/authn/apiKeys.js';
import { NEVER_EXPIRES, type Principal } from '../../src/authn/Principal.js';
import { AuthenticationError } from '../../src/authn/TokenVerifier.js';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { APP_ROLE, KEY_READER_ROLE } from '../../src/data/roles.js';
import type { TenantTx } from '../../src/data/TenantDatabase.js';
import { recordingLogger } from '../support/recordingLogger.js';
import {
  asTenantOwner,
  createApiKey,
  createServiceAccount,
  type TestApiKey as Key,
  type TestServiceAccount as Account,
} from '../support/serviceAccounts.js';
import { sqlRejection } from '../support/sqlErrors.js';
import { createTestTenant, openTestDatabase, type TestTenant } from '../support/testDatabase.js';

const PEPPER = new Uint8Array(randomBytes(32));
const SCOPES = ['workflows:read', 'graphql:any-document'];
const HOUR_MS = 3_600_000;

let db: OpenDatabase;
let a: TestTenant;
let b: TestTenant;
const verifiers: ApiKeyVerifier[] = [];

beforeAll(async () => {
  db = await openTestDatabase();
  a = await createTestTenant(db, 1);
  b = await createTestTenant(db, 1);
});

afterAll(async () => {
  for (const v of verifiers) await v.close();
  await db.close();
});

/** A verifier on the database's lookup; no timer unless asked (flush() by hand). */
function verifier(options: Partial<ApiKeyVerifierOptions> = {}): ApiKeyVerifier {
  const v = new ApiKeyVerifier({
    lookup: db.apiKeys,
    pepper: PEPPER,
    touchIntervalMs: 0,
    ...options,
  });
  verifiers.push(v);
  return v;
}

/** Runs `work` as the owner role in `tenantId`'s tenant transaction. */
function asOwner<T>(tenantId: string, work: (tx: TenantTx) => Promise<T>): Promise<T> {
  return asTenantOwner(db, tenantId, work);
}

/**
 * Runs `work` as the app role outside any tenant transaction (no app.tenant_id), as the
 * lookup does: the app role's own connection on PostgreSQL, SET LOCAL ROLE on PGlite.
 */
function asAppWithoutTenant<T>(work: (tx: TenantTx) => Promise<T>): Promise<T> {
  return db.prisma.$transaction(async (tx) => {
    if (db.kind === 'embedded') {
      await tx.$executeRawUnsafe(`select set_config('role', $1, true)`, APP_ROLE);
    }
    return work(tx);
  });
}

function createAccount(tenantId: string, active = true): Promise<Account> {
  return createServiceAccount(db, tenantId, active);
}

function createKey(
  account: Account,
  fields: { expiresAt?: Date; revokedAt?: Date; hash?: Uint8Array; scopes?: string[] } = {},
): Promise<Key> {
  return createApiKey(db, PEPPER, account, { scopes: SCOPES, ...fields });
}

async function lastUsed(k: Key): Promise<Date | null> {
  const rows = await asOwner(k.tenantId, (tx) =>
    tx.$queryRawUnsafe<Array<{ last_used_at: Date | null }>>(
      'select last_used_at from api_keys where id = $1',
      k.id,
    ),
  );
  return rows[0]?.last_used_at ?? null;
}

async function refusal(work: Promise<Principal>): Promise<AuthenticationError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(AuthenticationError);
    return error as AuthenticationError;
  }
  throw new Error('the key was accepted');
}

describe('ApiKeyVerifier', () => {
  it('turns a good key into a service principal of its tenant', async () => {
    const account = await createAccount(a.id);
    const k = await createKey(account);
    expect(await verifier().verify(k.key)).toEqual({
      kind: 'service',
      subject: `service:${account.id}`,
      tenantId: a.id,
      roles: [],
      scopes: SCOPES,
      amr: ['api_key'],
      expiresAt: NEVER_EXPIRES,
      tokenId: k.id,
    } satisfies Principal);
    expect(new Date(NEVER_EXPIRES * 1000).toISOString()).toBe('9999-12-31T23:59:59.000Z');

    const expiresAt = new Date(Date.now() + HOUR_MS + 123);
    const expiring = await createKey(account, { expiresAt, scopes: [] });
    expect(await verifier().verify(expiring.key)).toMatchObject({
      scopes: [],
      expiresAt: Math.floor(expiresAt.getTime() / 1000),
    });
  });

  it('refuses a wrong secret, an unknown id, a revoked or expired key and an inactive account alike', async () => {
    const account = await createAccount(a.id);
    const inactive = await createAccount(a.id, false);
    const good = await createKey(account);
    const cases = {
      wrong_secret: `${good.key.slice(0, 29)}${generateApiKey().key.slice(29)}`,
      unknown_id: generateApiKey().key,
      revoked: (await createKey(account, { revokedAt: new Date() })).key,
      expired: (await createKey(account, { expiresAt: new Date(Date.now() - 1000) })).key,
      account_inactive: (await createKey(inactive)).key,
    };
    const v = verifier();
    const found: Record<string, unknown> = {};
    for (const [name, key] of Object.entries(cases)) {
      const error = await refusal(v.verify(key));
      found[name] = { reason: error.reason, message: error.message, detail: error.detail };
    }
    // One reason and message for every case (what a client could ever learn); the detail
    // is for logs.
    expect(found).toEqual(
      Object.fromEntries(
        Object.keys(cases).map((name) => [
          name,
          { reason: 'invalid_api_key', message: 'authentication failed', detail: name },
        ]),
      ),
    );
    // A key that expires while the verifier runs is refused from then on.
    const soon = await createKey(account, { expiresAt: new Date(Date.now() + 60_000) });
    let now = Date.now();
    const clocked = verifier({ now: () => now });
    await expect(clocked.verify(soon.key)).resolves.toMatchObject({ tenantId: a.id });
    now += 60_000;
    expect((await refusal(clocked.verify(soon.key))).detail).toBe('expired');
  });

  it('refuses malformed keys before any lookup', async () => {
    const find = vi.fn(db.apiKeys.find.bind(db.apiKeys));
    const lookup: ApiKeyLookup = { find, touch: () => Promise.resolve() };
    const v = verifier({ lookup });
    const { key } = generateApiKey();
    for (const text of [
      '',
      'ghk_',
      key.slice(0, -1),
      `${key} `,
      key.toUpperCase(),
      'x'.repeat(1e5),
    ]) {
      expect((await refusal(v.verify(text))).reason).toBe('malformed_api_key');
    }
    expect(find).not.toHaveBeenCalled();
  });

  it('does the same work for an unknown id as for a known id with a wrong secret', async () => {
    const account = await createAccount(a.id);
    const k = await createKey(account);
    const hash = vi.fn(hashApiKey);
    const compare = vi.fn(sameHash);
    const find = vi.fn(db.apiKeys.find.bind(db.apiKeys));
    const v = verifier({ hash, compare, lookup: { find, touch: () => Promise.resolve() } });

    const calls = async (key: string) => {
      for (const spy of [hash, compare, find]) spy.mockClear();
      await refusal(v.verify(key));
      return {
        finds: find.mock.calls.length,
        hashes: hash.mock.calls.map(([, text]) => text),
        compared: compare.mock.calls.map(([x, y]) => [x.length, y.length]),
        outcomes: compare.mock.results.map((r) => r.value as unknown),
      };
    };
    const unknown = generateApiKey().key;
    const wrongSecret = `${k.key.slice(0, 29)}${generateApiKey().key.slice(29)}`;
    const forUnknown = await calls(unknown);
    const forWrongSecret = await calls(wrongSecret);
    // One lookup, one HMAC of the presented key, one comparison of two 32-byte hashes (for
    // the unknown id against the dummy hash: compared, not skipped).
    expect(forUnknown).toEqual({
      finds: 1,
      hashes: [unknown],
      compared: [[32, 32]],
      outcomes: [false],
    });
    expect(forWrongSecret).toEqual({
      finds: 1,
      hashes: [wrongSecret],
      compared: [[32, 32]],
      outcomes: [false],
    });
    // And a good key takes the same steps.
    for (const spy of [hash, compare, find]) spy.mockClear();
    await v.verify(k.key);
    expect([find.mock.calls.length, hash.mock.calls.length, compare.mock.calls.length]).toEqual([
      1, 1, 1,
    ]);
  });
});

describe('tenant isolation of service accounts and keys', () => {
  it('a key of tenant A never yields tenant B, and a hash copied into B does not verify', async () => {
    const inA = await createKey(await createAccount(a.id));
    const accountB = await createAccount(b.id);
    const inB = await createKey(accountB);
    const v = verifier();
    expect((await v.verify(inA.key)).tenantId).toBe(a.id);
    expect((await v.verify(inB.key)).tenantId).toBe(b.id);

    // A's hash in a row of B (another id): the hash covers the id, so A's secret under
    // B's id is still wrong.
    const copied = await createKey(accountB, { hash: hashApiKey(PEPPER, inA.key) });
    const transplanted = `ghk_${copied.id}_${inA.key.slice(29)}`;
    expect((await refusal(v.verify(transplanted))).detail).toBe('wrong_secret');
    // Mixing A's id with B's secret, and the reverse.
    for (const mixed of [
      `ghk_${inA.id}_${inB.key.slice(29)}`,
      `ghk_${inB.id}_${inA.key.slice(29)}`,
    ]) {
      expect((await refusal(v.verify(mixed))).reason).toBe('invalid_api_key');
    }
    // An id exists once across all tenants, so the lookup is never ambiguous.
    const duplicate = await sqlRejection(
      asOwner(b.id, (tx) =>
        tx.$executeRawUnsafe(
          `insert into api_keys (tenant_id, id, service_account_id, hash, last_four, scopes)
           values ($1::uuid, $2, $3::uuid, $4, 'abcd', '{}')`,
          b.id,
          inA.id,
          accountB.id,
          hashApiKey(PEPPER, inA.key),
        ),
      ),
    );
    expect(duplicate).toMatchObject({
      code: '23505',
      message: expect.stringContaining('api_keys_id_key') as unknown,
    });
  });

  it('the app role sees only its own tenant’s accounts and keys, and none without a tenant', async () => {
    const inA = await createKey(await createAccount(a.id));
    const inB = await createKey(await createAccount(b.id));
    const seen = await db.tenants.transaction(
      { tenantId: b.id, subject: b.users[0]!.subject },
      'write',
      async (tx) => ({
        keys: await tx.$queryRawUnsafe<Array<{ tenant_id: string; id: string }>>(
          'select tenant_id, id from api_keys',
        ),
        accounts: await tx.$queryRawUnsafe<Array<{ tenant_id: string }>>(
          'select tenant_id from service_accounts',
        ),
        byId: await tx.$queryRawUnsafe<unknown[]>('select * from api_keys where id = $1', inA.id),
        revoked: await tx.$executeRawUnsafe(
          'update api_keys set revoked_at = now() where id = $1',
          inA.id,
        ),
      }),
    );
    expect(seen.keys.map((k) => k.id)).toContain(inB.id);
    expect(new Set(seen.keys.map((k) => k.tenant_id))).toEqual(new Set([b.id]));
    expect(new Set(seen.accounts.map((r) => r.tenant_id))).toEqual(new Set([b.id]));
    expect(seen.byId).toEqual([]);
    expect(seen.revoked).toBe(0);
    expect((await verifier().verify(inA.key)).tenantId).toBe(a.id); // still good

    const withoutTenant = await asAppWithoutTenant(async (tx) => ({
      keys: await tx.$queryRawUnsafe<unknown[]>('select * from api_keys'),
      accounts: await tx.$queryRawUnsafe<unknown[]>('select * from service_accounts'),
    }));
    expect(withoutTenant).toEqual({ keys: [], accounts: [] });
  });

  it('the app role reaches keys across tenants only through the two functions', async () => {
    const inA = await createKey(await createAccount(a.id));
    // It is not a member of the key reader, so it cannot become it.
    const [membership] = await asAppWithoutTenant((tx) =>
      tx.$queryRawUnsafe<Array<{ member: boolean }>>(
        `select pg_has_role(current_user, $1, 'MEMBER') as member`,
        KEY_READER_ROLE,
      ),
    );
    expect(membership).toEqual({ member: false });
    if (db.kind === 'postgres') {
      // (SET ROLE asks whether the session user is a member: on PGlite that is the
      // superuser, so only PostgreSQL, where the session is the app role's, shows it.)
      const setRole = await sqlRejection(
        asAppWithoutTenant((tx) => tx.$executeRawUnsafe(`set local role ${KEY_READER_ROLE}`)),
      );
      expect(setRole).toEqual({
        code: '42501',
        message: `permission denied to set role "${KEY_READER_ROLE}"`,
      });
    }
    // Every function it may execute that runs with another role's rights (SECURITY
    // DEFINER, outside the system catalogs): exactly the two.
    const definers = await asAppWithoutTenant((tx) =>
      tx.$queryRawUnsafe<Array<{ fn: string; owner: string }>>(
        `select p.oid::regprocedure::text as fn, pg_get_userbyid(p.proowner) as owner
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
            and has_function_privilege(current_user, p.oid, 'EXECUTE')
          order by 1`,
      ),
    );
    expect(definers).toEqual([
      { fn: 'api_key_lookup(text)', owner: KEY_READER_ROLE },
      { fn: 'api_keys_touch(text[])', owner: KEY_READER_ROLE },
    ]);
    // The lookup matches an id exactly: no pattern, no empty id, no NULL lists anything.
    const listed = await asAppWithoutTenant(async (tx) => {
      const out: number[] = [];
      for (const probe of [
        '%',
        '',
        `${inA.id.slice(0, 10)}%`,
        ` ${inA.id}`,
        inA.id.toUpperCase(),
      ]) {
        out.push(
          (await tx.$queryRawUnsafe<unknown[]>('select * from api_key_lookup($1)', probe)).length,
        );
      }
      out.push((await tx.$queryRawUnsafe<unknown[]>('select * from api_key_lookup(null)')).length);
      out.push(
        (await tx.$queryRawUnsafe<unknown[]>('select * from api_key_lookup($1)', inA.id)).length,
      );
      return out;
    });
    expect(listed).toEqual([0, 0, 0, 0, 0, 0, 1]);
    // The lookup hands back what the verifier needs, nothing more (no name, no last_four).
    const [row] = await asAppWithoutTenant((tx) =>
      tx.$queryRawUnsafe<Array<Record<string, unknown>>>(
        'select * from api_key_lookup($1)',
        inA.id,
      ),
    );
    expect(Object.keys(row ?? {}).sort()).toEqual([
      'account_active',
      'expires_at',
      'hash',
      'revoked_at',
      'scopes',
      'service_account_id',
      'tenant_id',
    ]);
  });
});

describe('last_used_at', () => {
  it('is written once per flush, for every key used since the last one', async () => {
    const account = await createAccount(a.id);
    const [one, two, idle] = [
      await createKey(account),
      await createKey(account),
      await createKey(account),
    ];
    const touch = vi.fn(db.apiKeys.touch.bind(db.apiKeys));
    const v = verifier({ lookup: { find: db.apiKeys.find.bind(db.apiKeys), touch } });

    for (let i = 0; i < 5; i++) await v.verify(one.key);
    await v.verify(two.key);
    await refusal(v.verify(`${idle.key.slice(0, 29)}${generateApiKey().key.slice(29)}`));
    // Nothing written per request.
    expect(touch).not.toHaveBeenCalled();
    expect(await lastUsed(one)).toBeNull();

    await v.flush();
    expect(touch.mock.calls).toEqual([[[one.id, two.id]]]);
    const first = await lastUsed(one);
    expect(first).toBeInstanceOf(Date);
    expect(await lastUsed(two)).toBeInstanceOf(Date);
    // A failed verification is not a use.
    expect(await lastUsed(idle)).toBeNull();

    await v.flush(); // nothing new: no call
    expect(touch).toHaveBeenCalledTimes(1);

    await new Promise((resolve) => setTimeout(resolve, 20));
    await v.verify(one.key);
    await v.close(); // close flushes what is pending
    expect(touch.mock.calls).toEqual([[[one.id, two.id]], [[one.id]]]);
    expect((await lastUsed(one))!.getTime()).toBeGreaterThan(first!.getTime());
  });

  it('is flushed by the timer, and a failed write is kept for the next flush', async () => {
    const account = await createAccount(a.id);
    const k = await createKey(account);
    let failures = 1;
    const touch = vi.fn(async (ids: readonly string[]) => {
      if (failures-- > 0) throw new Error('database away');
      await db.apiKeys.touch(ids);
    });
    const { logger, lines } = recordingLogger();
    const v = verifier({
      touchIntervalMs: 50,
      lookup: { find: db.apiKeys.find.bind(db.apiKeys), touch },
      logger,
    });
    await v.verify(k.key);
    await vi.waitFor(async () => expect(await lastUsed(k)).toBeInstanceOf(Date), {
      timeout: 5_000,
    });
    expect(lines).toEqual([
      {
        level: 'warn',
        message: 'recording API key use failed',
        fields: { error: new Error('database away'), keys: 1 },
      },
    ]);
    expect(touch.mock.calls.map(([ids]) => ids)).toEqual([[k.id], [k.id]]);
  });
});
