/**
 * Gate 5's table on a real database (PostgreSQL of DATABASE_URL, or embedded PGlite): the
 * chain of each tenant is gapless under concurrent appends and across rollbacks, appends of
 * one tenant never wait for another's, the trail is append-only for the app role and —
 * through its trigger — for the owner too, `db:check` notices when that protection is
 * gone, and row-level security keeps tenants' trails apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents } from '../../src/audit/appendAuditEvents.js';
import type { AuditEventInput } from '../../src/audit/AuditEvent.js';
import { readChainHead, readEventsAfter, type AuditQuery } from '../../src/audit/auditRows.js';
import { verifyAuditChain } from '../../src/audit/verifyAuditChain.js';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { checkRls } from '../../src/data/rlsCheck.js';
import type { AccessMode, TenantTx } from '../../src/data/TenantDatabase.js';
import { rejection, sqlRejection } from '../support/sqlErrors.js';
import { asSuperuser } from '../support/superuser.js';
import { createTestTenant, openTestDatabase, type TestTenant } from '../support/testDatabase.js';

let db: OpenDatabase;
let a: TestTenant;
let b: TestTenant;

beforeAll(async () => {
  db = await openTestDatabase();
  [a, b] = [await createTestTenant(db), await createTestTenant(db)];
});
afterAll(async () => {
  await db.close();
});

function as<T>(t: TestTenant, mode: AccessMode, work: (tx: TenantTx) => Promise<T>): Promise<T> {
  return db.tenants.transaction({ tenantId: t.id, subject: t.users[0]!.subject }, mode, work);
}

const queryOf =
  (tx: TenantTx): AuditQuery =>
  (sql, params) =>
    tx.$queryRawUnsafe(sql, ...params);

function event(action: string, n = 0): AuditEventInput {
  return {
    actor: { subject: 'test', userId: null, kind: 'user', ip: null },
    action,
    resource: { type: 'workflow', id: `w${n}` },
    outcome: 'SUCCEEDED',
    gate: null,
    reasons: [],
    requestId: `r${n}`,
    traceId: null,
    decisions: [],
    changes: { n: { before: null, after: n } },
  };
}

const append = (t: TestTenant, events: AuditEventInput[]) =>
  as(t, 'write', (tx) => appendAuditEvents(tx, t.id, events));

async function seqs(t: TestTenant): Promise<number[]> {
  return as(t, 'read', async (tx) =>
    (await readEventsAfter(queryOf(tx), t.id, 0, 10_000)).map((e) => e.seq),
  );
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('one chain per tenant', () => {
  it('numbers concurrent appends 1, 2, 3, … without gaps or duplicates, and they verify', async () => {
    const t = await createTestTenant(db);
    await Promise.all(range(1, 12).map((n) => append(t, [event('workflow.create', n)])));
    expect(await seqs(t)).toEqual(range(1, 12));
    const verified = await as(t, 'read', (tx) => verifyAuditChain(queryOf(tx), t.id));
    expect(verified).toMatchObject({ valid: true, checkedCount: 12, headSeq: 12 });
  });

  it('leaves no hole when an appending transaction rolls back', async () => {
    const t = await createTestTenant(db);
    await append(t, [event('workflow.create', 1)]);
    const failed = await rejection(
      as(t, 'write', async (tx) => {
        await appendAuditEvents(tx, t.id, [event('workflow.create', 2)]);
        throw new Error('the change failed after its event was appended');
      }),
    );
    expect((failed as Error).message).toMatch(/change failed/);
    await append(t, [event('workflow.create', 3)]);
    expect(await seqs(t)).toEqual([1, 2]);
    const events = await as(t, 'read', (tx) => readEventsAfter(queryOf(tx), t.id, 0, 10));
    expect(events.map((e) => e.requestId)).toEqual(['r1', 'r3']);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
  });

  it('never makes one tenant wait for another: A’s head is locked while B appends', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // A's append waits inside its transaction, holding A's chain head.
    const holding = as(a, 'write', async (tx) => {
      await appendAuditEvents(tx, a.id, [event('workflow.create', 100)]);
      locked();
      await held;
    });
    await isLocked;
    try {
      if (db.kind === 'embedded') return; // one connection: transactions run one at a time
      const [appended] = await append(b, [event('workflow.create', 200)]);
      expect(appended?.seq).toBeGreaterThan(0);
    } finally {
      release();
      await holding;
    }
  });

  it('stores the database clock and text exactly as hashed (NUL and lone surrogates replaced)', async () => {
    const t = await createTestTenant(db);
    const before = Date.now();
    const [stored] = await append(t, [
      { ...event('workflow.update'), reasons: ['nul\u0000here', 'lone\uD800'] },
    ]);
    expect(stored!.reasons).toEqual(['nul\uFFFDhere', 'lone\uFFFD']);
    expect(stored!.occurredAt.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    const verified = await as(t, 'read', (tx) => verifyAuditChain(queryOf(tx), t.id));
    expect(verified.valid).toBe(true);
  });
});

describe('append-only', () => {
  it('refuses the app role UPDATE, DELETE and TRUNCATE (no privilege)', async () => {
    await append(a, [event('workflow.create', 1)]);
    for (const statement of [
      `update audit_events set reasons = '{}' where tenant_id = '${a.id}'`,
      `delete from audit_events where tenant_id = '${a.id}'`,
      'truncate audit_events',
    ]) {
      expect(await sqlRejection(as(a, 'write', (tx) => tx.$executeRawUnsafe(statement)))).toEqual({
        code: '42501',
        message: 'permission denied for table audit_events',
      });
    }
  });

  it('refuses the owner too, through the trigger, even for statements that match no row', async () => {
    for (const statement of [
      `update audit_events set reasons = '{}' where false`,
      'delete from audit_events where false',
      'truncate audit_events',
    ]) {
      const refused = await rejection(
        db.asOwner(async (sql) => {
          await sql.exec('begin');
          try {
            await sql.exec(statement);
          } finally {
            await sql.exec('rollback');
          }
        }),
      );
      expect((refused as Error).message).toMatch(
        /audit_events is append-only: (UPDATE|DELETE|TRUNCATE) is not allowed/,
      );
    }
  });

  it('db:check names the table when its trigger is disabled or the app role may change it', async () => {
    const problems = await asSuperuser(db, async (sql) => {
      await sql.exec('begin');
      try {
        await sql.exec('alter table audit_events disable trigger audit_events_append_only');
        await sql.exec('grant update on audit_checkpoints to gatehouse_app');
        return await checkRls(sql);
      } finally {
        await sql.exec('rollback');
      }
    });
    expect([...problems].sort()).toEqual([
      'public.audit_checkpoints: role gatehouse_app may UPDATE, DELETE or TRUNCATE it',
      'public.audit_events: no enabled trigger refuses DELETE (append-only)',
      'public.audit_events: no enabled trigger refuses TRUNCATE (append-only)',
      'public.audit_events: no enabled trigger refuses UPDATE (append-only)',
    ]);
    expect(await asSuperuser(db, (sql) => checkRls(sql))).toEqual([]);
  });
});

describe('tenant isolation of the trail', () => {
  it('shows a tenant only its own events and head, and refuses writing into another chain', async () => {
    await append(b, [event('workflow.create', 7)]);
    const seen = await as(a, 'read', async (tx) => ({
      theirs: await readEventsAfter(queryOf(tx), b.id, 0, 100),
      head: await readChainHead(queryOf(tx), b.id),
      all: await tx.$queryRawUnsafe<Array<{ tenant_id: string }>>(
        'select tenant_id from audit_events',
      ),
    }));
    expect(seen.theirs).toEqual([]);
    expect(seen.head).toEqual({ seq: 0, hash: '0'.repeat(64) });
    expect(new Set(seen.all.map((r) => r.tenant_id))).toEqual(new Set([a.id]));
    // A transaction of A cannot append to B's chain: the head and the events are B's rows.
    expect(
      await sqlRejection(as(a, 'write', (tx) => appendAuditEvents(tx, b.id, [event('x.y')]))),
    ).toEqual({
      code: '42501',
      message: 'new row violates row-level security policy for table "audit_chain_heads"',
    });
  });
});
