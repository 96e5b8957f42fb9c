/**
 * The production topology as processes on this machine (tools/cluster.ts, the same as
 * `npm run cluster:local`): the machine's PostgreSQL (a database of its own), the real
 * SpiceDB server on its postgres datastore, Redis, two Gatehouse replicas in production
 * mode, and nginx in front. Every request goes through nginx, which alternates replicas
 * per request and names the one that answered (X-Gatehouse-Upstream). Proves, through the
 * load balancer:
 * - a share granted through one replica is visible through the other on the next request,
 *   and a revocation through one is denied through the other on the next request, with
 *   the decision cache on (its production default) — no staleness;
 * - a live audit feed subscriber receives the events of mutations made through either;
 * - the rate-limit budget is one budget for the cluster, not one per replica;
 * - `kill -9` of a replica under mutation load: every acknowledged mutation is in
 *   PostgreSQL once, with its audit event, and its relationships reach SpiceDB; clients
 *   that retry (reading before they retry a create) all succeed; nothing lost or doubled.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO_TEAMS, DEMO_TENANTS, findDemoUser } from '../../src/demo/demoData.js';
import { startCluster, type Cluster } from '../../tools/cluster.js';
import { asAdministratorOf } from '../support/superuser.js';

const DATACENTER = '00000000-0000-4000-c000-000000025000';
const ENGINEERING = DEMO_TEAMS.find((t) => t.name === 'Engineering')!.id;
const ERIN = findDemoUser('erin')!.id;
const READ = 'query($id: ID!) { workflow(id: $id) { name } }';
const CREATE =
  'mutation($n: String!, $t: ID!) { createWorkflow(input: { name: $n, amount: "10", teamId: $t }) { id } }';

interface Answer {
  readonly status: number;
  readonly upstream: string | null;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ extensions?: Record<string, unknown> }>;
  };
}

/** Debian's nginx; CI installs it, so there a missing one fails the test rather than skipping it. */
const hasNginx = existsSync('/usr/sbin/nginx') || spawnSync('nginx', ['-v']).error === undefined;

describe.skipIf(!process.env['DATABASE_ADMIN_URL'] || (!hasNginx && !process.env['CI']))(
  'two replicas behind nginx',
  () => {
    let cluster: Cluster;
    const clients: Client[] = [];

    async function gql(
      query: string,
      variables: Record<string, unknown> | undefined,
      token?: string,
    ): Promise<Answer> {
      const res = await fetch(`${cluster.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      return {
        status: res.status,
        upstream: res.headers.get('x-gatehouse-upstream'),
        body: res.headers.get('content-type')?.includes('json')
          ? (JSON.parse(text) as Answer['body'])
          : {},
      };
    }

    beforeAll(async () => {
      cluster = await startCluster({
        replicas: 2,
        env: {
          // A budget small enough to exhaust; only the anonymous requests below use it.
          RATE_LIMIT_ANONYMOUS_PER_HOUR: '6',
          RATE_LIMIT_ANONYMOUS_BURST: '6',
          // The load below is one user's: a budget it does not reach.
          RATE_LIMIT_USER_PER_HOUR: '10000000',
          RATE_LIMIT_USER_BURST: '1000000',
        },
      });
    }, 180_000);

    afterAll(async () => {
      for (const client of clients) await client.dispose();
      await cluster.stop();
    }, 60_000);

    it('alternates replicas per request', async () => {
      const alice = await cluster.token('alice');
      const upstreams = new Set<string | null>();
      for (let i = 0; i < 4; i++) {
        const res = await gql('{ me { subject } }', undefined, alice);
        expect(res.body).toEqual({ data: { me: { subject: 'demo|alice' } } });
        upstreams.add(res.upstream);
      }
      expect([...upstreams].sort()).toEqual(cluster.replicas.map((r) => r.address).sort());
    });

    it('a share through one replica is visible through the other on the next request; a revocation likewise denied', async () => {
      const alice = await cluster.token('alice');
      const erin = await cluster.token('erin');
      // Both replicas have decided (and cached) erin's denial first.
      for (let i = 0; i < 2; i++) {
        const denied = await gql(READ, { id: DATACENTER }, erin);
        expect(denied.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      }
      const share = await gql(
        'mutation($id: ID!, $u: ID!) { shareWorkflow(id: $id, userId: $u, role: VIEWER) { id } }',
        { id: DATACENTER, u: ERIN },
        alice,
      );
      expect(share.body.errors).toBeUndefined();
      const seen = await gql(READ, { id: DATACENTER }, erin);
      expect(seen.upstream).not.toBe(share.upstream);
      expect(seen.body).toEqual({ data: { workflow: { name: 'Datacenter expansion' } } });
      // Erin now has an allowed decision cached on the replica that answered; revoke
      // through the other one.
      const unshare = await gql(
        'mutation($id: ID!, $u: ID!) { unshareWorkflow(id: $id, userId: $u) { id } }',
        { id: DATACENTER, u: ERIN },
        alice,
      );
      expect(unshare.body.errors).toBeUndefined();
      expect(unshare.upstream).not.toBe(seen.upstream);
      for (let i = 0; i < 2; i++) {
        const gone = await gql(READ, { id: DATACENTER }, erin);
        expect(gone.body.data).toEqual({ workflow: null });
        expect(gone.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
        expect(JSON.stringify(gone.body)).not.toContain('Datacenter');
      }
    });

    it('a live audit feed subscriber receives the events of mutations made through either replica', async () => {
      const alice = await cluster.token('alice');
      const bob = await cluster.token('bob');
      const received: string[] = [];
      const client = createClient({
        url: `${cluster.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${alice}` },
        retryAttempts: 0,
      });
      clients.push(client);
      const prefix = `feed ${randomUUID()}`;
      let ready!: () => void;
      const subscribed = new Promise<void>((resolve) => (ready = resolve));
      client.on('connected', () => ready());
      client.subscribe<{ auditEvents: { action: string; resource: { id: string | null } | null } }>(
        {
          query:
            'subscription { auditEvents(filter: { action: "workflow.create" }) { action resource { id } } }',
        },
        {
          next: (r) => {
            const id = r.data?.auditEvents.resource?.id;
            if (id) received.push(id);
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
      await subscribed;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const made: Array<{ id: string; upstream: string | null }> = [];
      for (let i = 0; i < 4; i++) {
        const res = await gql(CREATE, { n: `${prefix} ${i}`, t: ENGINEERING }, bob);
        expect(res.body.errors).toBeUndefined();
        made.push({
          id: (res.body.data!['createWorkflow'] as { id: string }).id,
          upstream: res.upstream,
        });
      }
      // Made through both replicas, whichever one holds the subscription.
      expect(new Set(made.map((m) => m.upstream)).size).toBe(2);
      const deadline = Date.now() + 10_000;
      while (!made.every((m) => received.includes(m.id)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(made.filter((m) => !received.includes(m.id))).toEqual([]);
    });

    it('shares one rate-limit budget across replicas (Redis)', async () => {
      const answers: Answer[] = [];
      for (let i = 0; i < 10; i++) answers.push(await gql('{ health }', undefined));
      expect(new Set(answers.map((a) => a.upstream)).size).toBe(2);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(6);
      const refused = answers.filter((a) => a.status === 429);
      expect(refused).toHaveLength(4);
      for (const a of refused)
        expect(a.body.errors?.[0]?.extensions?.['code']).toBe('RATE_LIMITED');
    });

    it('kill -9 of a replica under mutation load: nothing acknowledged is lost, nothing is doubled, retrying clients succeed', async () => {
      const bob = await cluster.token('bob');
      const prefix = `load ${randomUUID()}`;
      const acknowledged = new Map<string, string>(); // name → id

      /**
       * The workflow named `name` among bob's, page by page: its id, `null` when every page
       * was read and none has it, `undefined` when a page got no answer (then nothing is
       * known: a create that got no answer may have committed).
       */
      async function findByName(name: string): Promise<{ id: string } | null | undefined> {
        let after: string | null = null;
        for (;;) {
          const page = await gql(
            'query($a: String) { workflows(first: 100, after: $a) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }',
            { a: after },
            bob,
          ).catch(() => undefined);
          const list = page?.body.data?.['workflows'] as
            | {
                edges: Array<{ node: { id: string; name: string } }>;
                pageInfo: { hasNextPage: boolean; endCursor: string | null };
              }
            | undefined;
          if (!list) return undefined;
          const hit = list.edges.find((e) => e.node.name === name);
          if (hit) return hit.node;
          if (!list.pageInfo.hasNextPage) return null;
          after = list.pageInfo.endCursor;
        }
      }

      /**
       * Creates `name` until acknowledged; before a retry, reads whether it was made, until
       * the read answers (a client without idempotency keys must know before it repeats).
       */
      async function createUntilAcknowledged(name: string): Promise<void> {
        for (let attempt = 0; attempt < 50; attempt++) {
          if (attempt > 0) {
            let edge = await findByName(name);
            for (let read = 0; edge === undefined && read < 50; read++) {
              await new Promise((resolve) => setTimeout(resolve, 100));
              edge = await findByName(name);
            }
            if (edge === undefined) throw new Error(`${name}: never learnt whether it was made`);
            if (edge) {
              acknowledged.set(name, edge.id);
              return;
            }
          }
          const res = await gql(CREATE, { n: name, t: ENGINEERING }, bob).catch(() => undefined);
          const id = (res?.body.data?.['createWorkflow'] as { id: string } | undefined)?.id;
          if (res?.status === 200 && id && !res.body.errors) {
            acknowledged.set(name, id);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`${name} never acknowledged`);
      }

      const victim = cluster.replicas[0]!;
      const workers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 15; i++) await createUntilAcknowledged(`${prefix} ${w}-${i}`);
      });
      // Killed mid-load, however fast this machine is: once a few are acknowledged.
      while (acknowledged.size < 5) await new Promise((resolve) => setTimeout(resolve, 5));
      victim.process.child.kill('SIGKILL');
      const atKill = acknowledged.size;
      expect(atKill).toBeLessThan(30);
      await Promise.all(workers);
      expect(acknowledged.size).toBe(60);

      // As PostgreSQL's administrator (no RLS: the auditor's view).
      const rows = await asAdministratorOf(cluster.database.name, (sql) =>
        sql.query<{ name: string; id: string; events: string }>(
          `select w.name, w.id::text, (select count(*) from audit_events e
            where e.tenant_id = w.tenant_id and e.action = 'workflow.create'
              and e.resource_id = w.id::text)::text as events
           from workflows w where w.tenant_id = $1 and w.name like $2`,
          [DEMO_TENANTS.acme.id, `${prefix}%`],
        ),
      );
      // Once each, with the id the client was given, each with its audit event.
      expect(rows).toHaveLength(60);
      for (const row of rows) {
        expect(acknowledged.get(row.name)).toBe(row.id);
        expect(row.events).toBe('1');
      }
      // Their relationships reached SpiceDB: bob (the creator's team) reads every one.
      const deadline = Date.now() + 20_000;
      let unreadable = [...acknowledged.values()];
      while (unreadable.length > 0 && Date.now() < deadline) {
        const still: string[] = [];
        for (const id of unreadable) {
          const res = await gql(READ, { id }, bob).catch(() => undefined);
          if (!res || res.body.errors) still.push(id);
        }
        unreadable = still;
        if (still.length) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(unreadable).toEqual([]);
      expect(victim.process.child.signalCode).toBe('SIGKILL');
      // The cluster comes back to two replicas (nginx retries a failed one after 2 s).
      await cluster.restartReplica(0);
      const again = new Set<string | null>();
      const back = Date.now() + 15_000;
      while (again.size < 2 && Date.now() < back) {
        again.add((await gql('{ me { subject } }', undefined, bob)).upstream);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(again.size).toBe(2);
    }, 120_000);
  },
);
