/**
 * The live audit feed, with real graphql-ws clients: events arrive in seq order without
 * gaps or duplicates (also across a replay with `afterSeq` while events are being
 * appended), filters apply on the server, access is decided again for every event (a
 * revocation ends the subscription with FORBIDDEN after the exact last allowed event), an
 * expired token closes the socket with 4401, a stalled consumer holds no buffer and still
 * gets every event, a connection holds a bounded number of subscriptions, and the
 * instance reads each event from the database once however many subscribe. Runs on the
 * test database, and once more on an embedded (PGlite) one.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { appendAuditEvents } from '../../src/audit/appendAuditEvents.js';
import type { AuditEventInput } from '../../src/audit/AuditEvent.js';
import { remove } from '../../src/authz/outbox/RelationshipOutbox.js';
import { enqueueRelationships } from '../../src/authz/outbox/RelationshipOutbox.js';
import { userTuples } from '../../src/authz/RelationshipTuple.js';
import { TenantDatabase } from '../../src/data/TenantDatabase.js';
import type { TestTenant } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

interface FeedEvent {
  seq: number;
  action: string;
  outcome: string;
  resource: { type: string; id: string | null } | null;
}

const FEED = `subscription($f: AuditEventFilter, $after: Int) {
  auditEvents(filter: $f, afterSeq: $after) { seq action outcome resource { type id } } }`;

/** One subscription: what it received, and how it ended. */
class Watch {
  readonly events: FeedEvent[] = [];
  readonly errors: Array<{ message: string; extensions?: Record<string, unknown> }> = [];
  ended: 'complete' | { closed: number | undefined } | undefined;
  readonly #waiters = new Set<() => void>();
  readonly dispose: () => void;

  constructor(client: Client, variables: Record<string, unknown> = {}) {
    this.dispose = client.subscribe<{ auditEvents: FeedEvent }>(
      { query: FEED, variables },
      {
        next: (result) => {
          if (result.data?.auditEvents) this.events.push(result.data.auditEvents);
          if (result.errors) this.errors.push(...(result.errors as Watch['errors']));
          this.#wake();
        },
        error: (error: unknown) => {
          if (Array.isArray(error)) this.errors.push(...(error as Watch['errors']));
          const code = (error as { code?: unknown } | null)?.code;
          this.ended = { closed: typeof code === 'number' ? code : undefined };
          this.#wake();
        },
        complete: () => {
          this.ended ??= 'complete';
          this.#wake();
        },
      },
    );
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Resolves once `done()` holds (bounded wait, no timing assertion). */
  async until(done: () => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          resolve();
        };
        this.#waiters.add(wake);
        setTimeout(wake, 100).unref();
      });
    }
  }

  get seqs(): number[] {
    return this.events.map((e) => e.seq);
  }
}

function client(server: TestServer, token: string): Client {
  return createClient({
    url: server.url.replace('http', 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
}

function event(n: number, reason?: string): AuditEventInput {
  return {
    actor: { subject: 'test', userId: null, kind: 'system', ip: null },
    action: 'test.appended',
    resource: { type: 'test', id: String(n) },
    outcome: 'SUCCEEDED',
    gate: null,
    reasons: reason ? [reason] : [],
    requestId: null,
    traceId: null,
    decisions: [],
    changes: null,
  };
}

/** Appends `count` events straight into the tenant's chain (as a mutation's transaction would). */
async function appendEvents(
  server: TestServer,
  tenant: TestTenant,
  count: number,
  batch = 50,
  reason?: string,
): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    const n = Math.min(batch, count - done);
    await server.gatehouse.database.tenants.transaction(
      { tenantId: tenant.id, subject: 'test' },
      'write',
      (tx) =>
        appendAuditEvents(
          tx,
          tenant.id,
          Array.from({ length: n }, (_, i) => event(done + i, reason)),
        ),
    );
  }
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

function feedTests(name: string, env: () => Record<string, string | undefined>): void {
  describe(name, () => {
    let server: TestServer;
    let tenant: TestTenant;
    let admin: string;
    let member: string;
    const clients: Client[] = [];
    const connect = (token: string) => {
      const c = client(server, token);
      clients.push(c);
      return c;
    };
    /** The tenant's chain head now: a subscription positioned there misses nothing after it. */
    const head = async () => {
      const res = await server.gql<{ verifyAuditChain: { headSeq: number } }>(
        '{ verifyAuditChain { headSeq } }',
        {},
        admin,
      );
      return res.body.data!.verifyAuditChain.headSeq;
    };
    /** Until `count` subscriptions of `tenantId` are live on the server (bounded wait). */
    const live = async (tenantId: string, count: number) => {
      const deadline = Date.now() + 15_000;
      while (server.gatehouse.auditFeed.subscribersOf(tenantId) < count) {
        if (Date.now() > deadline) throw new Error(`${count} subscriptions never went live`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const createWorkflow = async (label: string) => {
      const res = await server.gql<{ createWorkflow: { id: string } }>(
        `mutation($n: String!) { createWorkflow(input: { name: $n, amount: "1" }) { id } }`,
        { n: label },
        member,
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.createWorkflow.id;
    };

    beforeAll(async () => {
      server = await startTestServer({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3', ...env() });
      tenant = await server.createTenant(2);
      admin = await server.tenantToken(tenant, 0, { roles: ['ADMIN'] });
      member = await server.tenantToken(tenant, 1);
    });
    afterAll(async () => {
      for (const c of clients) await c.dispose();
      await server.stop();
    });

    it('delivers a committed mutation’s event to an auditor of its organisation', async () => {
      const watch = new Watch(connect(admin), { after: await head() });
      const id = await createWorkflow(`live ${randomUUID()}`);
      await watch.until(() => watch.events.length >= 1, 'the event');
      expect(watch.events[0]).toMatchObject({
        action: 'workflow.create',
        outcome: 'SUCCEEDED',
        resource: { type: 'workflow', id },
      });
      watch.dispose();
    });

    it('replays after afterSeq, then continues live: gapless, no duplicate, while appends go on', async () => {
      const fresh = await server.createTenant(2);
      const auditor = await server.tenantToken(fresh, 0, { roles: ['ADMIN'] });
      await appendEvents(server, fresh, 700);
      const watch = new Watch(connect(auditor), { after: 0 });
      // Appended while the replay runs (and after): the switch from stored to live.
      await appendEvents(server, fresh, 600, 7);
      await watch.until(() => watch.events.length >= 1300, '1,300 events');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(watch.seqs).toEqual(range(1, 1300));
      const resumed = new Watch(connect(auditor), { after: 1250 });
      await resumed.until(() => resumed.events.length >= 50, 'the resumed 50');
      expect(resumed.seqs).toEqual(range(1251, 1300));
      watch.dispose();
      resumed.dispose();
    });

    it('applies the filter on the server: nothing outside it is sent', async () => {
      const c = connect(admin);
      const credentials = new Watch(c, { f: { action: 'credential.' }, after: await head() });
      await createWorkflow('not a credential');
      const made = await server.gql<{ createCredential: { id: string } }>(
        'mutation { createCredential(input: { name: "filtered", secret: "x" }) { id } }',
        {},
        member,
      );
      await credentials.until(() => credentials.events.length >= 1, 'the credential event');
      await createWorkflow('nor this');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(credentials.events).toEqual([
        {
          seq: expect.any(Number) as unknown,
          action: 'credential.create',
          outcome: 'SUCCEEDED',
          resource: { type: 'credential', id: made.body.data!.createCredential.id },
        },
      ]);
      credentials.dispose();
    });

    it('never crosses tenants: another tenant’s events and forged notifications deliver nothing', async () => {
      const [mine, theirs] = [await server.createTenant(2), await server.createTenant(2)];
      const auditor = await server.tenantToken(mine, 0, { roles: ['ADMIN'] });
      const watch = new Watch(connect(auditor), { after: 0 });
      await live(mine.id, 1);
      await appendEvents(server, theirs, 5, 1);
      // Anyone who can reach the database can NOTIFY: a notification carries no data and
      // is only a hint to read this tenant's chain under its own row-level security.
      for (const payload of [`${mine.id}:999`, `${theirs.id}:1`, 'garbage', `${mine.id}:x`]) {
        await server.gatehouse.database.tenants.transaction(
          { tenantId: theirs.id, subject: 'forger' },
          'write',
          (tx) => tx.$executeRawUnsafe(`select pg_notify('gatehouse_audit', $1)`, payload),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(watch.events).toEqual([]);
      await appendEvents(server, mine, 1);
      await watch.until(() => watch.events.length >= 1, 'its own event');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(watch.events).toEqual([
        {
          seq: 1,
          action: 'test.appended',
          outcome: 'SUCCEEDED',
          resource: { type: 'test', id: '0' },
        },
      ]);
      watch.dispose();
    });

    it('refuses the subscribe step without view_audit: an error and no event', async () => {
      const watch = new Watch(connect(member));
      await watch.until(() => watch.ended !== undefined, 'the refusal');
      await createWorkflow('unseen');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(watch.events).toEqual([]);
      expect(watch.errors.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
      expect(watch.ended).toBe('complete');
    });

    it('answers request errors of a subscription with their codes, and the socket stays open', async () => {
      const c = connect(admin);
      const badVariable = new Watch(c, { after: 'not a number' });
      await badVariable.until(() => badVariable.ended !== undefined, 'the error');
      expect(badVariable.errors.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
      const badFilter = new Watch(c, { f: { actorUserId: 'nope' } });
      await badFilter.until(() => badFilter.ended !== undefined, 'the error');
      expect(badFilter.errors.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
      const fine = new Watch(c, { after: await head() });
      await createWorkflow('still open');
      await fine.until(() => fine.events.length >= 1, 'an event on the same connection');
      fine.dispose();
    });

    it('holds at most WS_MAX_SUBSCRIPTIONS_PER_CONNECTION subscriptions per connection', async () => {
      const c = connect(admin);
      const open = [new Watch(c), new Watch(c), new Watch(c)];
      const fourth = new Watch(c);
      await fourth.until(() => fourth.ended !== undefined, 'the refusal');
      expect(fourth.errors.map((e) => e.extensions)).toEqual([
        { code: 'TOO_MANY_SUBSCRIPTIONS', limit: 3 },
      ]);
      // Ending one makes room (once the server has seen it end); the socket stayed open.
      open[0]!.dispose();
      const after = await head();
      let fifth = new Watch(c, { after });
      for (let tries = 0; tries < 50; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (fifth.ended === undefined) break;
        fifth = new Watch(c, { after });
      }
      await createWorkflow('room again');
      await fifth.until(() => fifth.events.length >= 1, 'an event on the new subscription');
      for (const w of [...open, fifth]) w.dispose();
    });

    it('reads each event from the database once, whatever the number of subscribers', async () => {
      const fresh = await server.createTenant(2);
      const auditor = await server.tenantToken(fresh, 0, { roles: ['ADMIN'] });
      const c = connect(auditor);
      const c2 = connect(auditor);
      const watches = [c, c, c, c2, c2, c2].map((x) => new Watch(x));
      await live(fresh.id, 6);
      const before = server.gatehouse.auditFeed.eventsRead;
      await appendEvents(server, fresh, 20, 1);
      for (const w of watches) await w.until(() => w.events.length >= 20, '20 events each');
      expect(watches.map((w) => w.seqs)).toEqual(watches.map(() => range(1, 20)));
      expect(server.gatehouse.auditFeed.eventsRead - before).toBe(20);
      for (const w of watches) w.dispose();
    });

    it('never buffers for a stalled consumer, and gives it every event once it reads again', async () => {
      const fresh = await server.createTenant(2);
      const auditor = await server.tenantToken(fresh, 0, { roles: ['ADMIN'] });
      const received: number[] = [];
      const ws = new WebSocket(
        server.url.replace('http', 'ws') + '/graphql',
        'graphql-transport-ws',
      );
      await new Promise((resolve) => ws.once('open', resolve));
      ws.on('message', (raw: Buffer) => {
        const message = JSON.parse(raw.toString()) as {
          type: string;
          payload?: { data?: { auditEvents: FeedEvent } };
        };
        if (message.type === 'connection_ack') {
          // With its (large) reasons, so the socket buffers fill long before 3,000 events.
          const query = FEED.replace('outcome', 'outcome reasons');
          ws.send(
            JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: {} } }),
          );
        }
        const seq = message.payload?.data?.auditEvents.seq;
        if (seq !== undefined) received.push(seq);
      });
      ws.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { authorization: `Bearer ${auditor}` },
        }),
      );
      await live(fresh.id, 1);
      // Stop reading: the server's writes back up into the socket buffers.
      const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const feed = server.gatehouse.auditFeed;
      const readBefore = feed.eventsRead;
      await appendEvents(server, fresh, 3000, 100, 'x'.repeat(4096));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Memory is the shared ring (bounded), not a queue per subscriber.
      expect(feed.bufferedEvents).toBeLessThanOrEqual(feed.ringSize);
      expect(received.length).toBeLessThan(3000);
      socket.resume();
      const deadline = Date.now() + 30_000;
      while (received.length < 3000 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(received).toEqual(range(1, 3000));
      // The ring moved past the stalled subscriber, which caught up from the table.
      expect(feed.eventsRead - readBefore).toBeGreaterThan(3000);
      ws.close();
    });

    it('decides view_audit again for every event: a revocation ends it after the exact last event', async () => {
      const fresh = await server.createTenant(3);
      const auditor = await server.tenantToken(fresh, 0, { roles: ['ADMIN'] });
      const actor = await server.tenantToken(fresh, 1);
      const watch = new Watch(connect(auditor), { after: 0 });
      const act = async (name: string) => {
        const res = await server.gql(
          `mutation($n: String!) { createWorkflow(input: { name: $n, amount: "1" }) { id } }`,
          { n: name },
          actor,
        );
        expect(res.body.errors).toBeUndefined();
      };
      await act('before revocation');
      await watch.until(() => watch.events.length >= 1, 'the first event');
      // The auditor stops being an admin: the role and its relationship, through the outbox.
      await server.gatehouse.database.asOwner(async (_sql, prisma) => {
        const owner = new TenantDatabase(prisma, { timeoutMs: 20_000 });
        await owner.transaction({ tenantId: fresh.id, subject: 'test' }, 'write', async (tx) => {
          const user = fresh.users[0]!;
          await tx.user.update({
            where: { tenantId_id: { tenantId: fresh.id, id: user.id } },
            data: { roles: ['MEMBER'], grantedRoles: ['MEMBER'] },
          });
          const admin = userTuples(fresh.id, { id: user.id, roles: ['ADMIN'] }).at(-1)!;
          await enqueueRelationships(tx, fresh.id, [remove(admin)]);
        });
      });
      await server.gatehouse.relay.drain();
      await act('after revocation');
      await watch.until(() => watch.ended !== undefined, 'the end of the subscription');
      await act('long after');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(watch.events.map((e) => e.seq)).toEqual([1]);
      expect(watch.errors.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
      expect(watch.ended).toBe('complete');
    });

    it('closes the socket with 4401 when the token expires, after the events before it', async () => {
      const fresh = await server.createTenant(2);
      const expiring = await server.tenantToken(fresh, 0, { roles: ['ADMIN'], ttlSeconds: 3 });
      const watch = new Watch(connect(expiring), { after: 0 });
      await appendEvents(server, fresh, 2, 1);
      await watch.until(() => watch.events.length >= 2, 'two events');
      await watch.until(() => watch.ended !== undefined, 'the close', 10_000);
      expect(watch.ended).toEqual({ closed: 4401 });
      await appendEvents(server, fresh, 1);
      expect(watch.seqs).toEqual([1, 2]);
    });
  });
}

feedTests('the live audit feed', () => ({}));
feedTests('the live audit feed on the embedded database (npm start)', () => ({
  DATABASE_URL: undefined,
  DATABASE_OWNER_URL: undefined,
  PGLITE_DATA_DIR: 'memory://',
}));
