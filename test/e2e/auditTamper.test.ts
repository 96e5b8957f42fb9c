/**
 * Tampering with the audit trail as a database superuser (who can disable the
 * append-only trigger): a changed field, a deleted event, two swapped events and a forged
 * event are each detected at the exact seq — by the API (`verifyAuditChain`) and by the
 * operator CLI (`npm run audit:verify`, exit code 1 naming tenant and seq). A rewrite that
 * recomputes every hash and the head passes both chain checks, as it must; the signed
 * checkpoints an auditor exported beforehand catch it (`--public-key`, `--checkpoints`),
 * and an exported file is checked without any database (`--file`).
 *
 * The CLI runs as its own process against the test database, so those parts need
 * PostgreSQL (CI); on the embedded in-memory database only the API side runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, type AuditEvent } from '../../src/audit/AuditEvent.js';
import { chainHash } from '../../src/audit/auditHash.js';
import { eventFromRow, EVENT_COLUMNS, type AuditEventRow } from '../../src/audit/auditRows.js';
import { loadAuditSigner } from '../../src/audit/loadAuditSigner.js';
import type { SqlClient } from '../../src/data/SqlClient.js';
import { asSuperuser } from '../support/superuser.js';
import { usingPostgres, type TestTenant } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

let server: TestServer;
let dir: string;
let publicKeyFile: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-tamper-'));
  publicKeyFile = path.join(dir, 'audit-public-key.pem');
  await writeFile(
    publicKeyFile,
    (await loadAuditSigner(server.config.audit.signingKey)).publicKeyPem,
  );
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** An audit CLI as its own process, against the test database as the owner role. */
function cli(
  script: 'auditVerify' | 'auditExport',
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
    env: { ...process.env, NODE_ENV: 'test', DEV_KEYS_DIR: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A tenant with five events (workflows its admin created). */
async function tenantWithTrail(): Promise<{ tenant: TestTenant; admin: string }> {
  const tenant = await server.createTenant(2);
  const admin = await server.tenantToken(tenant, 0, { roles: ['ADMIN'] });
  for (const n of [1, 2, 3, 4, 5]) {
    const res = await server.gql(
      `mutation($n: String!) { createWorkflow(input: { name: $n, amount: "1" }) { id } }`,
      { n: `w${n}` },
      admin,
    );
    expect(res.body.errors).toBeUndefined();
  }
  return { tenant, admin };
}

/** Runs `change` as a superuser with the append-only trigger disabled for it alone. */
function tamper(change: (sql: SqlClient) => Promise<void>): Promise<void> {
  return asSuperuser(server.gatehouse.database, async (sql) => {
    await sql.exec('begin');
    try {
      await sql.exec('alter table audit_events disable trigger audit_events_append_only');
      await change(sql);
      await sql.exec('alter table audit_events enable trigger audit_events_append_only');
      await sql.exec('commit');
    } catch (error) {
      await sql.exec('rollback');
      throw error;
    }
  });
}

async function storedEvents(sql: SqlClient, tenantId: string): Promise<AuditEvent[]> {
  const rows = await sql.query<AuditEventRow>(
    `select ${EVENT_COLUMNS} from audit_events where tenant_id = $1 order by seq`,
    [tenantId],
  );
  return rows.map(eventFromRow);
}

async function verifyByApi(
  admin: string,
): Promise<{ valid: boolean; firstInvalidSeq: number | null }> {
  const res = await server.gql<{
    verifyAuditChain: { valid: boolean; firstInvalidSeq: number | null };
  }>('{ verifyAuditChain { valid firstInvalidSeq } }', {}, admin);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.verifyAuditChain;
}

const cases: Array<[string, (sql: SqlClient, tenantId: string) => Promise<void>, number]> = [
  [
    '(a) one field of one event changed',
    async (sql, t) => {
      await sql.query(
        `update audit_events set actor_subject = 'someone else' where tenant_id = $1 and seq = 3`,
        [t],
      );
    },
    3,
  ],
  [
    '(b) one event deleted',
    async (sql, t) => {
      await sql.query('delete from audit_events where tenant_id = $1 and seq = 3', [t]);
    },
    3,
  ],
  [
    '(c) two events swapped',
    async (sql, t) => {
      // Through a free seq: the primary key is checked row by row.
      for (const [from, to] of [
        [2, 1_000_002],
        [4, 2],
        [1_000_002, 4],
      ]) {
        await sql.query('update audit_events set seq = $3 where tenant_id = $1 and seq = $2', [
          t,
          from,
          to,
        ]);
      }
    },
    2,
  ],
  [
    '(d) a forged event inserted',
    async (sql, t) => {
      const [last] = (await storedEvents(sql, t)).slice(-1);
      const forged = {
        ...last!,
        seq: 6,
        id: '00000000-0000-4000-8000-00000000f0f0',
        action: 'workflow.delete',
      };
      const hash = chainHash(last!.hash, forged);
      await sql.query(
        `insert into audit_events (tenant_id, seq, id, occurred_at, actor_subject, actor_user_id,
           actor_kind, actor_ip, action, resource_type, resource_id, outcome, gate, reasons,
           request_id, trace_id, decision_ids, decisions, changes, prev_hash, hash)
         select tenant_id, 6, $2, occurred_at, actor_subject, actor_user_id, actor_kind, actor_ip,
                'workflow.delete', resource_type, resource_id, outcome, gate, reasons, request_id,
                trace_id, decision_ids, decisions, changes, $3, $4
           from audit_events where tenant_id = $1 and seq = 5`,
        [t, forged.id, last!.hash, hash],
      );
    },
    6,
  ],
];

describe('tampering as a superuser', () => {
  it.each(cases)(
    '%s is detected at the exact seq by the API and the CLI',
    async (_name, change, seq) => {
      const { tenant, admin } = await tenantWithTrail();
      expect(await verifyByApi(admin)).toEqual({ valid: true, firstInvalidSeq: null });
      await tamper((sql) => change(sql, tenant.id));
      expect(await verifyByApi(admin)).toEqual({ valid: false, firstInvalidSeq: seq });
      if (!usingPostgres) return;
      const all = cli('auditVerify', []);
      expect(all.status).toBe(1);
      expect(all.stdout).toMatch(new RegExp(`^tenant ${tenant.id}: BROKEN at seq ${seq}: `, 'm'));
      const one = cli('auditVerify', ['--tenant', tenant.id]);
      expect(one.status).toBe(1);
      expect(one.stdout.trim().split('\n')).toHaveLength(1);
    },
  );

  it('leaves an untouched tenant ok, and the trigger back on (db:check clean)', async () => {
    const { tenant } = await tenantWithTrail();
    if (!usingPostgres) return;
    const one = cli('auditVerify', ['--tenant', tenant.id]);
    expect(one).toMatchObject({
      status: 0,
      stdout: `tenant ${tenant.id}: ok (5 events, head seq 5)\n`,
    });
  });

  it.skipIf(!usingPostgres)(
    'a rewrite with every hash recomputed passes the chain check; pinned checkpoints catch it',
    async () => {
      const { tenant, admin } = await tenantWithTrail();
      const signed = await server.gql('mutation { createAuditCheckpoint { seq } }', {}, admin);
      expect(signed.body.errors).toBeUndefined();
      // The auditor pins the checkpoints (and a copy of the trail) outside the system.
      const pinned = cli('auditExport', ['--tenant', tenant.id, '--checkpoints']);
      expect(pinned.status).toBe(0);
      const pinnedFile = path.join(dir, `pinned-${tenant.id}.ndjson`);
      await writeFile(pinnedFile, pinned.stdout);
      expect(
        cli('auditVerify', ['--file', pinnedFile, '--public-key', publicKeyFile]),
      ).toMatchObject({
        status: 0,
        stdout: `tenant ${tenant.id}: ok (6 events, head seq 6, 1 checkpoint holds)\n`,
      });

      // Rewrite event 2 and recompute every later hash and the head, as a careful attacker would.
      await tamper(async (sql) => {
        let prevHash = GENESIS_HASH;
        for (const e of await storedEvents(sql, tenant.id)) {
          const body = e.seq === 2 ? { ...e, actor: { ...e.actor, subject: 'nobody' } } : e;
          const hash = chainHash(prevHash, body);
          await sql.query(
            `update audit_events set actor_subject = $3, prev_hash = $4, hash = $5 where tenant_id = $1 and seq = $2`,
            [tenant.id, e.seq, body.actor.subject, prevHash, hash],
          );
          prevHash = hash;
        }
        await sql.query('update audit_chain_heads set hash = $2 where tenant_id = $1', [
          tenant.id,
          prevHash,
        ]);
      });
      expect(await verifyByApi(admin)).toEqual({ valid: true, firstInvalidSeq: null });
      expect(cli('auditVerify', ['--tenant', tenant.id]).status).toBe(0);

      const caught = cli('auditVerify', [
        '--tenant',
        tenant.id,
        '--public-key',
        publicKeyFile,
        '--checkpoints',
        pinnedFile,
      ]);
      expect(caught.status).toBe(1);
      expect(caught.stdout).toBe(
        `tenant ${tenant.id}: BROKEN at checkpoint seq 5: event 5 no longer has the hash checkpoint 5 signed: history was rewritten\n`,
      );
      // The checkpoints stored in the database catch it too (their signatures cannot be redone).
      expect(
        cli('auditVerify', ['--tenant', tenant.id, '--public-key', publicKeyFile]).status,
      ).toBe(1);
      // A fresh export of the rewritten trail, checked offline against the pinned checkpoints.
      const now = cli('auditExport', ['--tenant', tenant.id]);
      const nowFile = path.join(dir, `now-${tenant.id}.ndjson`);
      await writeFile(nowFile, now.stdout);
      const offline = cli('auditVerify', [
        '--file',
        nowFile,
        '--public-key',
        publicKeyFile,
        '--checkpoints',
        pinnedFile,
      ]);
      expect(offline.status).toBe(1);
      expect(offline.stdout).toMatch(/BROKEN at checkpoint seq 5/);
    },
  );

  it.skipIf(!usingPostgres)(
    'exports NDJSON whose event lines rehash to their own hash',
    async () => {
      const { tenant } = await tenantWithTrail();
      const out = cli('auditExport', ['--tenant', tenant.id]);
      expect(out.status).toBe(0);
      const lines = out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0]).toMatchObject({ type: 'head', tenantId: tenant.id, seq: 5 });
      const events = lines.slice(1);
      expect(events.map((e) => e['seq'])).toEqual([1, 2, 3, 4, 5]);
      expect(events.every((e) => e['type'] === 'event' && e['v'] === 1)).toBe(true);
      const since = cli('auditExport', ['--tenant', tenant.id, '--since', '2999-01-01T00:00:00Z']);
      expect(since.stdout.trim().split('\n')).toHaveLength(1);
      const bad = cli('auditExport', ['--tenant', 'not-a-tenant']);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('--tenant <tenant id> is required');
    },
  );
});
