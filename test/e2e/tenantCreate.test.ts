/**
 * `npm run tenant:create` end to end: the operator CLI, as a process of its own, creates an
 * organisation and its first admin in the server's database; the admin's token then works
 * at once (a user account with ADMIN, relationships through the outbox, the tenant's audit
 * chain opened by `tenant.create`). Bad options exit 2 with the option named; a taken slug
 * is refused and changes nothing.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usingPostgres } from '../support/testDatabase.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

const run = promisify(execFile);

/** Runs the CLI; resolves with its exit code and output (never rejects). */
async function tenantCreate(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/tenantCreate.ts', ...args],
      // Embedded: a throwaway database, never the developer's .gatehouse/.
      { env: { ...process.env, ...(usingPostgres ? {} : { PGLITE_DATA_DIR: 'memory://' }) } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The options of a valid tenant, `overrides` last. */
function options(overrides: Record<string, string> = {}): string[] {
  const all = {
    slug: `org-${randomUUID().slice(0, 8)}`,
    name: 'Real Org',
    'admin-subject': `oidc|${randomUUID()}`,
    'admin-email': 'first.admin@real.example',
    'admin-name': 'First Admin',
    ...overrides,
  };
  return Object.entries(all).flatMap(([name, value]) => [`--${name}`, value]);
}

describe('tenant:create refuses bad options (exit 2, the option named)', () => {
  it.each([
    [['--slug', 'x'], 'usage: npm run tenant:create'],
    [options({ slug: 'a' }), '--slug'],
    [options({ 'admin-email': 'not-an-email' }), '--admin-email'],
    [options({ id: 'nope' }), '--id'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('%j', async (args, message) => {
    const result = await tenantCreate(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe.skipIf(!usingPostgres)('tenant:create against the server’s database', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('creates an organisation whose first admin can work at once; a taken slug is refused', async () => {
    const slug = `org-${randomUUID().slice(0, 8)}`;
    const subject = `oidc|${randomUUID()}`;
    const args = options({ slug, 'admin-subject': subject });
    const created = await tenantCreate(args);
    expect(created.code, created.stderr).toBe(0);
    const id = /id ([0-9a-f-]{36})/.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    await server.gatehouse.relay.drain();

    const token = await server.token('alice', { subject, tenantId: id!, roles: [] });
    const me = await server.gql<{
      me: { tenant: { slug: string }; user: { displayName: string; roles: string[] } };
    }>('{ me { tenant { slug } user { displayName roles } } }', undefined, token);
    expect(me.body.data?.me).toEqual({
      tenant: { slug },
      user: { displayName: 'First Admin', roles: ['ADMIN', 'MEMBER'] },
    });
    // Its relationships are in SpiceDB: it administers, creates, and reads its trail.
    const workflow = await server.gql(
      'mutation { createWorkflow(input: { name: "first", amount: "1" }) { id } }',
      undefined,
      token,
    );
    expect(workflow.body.errors).toBeUndefined();
    const trail = await server.gql<{
      auditEvents: { edges: Array<{ node: { action: string; actor: { kind: string } } }> };
    }>('{ auditEvents(first: 10) { edges { node { action actor { kind } } } } }', undefined, token);
    expect(trail.body.errors).toBeUndefined();
    expect(trail.body.data?.auditEvents.edges.map((e) => e.node.action)).toEqual(
      expect.arrayContaining(['tenant.create', 'workflow.create']),
    );

    const again = await tenantCreate(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('a tenant with this slug or id exists');
  });
});
