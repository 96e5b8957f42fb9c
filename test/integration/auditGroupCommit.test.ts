/**
 * Operations' end-of-operation audit writes, grouped per tenant (src/audit/AuditGroupCommit.ts),
 * on a real database: appends submitted while a tenant's transaction runs share the next
 * one, every event is committed once, in submission order, and the chain verifies; an
 * append that cannot be written fails alone — the others of its group still commit — and
 * another tenant's appends never join (or wait for) this tenant's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents, type AuditAppender } from '../../src/audit/appendAuditEvents.js';
import type { AuditEventInput } from '../../src/audit/AuditEvent.js';
import { AuditGroupCommit } from '../../src/audit/AuditGroupCommit.js';
import { readEventsAfter, type AuditQuery } from '../../src/audit/auditRows.js';
import { verifyAuditChain } from '../../src/audit/verifyAuditChain.js';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import type { TenantTx } from '../../src/data/TenantDatabase.js';
import { createTestTenant, openTestDatabase, type TestTenant } from '../support/testDatabase.js';

let db: OpenDatabase;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db.close();
});

function event(requestId: string): AuditEventInput {
  return {
    actor: { subject: 'test', userId: null, kind: 'user', ip: null },
    action: 'authz.denied',
    resource: null,
    outcome: 'DENIED',
    gate: 'relationship',
    reasons: ['1 × Workflow.amount: FORBIDDEN at gate relationship'],
    requestId,
    traceId: null,
    decisions: [],
    changes: null,
  };
}

/** Appends as the server does; refuses events of `poisoned` requests (their own fault). */
class Appender implements AuditAppender {
  readonly poisoned = new Set<string>();
  transactions = 0;
  append(tx: TenantTx, tenantId: string, events: readonly AuditEventInput[]): Promise<unknown> {
    this.transactions += 1;
    if (events.some((e) => this.poisoned.has(e.requestId ?? ''))) {
      return Promise.reject(new Error('injected: this event cannot be stored'));
    }
    return appendAuditEvents(tx, tenantId, events);
  }
}

const queryOf =
  (tx: TenantTx): AuditQuery =>
  (sql, params) =>
    tx.$queryRawUnsafe(sql, ...params);

async function stored(t: TestTenant): Promise<string[]> {
  return db.tenants.transaction({ tenantId: t.id, subject: 'test' }, 'read', async (tx) =>
    (await readEventsAfter(queryOf(tx), t.id, 0, 10_000)).map((e) => e.requestId ?? ''),
  );
}

async function verified(t: TestTenant) {
  return db.tenants.transaction({ tenantId: t.id, subject: 'test' }, 'read', (tx) =>
    verifyAuditChain(queryOf(tx), t.id),
  );
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Settles to 'ok' or the error's message, never rejects. */
const outcome = (p: Promise<void>) =>
  p.then(
    () => 'ok',
    (error: unknown) => (error as Error).message,
  );

describe('audit group commit', () => {
  it('commits appends submitted while a transaction runs together, in order, once each', async () => {
    const t = await createTestTenant(db);
    const appender = new Appender();
    const commits = new AuditGroupCommit({ tenants: db.tenants, appender });
    const requests = names('r', 20);
    const results = await Promise.all(
      requests.map((r) => outcome(commits.append(t.id, () => Promise.resolve([event(r)])))),
    );
    expect(results).toEqual(requests.map(() => 'ok'));
    // The first alone (nothing was running), the other 19 in the next transaction.
    expect(commits.transactionsStarted).toBe(2);
    expect(await stored(t)).toEqual(requests);
    expect(await verified(t)).toMatchObject({ valid: true, checkedCount: 20, headSeq: 20 });
  });

  it('starts at once when nothing runs: one append, one transaction, no waiting for company', async () => {
    const t = await createTestTenant(db);
    const commits = new AuditGroupCommit({ tenants: db.tenants, appender: new Appender() });
    await commits.append(t.id, () => Promise.resolve([event('alone')]));
    await commits.append(t.id, () => Promise.resolve([event('later')]));
    expect(commits.transactionsStarted).toBe(2);
    expect(await stored(t)).toEqual(['alone', 'later']);
  });

  it('bounds a transaction at maxBatch appends', async () => {
    const t = await createTestTenant(db);
    const commits = new AuditGroupCommit({
      tenants: db.tenants,
      appender: new Appender(),
      maxBatch: 4,
    });
    const requests = names('b', 13);
    await Promise.all(requests.map((r) => commits.append(t.id, () => Promise.resolve([event(r)]))));
    // 1 alone, then 12 waiting in batches of 4.
    expect(commits.transactionsStarted).toBe(4);
    expect(await stored(t)).toEqual(requests);
  });

  it('fails only the append that cannot be written; the rest of its group commits', async () => {
    const t = await createTestTenant(db);
    const appender = new Appender();
    appender.poisoned.add('bad');
    const commits = new AuditGroupCommit({ tenants: db.tenants, appender });
    const requests = ['first', 'a', 'bad', 'b', 'c'];
    const results = await Promise.all(
      requests.map((r) => outcome(commits.append(t.id, () => Promise.resolve([event(r)])))),
    );
    expect(results).toEqual(['ok', 'ok', 'injected: this event cannot be stored', 'ok', 'ok']);
    expect(await stored(t)).toEqual(['first', 'a', 'b', 'c']);
    expect(await verified(t)).toMatchObject({ valid: true, checkedCount: 4, headSeq: 4 });
  });

  it('fails an append whose events cannot be built, and only it', async () => {
    const t = await createTestTenant(db);
    const commits = new AuditGroupCommit({ tenants: db.tenants, appender: new Appender() });
    const results = await Promise.all([
      outcome(commits.append(t.id, () => Promise.resolve([event('one')]))),
      outcome(commits.append(t.id, () => Promise.resolve([event('two')]))),
      outcome(commits.append(t.id, () => Promise.reject(new Error('no user id')))),
      outcome(commits.append(t.id, () => Promise.resolve([event('three')]))),
    ]);
    expect(results).toEqual(['ok', 'ok', 'no user id', 'ok']);
    expect(await stored(t)).toEqual(['one', 'two', 'three']);
  });

  it("keeps tenants apart: another tenant's appends go in its own transactions, to its own chain", async () => {
    const [t, u] = [await createTestTenant(db), await createTestTenant(db)];
    const appender = new Appender();
    const commits = new AuditGroupCommit({ tenants: db.tenants, appender });
    await Promise.all([
      ...names('t', 5).map((r) => commits.append(t.id, () => Promise.resolve([event(r)]))),
      ...names('u', 5).map((r) => commits.append(u.id, () => Promise.resolve([event(r)]))),
    ]);
    // Each tenant: one alone, then its other four together.
    expect(commits.transactionsStarted).toBe(4);
    expect(await stored(t)).toEqual(names('t', 5));
    expect(await stored(u)).toEqual(names('u', 5));
    expect(await verified(u)).toMatchObject({ valid: true, checkedCount: 5 });
  });

  it('survives a store that is down: every append fails, none is lost later', async () => {
    const t = await createTestTenant(db);
    let down = true;
    const commits = new AuditGroupCommit({
      tenants: db.tenants,
      appender: {
        append: (tx, tenantId, events) =>
          down
            ? Promise.reject(new Error('injected: audit store down'))
            : appendAuditEvents(tx, tenantId, events),
      },
    });
    const failed = await Promise.all(
      names('d', 3).map((r) => outcome(commits.append(t.id, () => Promise.resolve([event(r)])))),
    );
    expect(failed).toEqual(names('d', 3).map(() => 'injected: audit store down'));
    down = false;
    await commits.append(t.id, () => Promise.resolve([event('up')]));
    expect(await stored(t)).toEqual(['up']);
  });
});
