/**
 * Gate 5 end to end over HTTP: what every kind of operation leaves in its tenant's audit
 * trail (mutations in their own transaction, failures after the rollback, refused
 * mutations, one summary per operation for denials, restricted reads before the value
 * leaves), who may read the trail and how (filters, pages, a client's decision id), the
 * chain's verification and signed checkpoints. Exact trails are read in private tenants
 * (user 0 is the admin, so `view_audit`); each test adds to its own tenant.
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCheckpoint, type AuditCheckpoint } from '../../src/audit/AuditCheckpoint.js';
import { loadAuditSigner } from '../../src/audit/loadAuditSigner.js';
import { enqueueRelationships, touch } from '../../src/authz/outbox/RelationshipOutbox.js';
import { membershipTuple, workflowTuples } from '../../src/authz/RelationshipTuple.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import { DEMO_TENANTS } from '../../src/demo/demoData.js';
import { UUID } from '../support/expectations.js';
import type { TestTenant } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const HASH = /^[0-9a-f]{64}$/;

const EVENT_FIELDS = `id seq occurredAt action outcome gate reasons requestId traceId decisionIds
  actor { subject userId kind ip } resource { type id } changes prevHash hash
  decisions { id gate code field reasons }`;

interface Event {
  id: string;
  seq: number;
  occurredAt: string;
  action: string;
  outcome: string;
  gate: string | null;
  reasons: string[];
  requestId: string | null;
  traceId: string | null;
  decisionIds: string[];
  actor: { subject: string | null; userId: string | null; kind: string; ip: string | null };
  resource: { type: string; id: string | null } | null;
  changes: Record<string, { before: unknown; after: unknown }> | null;
  prevHash: string;
  hash: string;
  decisions: Array<{ id: string; gate: string; code: string; field: string; reasons: string[] }>;
}

interface Tenant {
  readonly tenant: TestTenant;
  readonly admin: string;
  readonly member: string;
}

async function tenant(users = 2): Promise<Tenant> {
  const t = await server.createTenant(users);
  return {
    tenant: t,
    admin: await server.tenantToken(t, 0, { roles: ['ADMIN'] }),
    member: await server.tenantToken(t, 1),
  };
}

/** The tenant's events, oldest first (at most 100), as its admin reads them. */
async function trail(t: Tenant, filter: Record<string, unknown> = {}): Promise<Event[]> {
  const res = await server.gql<{ auditEvents: { edges: Array<{ node: Event }> } }>(
    `query($f: AuditEventFilter) { auditEvents(first: 100, filter: $f) { edges { node { ${EVENT_FIELDS} } } } }`,
    { f: filter },
    t.admin,
  );
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.auditEvents.edges.map((e) => e.node).reverse();
}

async function ok<T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const res = await server.gql<T>(query, variables, token);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!;
}

const CREATE =
  'mutation($n: String!, $a: Decimal!) { createWorkflow(input: { name: $n, amount: $a }) { id version } }';

async function createWorkflow(t: Tenant, name = 'Laptops', amount = '500'): Promise<string> {
  const data = await ok<{ createWorkflow: { id: string } }>(
    CREATE,
    { n: name, a: amount },
    t.admin,
  );
  return data.createWorkflow.id;
}

describe('what a mutation leaves', () => {
  it('records each committed mutation, in order, with who, what, the change and the request', async () => {
    const t = await tenant();
    const requestId = `req-${randomUUID().slice(0, 8)}`;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await server.gql<{ createWorkflow: { id: string } }>(
      CREATE,
      { n: 'Laptops', a: '500.50' },
      t.admin,
      { 'X-Request-Id': requestId, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    const id = res.body.data!.createWorkflow.id;
    await ok(`mutation($id: ID!) { submitWorkflow(id: $id) { status } }`, { id }, t.admin);
    const [created, submitted, ...rest] = await trail(t);
    expect(rest).toEqual([]);
    expect(created).toMatchObject({
      seq: 1,
      action: 'workflow.create',
      outcome: 'SUCCEEDED',
      gate: null,
      reasons: [],
      requestId,
      traceId,
      decisionIds: [],
      actor: {
        subject: t.tenant.users[0]!.subject,
        userId: t.tenant.users[0]!.id,
        kind: 'USER',
        ip: expect.stringMatching(/127\.0\.0\.1$/) as unknown,
      },
      resource: { type: 'workflow', id },
      changes: {
        name: { before: null, after: 'Laptops' },
        amount: { before: null, after: '500.5' },
        status: { before: null, after: 'DRAFT' },
        ownerId: { before: null, after: t.tenant.users[0]!.id },
        version: { before: null, after: 1 },
        description: { before: null, after: '' },
      },
      prevHash: '0'.repeat(64),
    });
    expect(created!.id).toMatch(UUID);
    expect(created!.hash).toMatch(HASH);
    expect(submitted).toMatchObject({
      seq: 2,
      action: 'workflow.submit',
      prevHash: created!.hash,
      changes: {
        status: { before: 'DRAFT', after: 'PENDING_APPROVAL' },
        version: { before: 1, after: 2 },
      },
    });
  });

  it('records a failed mutation as FAILED after its rollback, and nothing of the change', async () => {
    const t = await tenant();
    const id = await createWorkflow(t);
    const stale = await server.gql(
      `mutation($id: ID!) { updateWorkflow(id: $id, input: { name: "x" }, expectedVersion: 7) { id } }`,
      { id },
      t.admin,
    );
    expect(stale.body.errors?.[0]?.extensions?.['code']).toBe('CONFLICT');
    const invalid = await server.gql(
      `mutation($id: ID!) { updateWorkflow(id: $id, input: { name: "" }) { id } }`,
      { id },
      t.admin,
    );
    expect(invalid.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const malformed = await server.gql(
      `mutation { submitWorkflow(id: "not-an-id") { id } }`,
      {},
      t.admin,
    );
    expect(malformed.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const [, conflict, badInput, refused] = await trail(t);
    expect(conflict).toMatchObject({
      seq: 2,
      action: 'workflow.update',
      outcome: 'FAILED',
      resource: { type: 'workflow', id },
      reasons: ['CONFLICT: The workflow was changed by someone else; reload it and retry'],
      changes: null,
      actor: { userId: t.tenant.users[0]!.id },
    });
    expect(badInput).toMatchObject({
      seq: 3,
      outcome: 'FAILED',
      reasons: ['BAD_USER_INPUT: name must be 1 to 200 characters'],
    });
    // Refused for its input before any authorization decision: audited all the same.
    expect(refused).toMatchObject({
      seq: 4,
      action: 'workflow.submit',
      outcome: 'FAILED',
      resource: { type: 'workflow', id: 'not-an-id' },
      reasons: ['BAD_USER_INPUT: id must be an id'],
    });
  });

  it('records a mutation a gate refused as DENIED, with the decision the client was given', async () => {
    const t = await tenant();
    const id = await createWorkflow(t, 'Datacenter', '25000');
    await ok(`mutation($id: ID!) { submitWorkflow(id: $id) { status } }`, { id }, t.admin);
    const approve = `mutation($id: ID!) { approveWorkflow(id: $id) { status } }`;
    // The member is no approver (relationship); the admin owns it (separation of duties).
    const byMember = await server.gql(approve, { id }, t.member);
    const byOwner = await server.gql(approve, { id }, t.admin);
    const [memberDecision, ownerDecision] = [byMember, byOwner].map(
      (r) => r.body.errors?.[0]?.extensions?.['decisionId'] as string,
    );
    const denied = (await trail(t, { outcome: 'DENIED' })).filter(
      (e) => e.action === 'workflow.approve',
    );
    expect(denied).toMatchObject([
      {
        outcome: 'DENIED',
        gate: 'relationship',
        resource: { type: 'workflow', id },
        decisionIds: [memberDecision],
        actor: { userId: t.tenant.users[1]!.id },
        decisions: [
          {
            id: memberDecision,
            gate: 'relationship',
            code: 'FORBIDDEN',
            field: 'Mutation.approveWorkflow',
          },
        ],
      },
      {
        gate: 'policy',
        decisionIds: [ownerDecision],
        actor: { userId: t.tenant.users[0]!.id },
      },
    ]);
    expect(denied[0]!.reasons.join(' ')).toMatch(/no approve on workflow/);
    expect(denied[1]!.reasons.join(' ')).toMatch(/own workflow/);
  });
});

/** Workflows in team `teamId` with user `member` in the team: views them, but no amounts. */
async function teamWorkflows(t: Tenant, count: number, member: number): Promise<void> {
  const { tenant: tt } = t;
  await server.gatehouse.database.asOwner(async (_sql, prisma) => {
    const owner = new TenantDatabase(prisma, { timeoutMs: 60_000 });
    await owner.transaction({ tenantId: tt.id, subject: 'fixtures' }, 'write', async (tx) => {
      const rows = Array.from({ length: count }, (_, i) => ({
        tenantId: tt.id,
        id: randomUUID(),
        name: `team ${i}`,
        amount: `${i}.00`,
        ownerId: tt.users[0]!.id,
        teamId: tt.teamId,
      }));
      await tx.workflow.createMany({ data: rows });
      const membership = {
        teamId: tt.teamId,
        userId: tt.users[member]!.id,
        role: 'MEMBER' as const,
      };
      await tx.teamMembership.create({ data: { tenantId: tt.id, ...membership } });
      await enqueueRelationships(tx, tt.id, [
        ...rows.flatMap((r) => workflowTuples(tt.id, r).map(touch)),
        touch(membershipTuple(tt.id, membership)),
      ]);
    });
  });
  await server.gatehouse.relay.drain();
}

describe('denials and restricted reads', () => {
  it('summarises an operation’s denials in ONE event: 100 denied amounts, 100 decisions', async () => {
    const t = await tenant();
    await teamWorkflows(t, 100, 1);
    const res = await server.gql<{ workflows: { edges: Array<{ node: { amount: null } }> } }>(
      '{ workflows(first: 100) { edges { node { name amount } } } }',
      {},
      t.member,
    );
    expect(res.body.data!.workflows.edges).toHaveLength(100);
    const given = res.body.errors!.map((e) => e.extensions!['decisionId'] as string);
    expect(given).toHaveLength(100);
    const events = await trail(t);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'authz.denied',
      outcome: 'DENIED',
      gate: 'relationship',
      resource: null,
      reasons: ['100 × Workflow.amount: FORBIDDEN at gate relationship'],
      actor: { userId: t.tenant.users[1]!.id },
    });
    expect(new Set(events[0]!.decisionIds)).toEqual(new Set(given));
  });

  it('gives each of many concurrent denied operations its own event (written together)', async () => {
    const t = await tenant();
    await teamWorkflows(t, 3, 1);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        server.gql('{ workflows(first: 3) { edges { node { amount } } } }', {}, t.member),
      ),
    );
    const given = answers.map((a) =>
      a.body.errors!.map((e) => e.extensions!['decisionId'] as string).sort(),
    );
    expect(given.every((ids) => ids.length === 3)).toBe(true);
    const events = await trail(t);
    expect(events).toHaveLength(12);
    // One event per operation: its own request, its own three decisions, nobody else's.
    expect(new Set(events.map((e) => e.requestId)).size).toBe(12);
    expect(events.map((e) => [...e.decisionIds].sort()).sort()).toEqual([...given].sort());
    for (const e of events) {
      expect(e).toMatchObject({
        action: 'authz.denied',
        reasons: ['3 × Workflow.amount: FORBIDDEN at gate relationship'],
        actor: { userId: t.tenant.users[1]!.id },
      });
    }
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => events[0]!.seq + i));
  });

  it('explains a decision id a client reports: its event says which permission was missing', async () => {
    const t = await tenant();
    await teamWorkflows(t, 2, 1);
    const res = await server.gql(
      '{ workflows(first: 1) { edges { node { amount } } } }',
      {},
      t.member,
    );
    const decisionId = res.body.errors![0]!.extensions!['decisionId'] as string;
    const [event, ...others] = await trail(t, { decisionId });
    expect(others).toEqual([]);
    const decision = event!.decisions.find((d) => d.id === decisionId);
    expect(decision).toMatchObject({
      gate: 'relationship',
      code: 'FORBIDDEN',
      field: 'Workflow.amount',
    });
    expect(decision!.reasons.join(' ')).toMatch(/^no view_financials on workflow:/);
  });

  it('records a read of restricted data before the value leaves, and no read that was refused', async () => {
    const t = await tenant();
    const created = await ok<{ createCredential: { id: string } }>(
      'mutation { createCredential(input: { name: "deploy", secret: "s3cret-value" }) { id } }',
      {},
      t.member,
    );
    const id = created.createCredential.id;
    const read = `query($id: ID!) { credential(id: $id) { secret } }`;
    const withMfa = await server.gql<{ credential: { secret: string } }>(
      read,
      { id },
      await server.tenantToken(t.tenant, 1, { amr: ['pwd', 'otp'] }),
    );
    expect(withMfa.body.data!.credential.secret).toBe('s3cret-value');
    const withoutMfa = await server.gql(read, { id }, t.member);
    expect(withoutMfa.body.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      gate: 'policy',
    });
    const events = await trail(t);
    expect(events.map((e) => [e.action, e.outcome])).toEqual([
      ['credential.create', 'SUCCEEDED'],
      ['credential.secret.read', 'SUCCEEDED'],
      ['authz.denied', 'DENIED'],
    ]);
    expect(events[0]!.changes).toEqual({
      name: { before: null, after: 'deploy' },
      ownerId: { before: null, after: t.tenant.users[1]!.id },
      secret: { before: null, after: '[redacted]' },
    });
    expect(events[1]).toMatchObject({
      resource: { type: 'credential', id },
      actor: { userId: t.tenant.users[1]!.id },
    });
    expect(JSON.stringify(events)).not.toContain('s3cret-value');
  });
});

describe('reading the trail', () => {
  it('is for organisation admins and auditors: FORBIDDEN for a member, no data', async () => {
    const t = await tenant();
    await createWorkflow(t);
    const res = await server.gql('{ auditEvents { edges { node { action } } } }', {}, t.member);
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    const bob = await server.gql('{ verifyAuditChain { valid } }', {}, await server.token('bob'));
    expect(bob.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    const dave = await server.gql<{ auditEvents: { edges: unknown[] } }>(
      '{ auditEvents(first: 1) { edges { node { action } } } }',
      {},
      await server.token('dave'),
    );
    expect(dave.body.errors).toBeUndefined();
  });

  it('never shows another organisation’s events: mallory sees globex’s trail only', async () => {
    const alice = await server.token('alice');
    const made = await ok<{ createWorkflow: { id: string } }>(
      CREATE,
      { n: 'acme only', a: '1' },
      alice,
    );
    const mallory = await server.token('mallory');
    const byResource = await ok<{ auditEvents: { edges: unknown[] } }>(
      `query($id: String!) { auditEvents(filter: { resourceId: $id }) { edges { node { id } } } }`,
      { id: made.createWorkflow.id },
      mallory,
    );
    expect(byResource.auditEvents.edges).toEqual([]);
    const acme = await ok<{ auditEvents: { edges: unknown[] } }>(
      `query($id: String!) { auditEvents(filter: { resourceId: $id }) { edges { node { id } } } }`,
      { id: made.createWorkflow.id },
      await server.token('dave'),
    );
    expect(acme.auditEvents.edges).toHaveLength(1);
    const heads = await Promise.all(
      [mallory, alice].map((token) =>
        ok<{ verifyAuditChain: { headHash: string } }>(
          '{ verifyAuditChain { headHash } }',
          {},
          token,
        ),
      ),
    );
    expect(heads[0]!.verifyAuditChain.headHash).not.toBe(heads[1]!.verifyAuditChain.headHash);
    expect(DEMO_TENANTS.globex.id).not.toBe(DEMO_TENANTS.acme.id);
  });

  it('refuses a subscription sent over HTTP: 400 SUBSCRIPTION_REQUIRES_WEBSOCKET, nothing runs', async () => {
    const t = await tenant();
    const res = await server.gql('subscription { auditEvents { seq } }', {}, t.admin);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      errors: [
        {
          message:
            'Subscriptions are served over WebSocket (graphql-ws) on this path, not over HTTP',
          extensions: { code: 'SUBSCRIPTION_REQUIRES_WEBSOCKET' },
        },
      ],
    });
    expect(await trail(t)).toEqual([]);
  });

  it('filters on the server: action or action prefix, outcome, resource, actor, time', async () => {
    const t = await tenant();
    const start = new Date();
    const id = await createWorkflow(t);
    await ok(`mutation($id: ID!) { submitWorkflow(id: $id) { status } }`, { id }, t.admin);
    await server.gql(`mutation($id: ID!) { submitWorkflow(id: $id) { status } }`, { id }, t.admin);
    const actions = async (filter: Record<string, unknown>) =>
      (await trail(t, filter)).map((e) => `${e.action}:${e.outcome}`);
    expect(await actions({ action: 'workflow.' })).toEqual([
      'workflow.create:SUCCEEDED',
      'workflow.submit:SUCCEEDED',
      'workflow.submit:FAILED',
    ]);
    expect(await actions({ action: 'workflow.submit' })).toEqual([
      'workflow.submit:SUCCEEDED',
      'workflow.submit:FAILED',
    ]);
    expect(await actions({ action: 'workflow' })).toEqual([]);
    expect(await actions({ outcome: 'FAILED' })).toEqual(['workflow.submit:FAILED']);
    expect(await actions({ resourceType: 'workflow', resourceId: id.toUpperCase() })).toHaveLength(
      3,
    );
    expect(await actions({ actorUserId: t.tenant.users[1]!.id })).toEqual([]);
    expect(
      await actions({
        since: start.toISOString(),
        until: new Date(Date.now() + 60_000).toISOString(),
      }),
    ).toHaveLength(3);
    expect(await actions({ until: start.toISOString() })).toEqual([]);
    for (const filter of [
      { actorUserId: 'nope' },
      { action: 'Workflow.Create' },
      { decisionId: 'x' },
    ]) {
      const res = await server.gql(
        'query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { node { id } } } }',
        { f: filter },
        t.admin,
      );
      expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('pages newest first with cursors; bad cursors and page sizes are BAD_USER_INPUT', async () => {
    const t = await tenant();
    for (const n of ['a', 'b', 'c', 'd', 'e']) await createWorkflow(t, n);
    type Page = {
      auditEvents: {
        edges: Array<{ cursor: string; node: { seq: number } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    };
    const page = (after: string | null) =>
      ok<Page>(
        'query($after: String) { auditEvents(first: 2, after: $after) { edges { cursor node { seq } } pageInfo { hasNextPage endCursor } } }',
        { after },
        t.admin,
      );
    const seen: number[] = [];
    let after: string | null = null;
    for (;;) {
      const p: Page = await page(after);
      seen.push(...p.auditEvents.edges.map((e) => e.node.seq));
      if (!p.auditEvents.pageInfo.hasNextPage) break;
      after = p.auditEvents.pageInfo.endCursor;
    }
    expect(seen).toEqual([5, 4, 3, 2, 1]);
    for (const [args, argument] of [
      ['after: "bm90LWEtY3Vyc29y"', 'after'],
      ['first: 101', 'first'],
      ['first: 0', 'first'],
    ] as const) {
      const res = await server.gql(`{ auditEvents(${args}) { edges { cursor } } }`, {}, t.admin);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
    }
  });
});

describe('verification and checkpoints', () => {
  it('verifies the chain, whole or a range; a reversed range is BAD_USER_INPUT', async () => {
    const t = await tenant();
    for (const n of ['a', 'b', 'c']) await createWorkflow(t, n);
    const whole = await ok<{ verifyAuditChain: Record<string, unknown> }>(
      '{ verifyAuditChain { valid checkedCount headSeq headHash firstInvalidSeq problem } }',
      {},
      t.admin,
    );
    const [last] = (await trail(t)).slice(-1);
    expect(whole.verifyAuditChain).toEqual({
      valid: true,
      checkedCount: 3,
      headSeq: 3,
      headHash: last!.hash,
      firstInvalidSeq: null,
      problem: null,
    });
    const part = await ok<{ verifyAuditChain: { checkedCount: number } }>(
      '{ verifyAuditChain(fromSeq: 2, toSeq: 3) { valid checkedCount } }',
      {},
      t.admin,
    );
    expect(part.verifyAuditChain).toEqual({ valid: true, checkedCount: 2 });
    const reversed = await server.gql(
      '{ verifyAuditChain(fromSeq: 3, toSeq: 2) { valid } }',
      {},
      t.admin,
    );
    expect(reversed.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'fromSeq',
    });
  });

  it('signs the chain head on demand and on its timer; the signature verifies with the public key', async () => {
    const t = await tenant();
    await createWorkflow(t);
    const made = await ok<{ createAuditCheckpoint: AuditCheckpoint & { signedAt: string } }>(
      'mutation { createAuditCheckpoint { seq hash signedAt keyId signature } }',
      {},
      t.admin,
    );
    const [created] = await trail(t);
    expect(made.createAuditCheckpoint).toMatchObject({ seq: 1, hash: created!.hash });
    const signer = await loadAuditSigner(server.config.audit.signingKey);
    const publicKey = createPublicKey(signer.publicKeyPem);
    const checkpoint = {
      ...made.createAuditCheckpoint,
      tenantId: t.tenant.id,
      signedAt: new Date(made.createAuditCheckpoint.signedAt),
    };
    expect(verifyCheckpoint(checkpoint, publicKey)).toBe(true);
    expect(verifyCheckpoint({ ...checkpoint, tenantId: DEMO_TENANTS.acme.id }, publicKey)).toBe(
      false,
    );
    // The checkpoint mutation is audited too: the head moved to seq 2, and the timer signs it.
    const events = await trail(t);
    expect(events.map((e) => e.action)).toEqual(['workflow.create', 'audit.checkpoint']);
    expect(await server.gatehouse.auditCheckpoints.checkpointAll()).toBeGreaterThanOrEqual(1);
    const listed = await ok<{ auditCheckpoints: { edges: Array<{ node: { seq: number } }> } }>(
      '{ auditCheckpoints { edges { node { seq } } } }',
      {},
      t.admin,
    );
    expect(listed.auditCheckpoints.edges.map((e) => e.node.seq)).toEqual([2, 1]);
    const byMember = await server.gql('mutation { createAuditCheckpoint { seq } }', {}, t.member);
    expect(byMember.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
  });
});
