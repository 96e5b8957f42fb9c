/** Shared expectations of the end-to-end tests. */
import { expect } from 'vitest';
import type { TestServer } from './testServer.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The extensions of a gate-2 denial (NODE_ENV=test: no `explain`) of the field at
 * `coordinate`; `argument` when the decision was about the object an argument names.
 */
export function denial(at: {
  readonly coordinate: string;
  readonly argument?: string;
  readonly reason?: string;
}): Record<string, unknown> {
  return {
    code: 'FORBIDDEN',
    gate: 'relationship',
    decisionId: expect.stringMatching(UUID) as unknown,
    ...at,
  };
}

/**
 * After SpiceDB accepts writes again: drives the outbox relay (in service, its sweep does)
 * until `read` answers without errors — the pending entries apply once their backoff has
 * passed. Bounded wait, no timing assertion. Returns the last answer.
 */
export async function drainUntilReadable(
  server: TestServer,
  read: () => Promise<{ errors?: unknown }>,
): Promise<unknown> {
  const deadline = Date.now() + 15_000;
  let body: { errors?: unknown } = {};
  while (Date.now() < deadline) {
    await server.gatehouse.relay.drain().catch(() => undefined);
    body = await read();
    if (!body.errors) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return body;
}
