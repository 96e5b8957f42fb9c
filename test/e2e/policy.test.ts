/**
 * Gate 3 in the request path: @policy on approveWorkflow/rejectWorkflow evaluates the
 * compiled Rego (policies/policy.wasm) after SpiceDB allowed. Fresh workflows in the demo
 * tenant: alice (admin) owns them, carol is the VP, bob is made an APPROVER by a share.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TEAMS, DEMO_TENANTS, DEMO_USERS } from '../../src/demo/demoData.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

const ENGINEERING = DEMO_TEAMS.find((t) => t.name === 'Engineering')!.id;
const BOB = DEMO_USERS.find((u) => u.key === 'bob')!.id;

async function pendingWorkflow(server: TestServer, owner: string, amount: string): Promise<string> {
  const token = await server.token(owner);
  const created = await server.gql<{ createWorkflow: { id: string } }>(
    'mutation($a: Decimal!, $t: ID!) { createWorkflow(input: { name: "policy case", amount: $a, teamId: $t }) { id } }',
    { a: amount, t: ENGINEERING },
    token,
  );
  const id = created.body.data!.createWorkflow.id;
  await server.gql('mutation($id: ID!) { submitWorkflow(id: $id) { status } }', { id }, token);
  return id;
}

const APPROVE = 'mutation($id: ID!) { approveWorkflow(id: $id) { status } }';

describe('workflow approval policy (development server: reasons explained)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  });
  afterAll(() => server.stop());

  it('a VP approves 25,000', async () => {
    const id = await pendingWorkflow(server, 'alice', '25000');
    const res = await server.gql(APPROVE, { id }, await server.token('carol'));
    expect(res.body).toEqual({ data: { approveWorkflow: { status: 'APPROVED' } } });
  });

  it('an approver who is not a VP cannot approve 25,000, and is told why', async () => {
    const id = await pendingWorkflow(server, 'alice', '25000');
    await server.gql(
      'mutation($id: ID!, $u: ID!) { shareWorkflow(id: $id, userId: $u, role: APPROVER) { id } }',
      { id, u: BOB },
      await server.token('alice'),
    );
    const res = await server.gql(APPROVE, { id }, await server.token('bob'));
    expect(res.body.data).toBeNull();
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'FORBIDDEN',
      gate: 'policy',
      explain: ['an amount above 10000 needs a VP'],
    });
    // Nothing changed: still pending.
    const after = await server.gql<{ workflow: { status: string } }>(
      'query($id: ID!) { workflow(id: $id) { status } }',
      { id },
      await server.token('alice'),
    );
    expect(after.body.data?.workflow.status).toBe('PENDING_APPROVAL');
  });

  it('nobody approves their own workflow (separation of duties)', async () => {
    const id = await pendingWorkflow(server, 'alice', '500');
    const res = await server.gql(APPROVE, { id }, await server.token('alice'));
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'FORBIDDEN',
      gate: 'policy',
      explain: ['nobody approves or rejects their own workflow (separation of duties)'],
    });
  });

  it('an admin approves someone else’s workflow up to the limit', async () => {
    const id = await pendingWorkflow(server, 'bob', '5000');
    const res = await server.gql(APPROVE, { id }, await server.token('alice'));
    expect(res.body).toEqual({ data: { approveWorkflow: { status: 'APPROVED' } } });
  });
});

describe('policy data and production-like answers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-policy-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('takes the approval limit from policy data (POLICY_DATA_FILE), not code', async () => {
    const file = path.join(dir, 'policy-data.json');
    await writeFile(
      file,
      JSON.stringify({ tenants: { [DEMO_TENANTS.acme.id]: { approval_limit: 50000 } } }),
    );
    const server = await startTestServer({ POLICY_DATA_FILE: file });
    try {
      const id = await pendingWorkflow(server, 'bob', '25000');
      const res = await server.gql(APPROVE, { id }, await server.token('alice'));
      expect(res.body).toEqual({ data: { approveWorkflow: { status: 'APPROVED' } } });
    } finally {
      await server.stop();
    }
  });

  it('outside development a policy denial says which gate and decision, not why', async () => {
    const server = await startTestServer();
    try {
      const id = await pendingWorkflow(server, 'bob', '25000');
      const res = await server.gql(APPROVE, { id }, await server.token('alice'));
      expect(res.body.data).toBeNull();
      expect(Object.keys(res.body.errors![0]!.extensions!).sort()).toEqual([
        'code',
        'decisionId',
        'gate',
      ]);
      expect(res.body.errors![0]!.extensions!['gate']).toBe('policy');
    } finally {
      await server.stop();
    }
  });
});
