/**
 * The web client example (examples/web-client) against a real Gatehouse: its Apollo Client
 * and its generated operations page the workflows with the server's cursors, keep the data
 * of a page with denied cells, create a workflow, and receive that creation's audit event
 * over graphql-ws — and its runnable main.ts does all of it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/testServer.js';
import {
  loadWebClientExample,
  WEB_CLIENT_DIR,
  type WebClientExample,
} from '../support/webClientExample.js';

describe('the web client example', () => {
  let example: WebClientExample;
  let server: TestServer;
  const clients: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    example = await loadWebClientExample();
    // The demo organisations as seeded (three acme workflows), whatever other test files
    // wrote into a shared PostgreSQL: an embedded database of its own.
    server = await startTestServer({
      DATABASE_URL: undefined,
      DATABASE_OWNER_URL: undefined,
      PGLITE_DATA_DIR: 'memory://',
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  });

  async function clientOf(user: string) {
    const token = await server.token(user);
    const client = example.createGatehouseClient({
      url: `${server.url}/graphql`,
      token: () => token,
    });
    clients.push(client);
    return client.apollo;
  }

  /** Every workflow `user` may see, newest first, with its cursor: what the pages must add up to. */
  async function allWorkflows(user: string) {
    const res = await server.gql<{
      workflows: { edges: Array<{ cursor: string; node: { id: string } }> };
    }>('{ workflows(first: 100) { edges { cursor node { id } } } }', {}, await server.token(user));
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.workflows.edges.map((e) => ({ cursor: e.cursor, id: e.node.id }));
  }

  it('derives the WebSocket URL from the HTTP one', () => {
    expect(example.webSocketUrl('http://localhost:4000/graphql')).toBe(
      'ws://localhost:4000/graphql',
    );
    expect(example.webSocketUrl('https://api.example.com/graphql')).toBe(
      'wss://api.example.com/graphql',
    );
  });

  it('pages the workflows with first/after, and the cache merges the pages into one list', async () => {
    const truth = await allWorkflows('alice');
    expect(truth).toHaveLength(3); // the demo seed: two pages of two
    const list = example.watchWorkflows(await clientOf('alice'), 2);

    const first = await example.settled(list);
    expect(first.error).toBeUndefined();
    expect(first.data.workflows.totalCount).toBe(3);
    expect(first.data.workflows.edges.map((e) => e.node.id)).toEqual(
      truth.slice(0, 2).map((w) => w.id),
    );
    expect(first.data.workflows.pageInfo).toEqual({
      __typename: 'PageInfo',
      hasNextPage: true,
      endCursor: truth[1]!.cursor,
    });

    const second = await example.loadNextPage(list);
    expect(second?.error).toBeUndefined();
    expect(second?.data?.workflows.edges.map((e) => e.node.id)).toEqual([truth[2]!.id]);
    expect(second?.data?.workflows.pageInfo).toMatchObject({
      hasNextPage: false,
      endCursor: truth[2]!.cursor,
    });

    // The relay policy appended page 2: the watched list holds all three, in order, once.
    const merged = await example.settled(list);
    expect(merged.data.workflows.edges.map((e) => [e.cursor, e.node.id])).toEqual(
      truth.map((w) => [w.cursor, w.id]),
    );
    expect(merged.data.workflows.totalCount).toBe(3);
    expect(merged.data.workflows.pageInfo.hasNextPage).toBe(false);
    expect(await example.loadNextPage(list)).toBeUndefined();
  });

  it('keeps the data of a page whose cells a gate denied, with their FORBIDDEN errors', async () => {
    const list = example.watchWorkflows(await clientOf('bob'), 3);
    const page = await example.settled(list);
    const edges = page.data.workflows.edges;
    expect(edges.map((e) => e.node.name).sort()).toEqual([
      'Cloud credits top-up',
      'Datacenter expansion',
      'Laptop refresh',
    ]);
    // bob reads the amounts of his own workflows only (view_financials).
    const alices = edges.findIndex((e) => e.node.owner.displayName === 'Alice Admin');
    expect(edges[alices]!.node.amount).toBeNull();
    expect(edges.filter((e) => e.node.amount !== null)).toHaveLength(2);
    expect(example.errorCodesByPath(page.error)).toEqual(
      new Map([[`workflows.edges.${alices}.node.amount`, 'FORBIDDEN']]),
    );
  });

  it('delivers the audit event of a mutation to an auditor watching the feed', async () => {
    const auditor = await clientOf('dave');
    const head = await example.auditHead(auditor);
    const feed = example.recordAuditFeed(auditor, head);
    try {
      const created = await (
        await clientOf('bob')
      ).mutate({
        mutation: example.CreateWorkflowMutation,
        variables: { input: { name: 'Web client offsite', amount: '1200' } },
      });
      expect(created.error).toBeUndefined();
      expect(created.data?.createWorkflow).toMatchObject({
        name: 'Web client offsite',
        amount: '1200.00',
        status: 'DRAFT',
        version: 1,
      });
      const id = created.data!.createWorkflow.id;
      const event = await feed.waitFor((e) => e.resource?.id === id);
      expect(event).toMatchObject({
        action: 'workflow.create',
        outcome: 'SUCCEEDED',
        actor: { subject: 'demo|bob' },
        resource: { type: 'workflow', id },
      });
      expect(event.seq).toBeGreaterThan(head);
      // From the head on, in seq order without a gap: nothing was missed before it.
      expect(feed.events.map((e) => e.seq)).toEqual(feed.events.map((_, i) => head + 1 + i));
    } finally {
      feed.stop();
    }
  });

  it('ends the feed of a member with FORBIDDEN, and refuses the head to them too', async () => {
    const bob = await clientOf('bob');
    await expect(example.auditHead(bob)).rejects.toSatisfy(
      (error) => example.errorCodesByPath(error).get('auditEvents') === 'FORBIDDEN',
    );
    const feed = example.recordAuditFeed(bob, 0);
    const ended = await feed
      .waitFor(() => true)
      .then(
        () => 'an event',
        (error: unknown) => error,
      );
    expect([...example.errorCodesByPath(ended).values()]).toEqual(['FORBIDDEN']);
    expect(feed.events).toEqual([]);
  });

  it('runs src/main.ts: two pages, a creation, and the event it wrote', async () => {
    const token = await server.token('alice');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(WEB_CLIENT_DIR, 'src/main.ts')],
      {
        env: { ...process.env, GATEHOUSE_URL: `${server.url}/graphql`, GATEHOUSE_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    const total = Number(/^workflows: (\d+) in all, 2 per page$/.exec(lines[0]!)?.[1]);
    expect(total).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l === '  --- next page')).toHaveLength(Math.ceil(total / 2) - 1);
    expect(stdout).toContain(`loaded ${total} into the cache's one list`);
    const id = /^created workflow (\S+) \(DRAFT\)$/m.exec(stdout)?.[1];
    expect(id).toBeDefined();
    expect(stdout).toMatch(
      new RegExp(
        `^audit event \\d+: workflow\\.create SUCCEEDED by demo\\|alice on workflow ${id}$`,
        'm',
      ),
    );
  });
});
