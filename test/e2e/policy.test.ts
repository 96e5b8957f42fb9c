/**
 * Gate 3 in the request path: @policy on approveWorkflow/rejectWorkflow evaluates the
 * compiled Rego (policies/policy.wasm) after SpiceDB allowed. Fresh workflows in the demo
 * tenant: alice (admin) owns them, carol is the VP, bob or erin is made an APPROVER by a
 * share. Policy data comes from POLICY_DATA_FILE and from the tenant's own settings.
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

  it('refuses to start with policy data that is not a JSON object', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{"tenants": ');
    await expect(startTestServer({ POLICY_DATA_FILE: file })).rejects.toThrow('is not JSON');
    await writeFile(file, '[1, 2]');
    await expect(startTestServer({ POLICY_DATA_FILE: file })).rejects.toThrow(
      'must hold a JSON object',
    );
  });

  it('outside development a policy denial says which gate and decision, not why', async () => {
    const server = await startTestServer();
    try {
      const id = await pendingWorkflow(server, 'bob', '25000');
      const res = await server.gql(APPROVE, { id }, await server.token('alice'));
      expect(res.body.data).toBeNull();
      expect(Object.keys(res.body.errors![0]!.extensions!).sort()).toEqual([
        'argument',
        'code',
        'coordinate',
        'decisionId',
        'gate',
      ]);
      expect(res.body.errors![0]!.extensions).toMatchObject({
        gate: 'policy',
        coordinate: 'Mutation.approveWorkflow',
        argument: 'id',
      });
    } finally {
      await server.stop();
    }
  });
});

describe('policy data kept by tenant admins in the database (updatePolicySettings)', () => {
  let server: TestServer;
  const UPDATE = `mutation($input: PolicySettingsInput!, $v: Int) {
    updatePolicySettings(input: $input, expectedVersion: $v) {
      approvalLimit approvalNetworks version updatedBy { displayName }
    }
  }`;
  const update = async (input: Record<string, unknown>, v?: number, user = 'alice') =>
    server.gql<{ updatePolicySettings: { version: number } }>(
      UPDATE,
      { input, ...(v === undefined ? {} : { v }) },
      await server.token(user),
    );
  const ERIN = DEMO_USERS.find((u) => u.key === 'erin')!.id;

  /** A pending workflow of alice's that erin (not a VP) may approve: an APPROVER share. */
  async function forErin(amount: string): Promise<string> {
    const id = await pendingWorkflow(server, 'alice', amount);
    await server.gql(
      'mutation($id: ID!, $u: ID!) { shareWorkflow(id: $id, userId: $u, role: APPROVER) { id } }',
      { id, u: ERIN },
      await server.token('alice'),
    );
    return id;
  }

  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    // Back to the defaults: the demo tenant is shared with other test files.
    await update({ approvalLimit: null, approvalNetworks: [] });
    await server.stop();
  });

  it('only organisation admins read or change them; other tenants are unaffected', async () => {
    const READ = '{ policySettings { approvalLimit approvalNetworks version } }';
    for (const user of ['bob', 'carol', 'dave']) {
      const res = await server.gql(READ, {}, await server.token(user));
      expect(res.body.data).toBeNull();
      expect(res.body.errors![0]!.extensions).toMatchObject({
        code: 'FORBIDDEN',
        gate: 'relationship',
      });
      const write = await update({ approvalLimit: '1' }, undefined, user);
      expect(write.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN' });
    }
    const changed = await update({ approvalLimit: '12345.67' });
    expect(changed.body.errors).toBeUndefined();
    const mallory = await server.gql(READ, {}, await server.token('mallory'));
    expect(mallory.body.data).toEqual({
      policySettings: { approvalLimit: null, approvalNetworks: [], version: 0 },
    });
    await update({ approvalLimit: null });
  });

  it('a new approval limit applies to the next decision, without a restart', async () => {
    const before = await server.gql(
      APPROVE,
      { id: await forErin('25000') },
      await server.token('erin'),
    );
    expect(before.body.errors![0]!.extensions).toMatchObject({
      gate: 'policy',
      explain: ['an amount above 10000 needs a VP'],
    });
    const res = await update({ approvalLimit: '30000' });
    expect(res.body.data?.updatePolicySettings).toMatchObject({
      approvalLimit: '30000.00',
      updatedBy: { displayName: 'Alice Admin' },
    });
    const after = await server.gql(
      APPROVE,
      { id: await forErin('25000') },
      await server.token('erin'),
    );
    expect(after.body).toEqual({ data: { approveWorkflow: { status: 'APPROVED' } } });
    // And the limit still binds above it, with the new figure in the reason.
    const above = await server.gql(
      APPROVE,
      { id: await forErin('30000.01') },
      await server.token('erin'),
    );
    expect(above.body.errors![0]!.extensions).toMatchObject({
      explain: ['an amount above 30000 needs a VP'],
    });
    await update({ approvalLimit: null });
  });

  it('approvals only from the networks the tenant allows (the request address is the context)', async () => {
    await update({ approvalNetworks: ['10.0.0.0/8'] });
    const refused = await server.gql(
      APPROVE,
      { id: await forErin('100') },
      await server.token('erin'),
    );
    expect(refused.body.errors![0]!.extensions).toMatchObject({
      code: 'FORBIDDEN',
      gate: 'policy',
      explain: ['approvals are not accepted from this network'],
    });
    await update({ approvalNetworks: ['10.0.0.0/8', '127.0.0.0/8'] });
    const allowed = await server.gql(
      APPROVE,
      { id: await forErin('100') },
      await server.token('erin'),
    );
    expect(allowed.body).toEqual({ data: { approveWorkflow: { status: 'APPROVED' } } });
    await update({ approvalNetworks: [] });
  });

  it('bad settings are BAD_USER_INPUT, a stale version is CONFLICT, and nothing changes', async () => {
    const READ = '{ policySettings { approvalNetworks version } }';
    const current = await server.gql<{ policySettings: { version: number } }>(
      READ,
      {},
      await server.token('alice'),
    );
    const version = current.body.data!.policySettings.version;
    for (const input of [
      { approvalNetworks: ['10.0.0.1/8'] }, // host bits set
      { approvalNetworks: ['not-a-network'] },
      { approvalNetworks: ['10.0.0.0/33'] },
      { approvalNetworks: ['2001:db8::1/32'] },
      { approvalNetworks: Array.from({ length: 101 }, (_, i) => `10.${i}.0.0/16`) },
      { approvalNetworks: null },
      { approvalLimit: '-1' },
      { approvalLimit: '1.234' },
    ]) {
      const res = await update(input);
      expect(res.body.errors![0]!.extensions?.['code']).toBe('BAD_USER_INPUT');
    }
    const stale = await update({ approvalLimit: '5' }, version + 7);
    expect(stale.body.errors![0]!.extensions?.['code']).toBe('CONFLICT');
    const unchanged = await server.gql(READ, {}, await server.token('alice'));
    expect(unchanged.body.data).toEqual({ policySettings: { approvalNetworks: [], version } });
    const ok = await update({ approvalNetworks: ['2001:DB8::/32'] }, version);
    expect(ok.body.data?.updatePolicySettings).toMatchObject({
      approvalNetworks: ['2001:db8::/32'],
      version: version + 1,
    });
  });
});
