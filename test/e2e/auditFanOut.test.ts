/**
 * The live feed across server instances: two Gatehouse processes on one PostgreSQL
 * database, sharing the real SpiceDB server (built from the Go module proxy,
 * tools/spicedb.ts). A mutation through one reaches a subscriber of the other within a
 * second, through PostgreSQL NOTIFY (the notification carries only tenant and seq; each
 * instance reads the event itself, under row-level security).
 *
 * Two processes cannot share the embedded database: this runs against PostgreSQL (CI).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ensureDevSigningKey, mintDevToken } from '../../src/authn/devSigningKey.js';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { startSpiceDbServer, type SpiceDbServer } from '../../tools/spicedbServer.js';
import {
  createTestTenant,
  openTestDatabase,
  usingPostgres,
  type TestTenant,
} from '../support/testDatabase.js';
import {
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from '../../tools/serverProcess.js';
import { TEST_CREDENTIAL_KEYS } from '../support/testServer.js';

/** `npm start`'s entry point as its own process, against the shared database and SpiceDB. */
function startInstance(spicedb: SpiceDbServer, keysDir: string): Promise<ServerProcess> {
  return startServerProcess({
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    PORT: '0',
    DEV_KEYS_DIR: keysDir,
    SEED_DEMO_DATA: 'false',
    CREDENTIAL_KEYS: TEST_CREDENTIAL_KEYS,
    SPICEDB_ENDPOINT: spicedb.endpoint,
    SPICEDB_PRESHARED_KEY: spicedb.presharedKey,
    OUTBOX_SWEEP_INTERVAL_MS: '200',
    AUDIT_CHECKPOINT_INTERVAL: '0',
  });
}

async function gql(instance: ServerProcess, query: string, token: string) {
  const res = await fetch(`${instance.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

describe.skipIf(!usingPostgres)('the live feed across two server processes', () => {
  let spicedb: SpiceDbServer;
  let keysDir: string;
  let db: OpenDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let tenant: TestTenant;
  let auditor: string;
  let actor: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-fanout-'));
    spicedb = await startSpiceDbServer();
    [a, b] = await Promise.all([startInstance(spicedb, keysDir), startInstance(spicedb, keysDir)]);
    db = await openTestDatabase();
    // A tenant made now: its relationships reach the shared SpiceDB through the relays.
    tenant = await createTestTenant(db, 2);
    const key = await ensureDevSigningKey(keysDir);
    auditor = await mintDevToken(key, { subject: tenant.users[0]!.subject, tenantId: tenant.id });
    actor = await mintDevToken(key, { subject: tenant.users[1]!.subject, tenantId: tenant.id });
    const deadline = Date.now() + 20_000;
    for (const instance of [a, b]) {
      while ((await gql(instance, '{ verifyAuditChain { valid } }', auditor)).errors) {
        if (Date.now() > deadline) throw new Error('the relays did not apply the tenant');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await Promise.all([stopServerProcess(a), stopServerProcess(b)]);
    await spicedb.stop();
    await db.close();
    await rm(keysDir, { recursive: true, force: true });
  });

  function subscribe(instance: ServerProcess): { seqs: number[]; actions: string[] } {
    const received = { seqs: [] as number[], actions: [] as string[] };
    const client = createClient({
      url: instance.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${auditor}` },
      retryAttempts: 0,
    });
    clients.push(client);
    client.subscribe<{ auditEvents: { seq: number; action: string } }>(
      {
        // (The set-up's polling left denial events before them: only the workflows count.)
        query:
          'subscription { auditEvents(afterSeq: 0, filter: { action: "workflow.create" }) { seq action } }',
      },
      {
        next: (r) => {
          if (r.data) {
            received.seqs.push(r.data.auditEvents.seq);
            received.actions.push(r.data.auditEvents.action);
          }
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    return received;
  }

  async function within(ms: number, done: () => boolean): Promise<number> {
    const start = Date.now();
    while (!done()) {
      if (Date.now() - start > ms) throw new Error(`not delivered within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return Date.now() - start;
  }

  it('delivers a mutation through one process to subscribers of both within a second', async () => {
    // From seq 0: the stored events first, so a subscription is complete however late its
    // subscribe step runs; the first event then shows both are live.
    const onA = subscribe(a);
    const onB = subscribe(b);
    const create = async (through: ServerProcess, n: number) => {
      const res = await gql(
        through,
        `mutation { createWorkflow(input: { name: "fan-out ${n}", amount: "1" }) { id } }`,
        actor,
      );
      expect(res.errors).toBeUndefined();
    };
    await create(a, 1);
    await within(20_000, () => onA.seqs.length >= 1 && onB.seqs.length >= 1);
    for (const [through, n] of [
      [b, 2],
      [a, 3],
      [b, 4],
    ] as const) {
      await create(through, n);
      // Measured from the commit (the mutation's answer): delivered on both within 1 s.
      await within(1000, () => onA.seqs.length >= n && onB.seqs.length >= n);
    }
    // The same four events on both, in seq order.
    expect(onA.seqs).toHaveLength(4);
    expect(onB.seqs).toEqual(onA.seqs);
    expect([...onA.seqs].sort((x, y) => x - y)).toEqual(onA.seqs);
    expect(new Set(onA.seqs).size).toBe(4);
    expect(onB.actions).toEqual(Array(4).fill('workflow.create'));
  });
});
