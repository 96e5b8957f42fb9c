/**
 * Remote mode (`SPICEDB_ENDPOINT` + `SPICEDB_PRESHARED_KEY`): Gatehouse talks to SpiceDB
 * over gRPC on a TCP port — plaintext because the endpoint is loopback — through the same
 * authzed-node client as production. The server at the other end is the SpiceDB engine
 * behind a gRPC front (test/support/spiceDbGateway.ts) that checks the preshared key like
 * a SpiceDB server. Proves: the schema is written over the wire, the key is sent (and a
 * wrong one stops start-up), batching holds over the network, a stalled or unreachable
 * SpiceDB fails closed, and relationship writes that fail arrive once SpiceDB is back.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TEAMS, DEMO_TENANTS } from '../../src/demo/demoData.js';
import { insertWorkflows } from '../support/workflowFixtures.js';
import { startSpiceDbGateway, type SpiceDbGateway } from '../support/spiceDbGateway.js';
import { startTestServer, type TestServer } from '../support/testServer.js';
import { drainUntilReadable } from '../support/expectations.js';

const KEY = `psk-${randomUUID()}`;
const DATACENTER = '00000000-0000-4000-c000-000000025000';
const READ = 'query($id: ID!) { workflow(id: $id) { name amount } }';
const ENGINEERING = DEMO_TEAMS.find((t) => t.name === 'Engineering')!.id;

describe('remote SpiceDB over gRPC', () => {
  let gateway: SpiceDbGateway;
  let server: TestServer;
  const calls = (name: string) => gateway.calls.get(name) ?? 0;

  beforeAll(async () => {
    gateway = await startSpiceDbGateway(KEY);
    server = await startTestServer({
      SPICEDB_ENDPOINT: gateway.endpoint,
      SPICEDB_PRESHARED_KEY: KEY,
      SPICEDB_DEADLINE_MS: '500',
      AUTHZ_CACHE_TTL_MS: '0',
    });
    // A new, empty SpiceDB cluster: load it from PostgreSQL, the source of truth.
    await server.gatehouse.relay.replay();
  });
  afterAll(async () => {
    await server.stop();
    await gateway.close();
  });

  it('writes the schema over the wire with the preshared key, then answers from it', async () => {
    expect(calls('ReadSchema')).toBeGreaterThan(0);
    expect(calls('WriteSchema')).toBe(1);
    expect(gateway.unauthenticated).toBe(0);
    const alice = await server.gql(READ, { id: DATACENTER }, await server.token('alice'));
    expect(alice.body).toEqual({
      data: { workflow: { name: 'Datacenter expansion', amount: '25000.00' } },
    });
    const erin = await server.gql(READ, { id: DATACENTER }, await server.token('erin'));
    expect(erin.body.data).toEqual({ workflow: null });
    expect(erin.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('batches over the network: 100 workflows × 3 protected fields in 1 CheckBulkPermissions (the list asks for its fields too)', async () => {
    const tenant = await server.createTenant(2);
    await insertWorkflows(server.gatehouse, tenant, 100, 1);
    const token = await server.token('alice', {
      subject: tenant.users[1]!.subject,
      tenantId: tenant.id,
    });
    const before = calls('CheckBulkPermissions');
    const res = await server.gql<{ workflows: { edges: unknown[] } }>(
      '{ workflows(first: 100) { edges { node { id name amount shares { role } } } } }',
      undefined,
      token,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.workflows.edges).toHaveLength(100);
    expect(calls('CheckBulkPermissions') - before).toBe(1);
    expect(calls('CheckPermission')).toBe(0);
  });

  it('a stalled SpiceDB: AUTHZ_UNAVAILABLE at the deadline and no data; then it recovers', async () => {
    const token = await server.token('alice');
    gateway.stall();
    try {
      const res = await server.gql(READ, { id: DATACENTER }, token);
      expect(res.body.data).toEqual({ workflow: null });
      expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'AUTHZ_UNAVAILABLE' });
      expect(JSON.stringify(res.body)).not.toContain('Datacenter');
    } finally {
      gateway.resume();
    }
    const after = await server.gql(READ, { id: DATACENTER }, token);
    expect(after.body.errors).toBeUndefined();
  });

  it('an unreachable SpiceDB: every protected answer is AUTHZ_UNAVAILABLE, never data', async () => {
    const token = await server.token('alice');
    await gateway.stop();
    try {
      const res = await server.gql(READ, { id: DATACENTER }, token);
      expect(res.body.data).toEqual({ workflow: null });
      expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'AUTHZ_UNAVAILABLE' });
      const list = await server.gql('{ workflows(first: 5) { totalCount } }', undefined, token);
      expect(list.body.data).toBeNull();
      expect(list.body.errors![0]!.extensions).toMatchObject({ code: 'AUTHZ_UNAVAILABLE' });
    } finally {
      await gateway.restart();
    }
    // gRPC reconnects on its own once the port is back.
    let recovered = false;
    for (let i = 0; i < 50 && !recovered; i++) {
      const res = await server.gql(READ, { id: DATACENTER }, token);
      recovered = res.body.errors === undefined;
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(recovered).toBe(true);
  });

  it('writes refused by SpiceDB: the change commits, and its relationships arrive later', async () => {
    const bob = await server.token('bob');
    const name = `remote outbox ${randomUUID()}`;
    gateway.failWrites = true;
    let id: string;
    try {
      const created = await server.gql(
        'mutation($n: String!, $t: ID!) { createWorkflow(input: { name: $n, amount: "10", teamId: $t }) { id } }',
        { n: name, t: ENGINEERING },
        bob,
      );
      // Committed, but SpiceDB does not know the workflow yet: the payload is denied.
      expect(created.body.data).toBeNull();
      expect(created.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN' });
      const row = await server.gatehouse.database.tenants.transaction(
        { tenantId: DEMO_TENANTS.acme.id, subject: 'test' },
        'read',
        (tx) => tx.workflow.findFirstOrThrow({ where: { name }, select: { id: true } }),
      );
      id = row.id;
      const stuck = await server.gatehouse.relay.stuck(1);
      expect(stuck.some((e) => /unavailable/i.test(e.lastError ?? ''))).toBe(true);
    } finally {
      gateway.failWrites = false;
    }
    const later = await drainUntilReadable(
      server,
      async () => (await server.gql(READ, { id }, bob)).body,
    );
    expect(later).toEqual({ data: { workflow: { name, amount: '10.00' } } });
  });
});

describe('remote SpiceDB with a wrong preshared key', () => {
  it('refuses to start: the schema cannot be verified', async () => {
    const gateway = await startSpiceDbGateway(KEY);
    try {
      await expect(
        startTestServer({ SPICEDB_ENDPOINT: gateway.endpoint, SPICEDB_PRESHARED_KEY: 'wrong' }),
      ).rejects.toThrow(/UNAUTHENTICATED|preshared/i);
      expect(gateway.unauthenticated).toBeGreaterThan(0);
    } finally {
      await gateway.close();
    }
  });
});
