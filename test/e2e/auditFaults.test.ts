/**
 * No change without its event, no event without its change, no secret without its
 * evidence: a server whose audit appends fail at chosen points (injected, as benchmarks
 * inject their baselines), against the real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents } from '../../src/audit/appendAuditEvents.js';
import type { AuditEventInput } from '../../src/audit/AuditEvent.js';
import type { AuditAppender } from '../../src/audit/appendAuditEvents.js';
import type { TenantTx } from '../../src/data/TenantDatabase.js';
import type { TestTenant } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

type Fault = 'none' | 'before-append' | 'after-append';

/** Appends as the server does, but fails where `fault` says for events matching `when`. */
class FaultyAppender implements AuditAppender {
  fault: Fault = 'none';
  when: (e: AuditEventInput) => boolean = () => true;

  async append(
    tx: TenantTx,
    tenantId: string,
    events: readonly AuditEventInput[],
  ): Promise<unknown> {
    const hit = this.fault !== 'none' && events.some((e) => this.when(e));
    if (hit && this.fault === 'before-append') throw new Error('injected: audit store down');
    const appended = await appendAuditEvents(tx, tenantId, events);
    if (hit) throw new Error('injected: failure between the append and the commit');
    return appended;
  }
}

const appender = new FaultyAppender();
let server: TestServer;
let tenant: TestTenant;
let admin: string;

beforeAll(async () => {
  server = await startTestServer({}, { auditAppender: appender });
  tenant = await server.createTenant(2);
  admin = await server.tenantToken(tenant, 0, { roles: ['ADMIN'] });
});
afterAll(async () => {
  await server.stop();
});

/** What the database holds for `name`: workflows and events about it (as the owner sees them). */
async function stored(name: string): Promise<{ workflows: number; events: string[] }> {
  return server.gatehouse.database.tenants.transaction(
    { tenantId: tenant.id, subject: 'test' },
    'read',
    async (tx) => {
      const workflows = await tx.workflow.findMany({ where: { tenantId: tenant.id, name } });
      const events = await tx.$queryRawUnsafe<Array<{ action: string; outcome: string }>>(
        `select action, outcome from audit_events
          where tenant_id = $1::uuid and (resource_id = any($2::text[]) or changes -> 'name' ->> 'after' = $3)
          order by seq`,
        tenant.id,
        workflows.map((w) => w.id),
        name,
      );
      return { workflows: workflows.length, events: events.map((e) => `${e.action}:${e.outcome}`) };
    },
  );
}

const create = (name: string) =>
  server.gql(
    `mutation($n: String!) { createWorkflow(input: { name: $n, amount: "1" }) { id } }`,
    { n: name },
    admin,
  );

describe('a mutation and its event commit together or not at all', () => {
  it.each(['before-append', 'after-append'] as const)(
    'a failure %s leaves neither the workflow nor its event; the failure itself is audited',
    async (fault) => {
      appender.fault = fault;
      appender.when = (e) => e.outcome === 'SUCCEEDED';
      const name = `fault ${fault}`;
      try {
        const res = await create(name);
        expect(res.body.data).toBeNull();
        expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual([
          'INTERNAL_SERVER_ERROR',
        ]);
        expect(JSON.stringify(res.body)).not.toContain('injected');
      } finally {
        appender.fault = 'none';
      }
      // Nothing of the change, nothing of its SUCCEEDED event.
      expect(await stored(name)).toEqual({ workflows: 0, events: [] });
      const [failed] = await server.gatehouse.database.tenants.transaction(
        { tenantId: tenant.id, subject: 'test' },
        'read',
        (tx) =>
          tx.$queryRawUnsafe<Array<{ outcome: string; reasons: string[] }>>(
            `select outcome, reasons from audit_events where tenant_id = $1::uuid
              and action = 'workflow.create' order by seq desc limit 1`,
            tenant.id,
          ),
      );
      expect(failed).toEqual({
        outcome: 'FAILED',
        reasons: ['INTERNAL_SERVER_ERROR: internal error'],
      });
    },
  );

  it('without faults the same mutation commits with exactly its event', async () => {
    expect((await create('no fault')).body.errors).toBeUndefined();
    expect(await stored('no fault')).toEqual({
      workflows: 1,
      events: ['workflow.create:SUCCEEDED'],
    });
  });
});

describe('no secret without its evidence', () => {
  it('withholds a restricted value whose read cannot be audited: null + AUDIT_UNAVAILABLE', async () => {
    const owner = await server.tenantToken(tenant, 1, { amr: ['pwd', 'otp'] });
    const made = await server.gql<{ createCredential: { id: string } }>(
      'mutation { createCredential(input: { name: "vault", secret: "never-unaudited" }) { id } }',
      {},
      owner,
    );
    const id = made.body.data!.createCredential.id;
    const read = `query($id: ID!) { credential(id: $id) { name secret } }`;
    appender.fault = 'before-append';
    appender.when = (e) => e.action === 'credential.secret.read';
    try {
      const res = await server.gql(read, { id }, owner);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ credential: { name: 'vault', secret: null } });
      expect(res.body.errors).toEqual([
        {
          message: 'This value is withheld: its read could not be audited',
          path: ['credential', 'secret'],
          extensions: { code: 'AUDIT_UNAVAILABLE' },
        },
      ]);
      expect(JSON.stringify(res.body)).not.toContain('never-unaudited');
    } finally {
      appender.fault = 'none';
    }
    const again = await server.gql<{ credential: { secret: string } }>(read, { id }, owner);
    expect(again.body.data!.credential.secret).toBe('never-unaudited');
  });
});
