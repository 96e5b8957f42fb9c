/**
 * Remote mode (`SPICEDB_ENDPOINT` + `SPICEDB_PRESHARED_KEY`) against the real SpiceDB
 * server (v1.56.2, built by `npm run spicedb:build`), as a process of this test, on both
 * datastores a deployment would use: memory, and postgres in a database of its own on the
 * machine's PostgreSQL (`spicedb datastore migrate head` first). Plaintext because the
 * endpoint is loopback; TLS is test/e2e/remoteSpiceDbTls.test.ts. Proves, on each: the
 * schema is written over the wire with the key (and a wrong key stops start-up), batching
 * holds over the network (counted by SpiceDB's own gRPC metrics), a stalled server
 * (SIGSTOP) and a dead one (SIGKILL) fail closed and recover; on postgres, data survives
 * the restart, and writes the datastore refuses arrive once it accepts them again.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TEAMS, DEMO_TENANTS } from '../../src/demo/demoData.js';
import { AUTHZ_SCHEMA_FILE } from '../../src/authz/spicedb/authzSchemaFile.js';
import { connectSpiceDb, ensureSchema } from '../../src/authz/spicedb/SpiceDbConnection.js';
import { insertWorkflows } from '../support/workflowFixtures.js';
import { startSpiceDbServer, type SpiceDbServer } from '../../tools/spicedbServer.js';
import { startTestServer, type TestServer } from '../support/testServer.js';
import { drainUntilReadable } from '../support/expectations.js';
import { createWorkflowAs, shareWorkflowWith } from '../support/workflowMutations.js';
import { asAdministratorOf } from '../support/superuser.js';

const DATACENTER = '00000000-0000-4000-c000-000000025000';
const READ = 'query($id: ID!) { workflow(id: $id) { name amount } }';
const ENGINEERING = DEMO_TEAMS.find((t) => t.name === 'Engineering')!.id;
const canUsePostgres = Boolean(process.env['DATABASE_ADMIN_URL']);

async function until(done: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// (The postgres datastore's database is made by PostgreSQL's administrator.)
const DATASTORES = canUsePostgres ? (['memory', 'postgres'] as const) : (['memory'] as const);

describe.each(DATASTORES)('the real SpiceDB server, %s datastore', (datastore) => {
  let spicedb: SpiceDbServer;
  let server: TestServer;

  beforeAll(async () => {
    spicedb = await startSpiceDbServer({ datastore });
    server = await startTestServer({
      SPICEDB_ENDPOINT: spicedb.endpoint,
      SPICEDB_PRESHARED_KEY: spicedb.presharedKey,
      SPICEDB_DEADLINE_MS: '500',
      AUTHZ_CACHE_TTL_MS: '0',
    });
    // A new, empty SpiceDB cluster: load it from PostgreSQL, the source of truth.
    await server.gatehouse.relay.replay();
  }, 60_000);
  afterAll(async () => {
    // (Unset when start-up failed.)
    await (server as TestServer | undefined)?.stop();
    await (spicedb as SpiceDbServer | undefined)?.stop();
  });

  it('writes the schema over the wire with the preshared key, then answers from it', async () => {
    expect(await spicedb.calls('ReadSchema')).toBeGreaterThan(0);
    expect(await spicedb.callsWithCode('WriteSchema', 'OK')).toBe(1);
    expect(await spicedb.callsWithCode('ReadSchema', 'PermissionDenied')).toBe(0);
    const alice = await server.gql(READ, { id: DATACENTER }, await server.token('alice'));
    expect(alice.body).toEqual({
      data: { workflow: { name: 'Datacenter expansion', amount: '25000.00' } },
    });
    const erin = await server.gql(READ, { id: DATACENTER }, await server.token('erin'));
    expect(erin.body.data).toEqual({ workflow: null });
    expect(erin.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('batches over the network: 100 workflows × 3 protected fields in 1 CheckBulkPermissions, as SpiceDB counts it', async () => {
    const tenant = await server.createTenant(2);
    await insertWorkflows(server.gatehouse, tenant, 100, 1);
    const token = await server.tenantToken(tenant, 1);
    const before = await spicedb.calls('CheckBulkPermissions');
    const singles = await spicedb.calls('CheckPermission');
    const res = await server.gql<{ workflows: { edges: unknown[] } }>(
      '{ workflows(first: 100) { edges { node { id name amount shares { role } } } } }',
      undefined,
      token,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.workflows.edges).toHaveLength(100);
    expect((await spicedb.calls('CheckBulkPermissions')) - before).toBe(1);
    expect((await spicedb.calls('CheckPermission')) - singles).toBe(0);
  });

  it('a stalled server (SIGSTOP): AUTHZ_UNAVAILABLE at the deadline and no data; SIGCONT, and it answers again', async () => {
    const token = await server.token('alice');
    spicedb.stall();
    try {
      const started = Date.now();
      const res = await server.gql(READ, { id: DATACENTER }, token);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(res.body.data).toEqual({ workflow: null });
      expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'AUTHZ_UNAVAILABLE' });
      expect(JSON.stringify(res.body)).not.toContain('Datacenter');
    } finally {
      spicedb.resume();
    }
    const after = await server.gql(READ, { id: DATACENTER }, token);
    expect(after.body.errors).toBeUndefined();
  });

  it('a dead server (SIGKILL): reads and mutations fail closed, nothing commits; restarted, it answers again', async () => {
    const bob = await server.token('bob');
    const alice = await server.token('alice');
    const name = `outage ${randomUUID()}`;
    await spicedb.kill();
    try {
      const res = await server.gql(READ, { id: DATACENTER }, alice);
      expect(res.body.data).toEqual({ workflow: null });
      expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'AUTHZ_UNAVAILABLE' });
      const list = await server.gql('{ workflows(first: 5) { totalCount } }', undefined, alice);
      expect(list.body.data).toBeNull();
      expect(list.body.errors![0]!.extensions).toMatchObject({ code: 'AUTHZ_UNAVAILABLE' });
      expect(JSON.stringify([res.body, list.body])).not.toContain('Datacenter');
      // Creating in a team needs SpiceDB's word on the team: refused, and nothing stored.
      expect(await createdCode(server, bob, name)).toBe('AUTHZ_UNAVAILABLE');
      expect(await countNamed(server, name)).toBe(0);
    } finally {
      await spicedb.restart();
    }
    if (datastore === 'memory') {
      // A memory datastore comes back empty, without even the schema: nothing is granted
      // from it (fail closed) until it is loaded again from PostgreSQL.
      const empty = await server.gql(READ, { id: DATACENTER }, alice);
      expect(empty.body.data).toEqual({ workflow: null });
      expect(JSON.stringify(empty.body)).not.toContain('Datacenter');
      const reload = await connectSpiceDb({
        kind: 'remote',
        endpoint: spicedb.endpoint,
        presharedKey: spicedb.presharedKey,
        insecure: true,
      });
      try {
        await ensureSchema(reload, await readFile(AUTHZ_SCHEMA_FILE, 'utf8'));
      } finally {
        reload.close();
      }
      // (The channel reconnects with backoff: the first replay may still find it down.)
      await until(() =>
        server.gatehouse.relay.replay().then(
          () => true,
          () => false,
        ),
      );
    }
    // gRPC reconnects on its own once the port is back; postgres kept every relationship.
    await until(
      async () => (await server.gql(READ, { id: DATACENTER }, alice)).body.errors === undefined,
    );
    expect(await spicedb.callsWithCode('WriteSchema', 'OK')).toBe(datastore === 'memory' ? 1 : 0);
  });

  it.runIf(datastore === 'postgres')(
    'writes the datastore refuses: the change commits, and its relationships arrive once it accepts them',
    async () => {
      const bob = await server.token('bob');
      const name = `refused ${randomUUID()}`;
      // SpiceDB's own role loses INSERT on its relationship table: checks still answer,
      // every WriteRelationships fails inside SpiceDB.
      await asAdministratorOf(spicedb.database!, (sql) =>
        sql.exec(`revoke insert on relation_tuple from ${spicedb.role!}`),
      );
      let id: string;
      try {
        // Committed, but SpiceDB does not know the workflow yet: the payload is denied.
        expect(await createdCode(server, bob, name)).toBe('FORBIDDEN');
        expect(await countNamed(server, name)).toBe(1);
        id = await idNamed(server, name);
        const stuck = await server.gatehouse.relay.stuck(1);
        expect(stuck.length).toBeGreaterThan(0);
        expect(stuck.every((e) => e.lastError)).toBe(true);
      } finally {
        await asAdministratorOf(spicedb.database!, (sql) =>
          sql.exec(`grant insert on relation_tuple to ${spicedb.role!}`),
        );
      }
      const later = await drainUntilReadable(
        server,
        async () => (await server.gql(READ, { id }, bob)).body,
      );
      expect(later).toEqual({ data: { workflow: { name, amount: '10.00' } } });
    },
  );
});

/** Creates a workflow in Engineering, whose payload must be refused: the error's code. */
async function createdCode(server: TestServer, token: string, name: string): Promise<unknown> {
  const created = await server.gql(
    'mutation($n: String!, $t: ID!) { createWorkflow(input: { name: $n, amount: "10", teamId: $t }) { id } }',
    { n: name, t: ENGINEERING },
    token,
  );
  expect(created.body.data).toBeNull();
  return created.body.errors![0]!.extensions?.['code'];
}

async function countNamed(server: TestServer, name: string): Promise<number> {
  return server.gatehouse.database.tenants.transaction(
    { tenantId: DEMO_TENANTS.acme.id, subject: 'test' },
    'read',
    (tx) => tx.workflow.count({ where: { name } }),
  );
}

async function idNamed(server: TestServer, name: string): Promise<string> {
  const row = await server.gatehouse.database.tenants.transaction(
    { tenantId: DEMO_TENANTS.acme.id, subject: 'test' },
    'read',
    (tx) => tx.workflow.findFirstOrThrow({ where: { name }, select: { id: true } }),
  );
  return row.id;
}

describe('the real SpiceDB server with a wrong preshared key', () => {
  it('refuses to start Gatehouse: the schema cannot be read, and SpiceDB counted the refusal', async () => {
    const spicedb = await startSpiceDbServer();
    try {
      await expect(
        startTestServer({ SPICEDB_ENDPOINT: spicedb.endpoint, SPICEDB_PRESHARED_KEY: 'wrong' }),
      ).rejects.toThrow(/PERMISSION_DENIED|UNAUTHENTICATED|preshared/i);
      expect(await spicedb.callsWithCode('ReadSchema', 'PermissionDenied')).toBeGreaterThan(0);
      expect(await spicedb.callsWithCode('WriteSchema', 'OK')).toBe(0);
    } finally {
      await spicedb.stop();
    }
  });

  it('accepts either key while one is being rotated (SpiceDB takes several)', async () => {
    const spicedb = await startSpiceDbServer({ presharedKeys: ['old-key-1234', 'new-key-5678'] });
    try {
      for (const key of ['old-key-1234', 'new-key-5678']) {
        const server = await startTestServer({
          SPICEDB_ENDPOINT: spicedb.endpoint,
          SPICEDB_PRESHARED_KEY: key,
        });
        await server.gatehouse.relay.replay();
        const res = await server.gql(READ, { id: DATACENTER }, await server.token('alice'));
        expect(res.body.errors).toBeUndefined();
        await server.stop();
      }
    } finally {
      await spicedb.stop();
    }
  });
});

describe('the decision cache with the real SpiceDB server', () => {
  // Other instances write to a SpiceDB server too: a write forgets every cached decision
  // here (src/server/createGatehouse.ts), not only the written object's — unlike the
  // embedded SpiceDB, whose only writer is this process (authorization.test.ts).
  it("forgets every decision on a write, even one about another user's workflow", async () => {
    const spicedb = await startSpiceDbServer();
    try {
      const server = await startTestServer({
        SPICEDB_ENDPOINT: spicedb.endpoint,
        SPICEDB_PRESHARED_KEY: spicedb.presharedKey,
        AUTHZ_CACHE_TTL_MS: '60000',
      });
      try {
        await server.gatehouse.relay.replay();
        const tenant = await server.createTenant(3);
        await insertWorkflows(server.gatehouse, tenant, 5, 1);
        const list = '{ workflows(first: 100) { edges { node { id name amount } } } }';
        const lister = await server.tenantToken(tenant, 1);
        const first = await server.gql(list, undefined, lister);
        const cached = await spicedb.calls('CheckBulkPermissions');
        expect((await server.gql(list, undefined, lister)).body).toEqual(first.body);
        expect(await spicedb.calls('CheckBulkPermissions')).toBe(cached);
        // User 2 shares a workflow of theirs, which user 1 does not see, with user 0.
        const sharer = await server.tenantToken(tenant, 2);
        const id = await createWorkflowAs(server, sharer, 'theirs');
        const shared = await shareWorkflowWith(server, sharer, id, tenant.users[0]!.id);
        expect(shared.body.errors).toBeUndefined();
        await server.gatehouse.relay.drain();
        const afterWrites = await spicedb.calls('CheckBulkPermissions');
        expect((await server.gql(list, undefined, lister)).body).toEqual(first.body);
        expect(await spicedb.calls('CheckBulkPermissions')).toBeGreaterThan(afterWrites);
      } finally {
        await server.stop();
      }
    } finally {
      await spicedb.stop();
    }
  });
});
