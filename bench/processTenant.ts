/**
 * The tenant of the benchmarks whose server is a process of its own (bench:otel,
 * bench:memory): 100 workflows owned by its user 1, inserted straight into DATABASE_URL's
 * database, and a development token of that user signed with the key in `keysDir`. The
 * server process's embedded SpiceDB replays the outbox at start, so nothing relays here.
 */
import { ensureDevSigningKey, mintDevToken } from '../src/authn/devSigningKey.js';
import type { Gatehouse } from '../src/server/createGatehouse.js';
import { createTestTenant, openTestDatabase } from '../test/support/testDatabase.js';
import { insertWorkflows } from '../test/support/workflowFixtures.js';

export const PROCESS_BENCH_QUERY =
  '{ workflows(first: 100) { edges { node { id name amount shares { role } } } } }';

/** Makes the tenant; returns the bearer token its list-100 requests carry. */
export async function processBenchTenant(keysDir: string): Promise<string> {
  const db = await openTestDatabase();
  try {
    const tenant = await createTestTenant(db, 2);
    await insertWorkflows(
      { database: db, relay: { drain: () => Promise.resolve(0) } } as unknown as Gatehouse,
      tenant,
      100,
      1,
    );
    return await mintDevToken(await ensureDevSigningKey(keysDir), {
      subject: tenant.users[1]!.subject,
      tenantId: tenant.id,
      ttlSeconds: 3600,
    });
  } finally {
    await db.close();
  }
}

/** Fails unless the server at `url` lists the tenant's 100 workflows for `request`. */
export async function expectFullPage(
  url: string,
  request: { readonly headers: Record<string, string>; readonly body: string },
): Promise<void> {
  const probe = await fetch(url, { method: 'POST', ...request });
  const answer = (await probe.json()) as { data?: { workflows: { edges: unknown[] } } };
  if (answer.data?.workflows.edges.length !== 100) {
    throw new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 300)}`);
  }
}
