import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/testServer.js';

describe('Gatehouse over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers me for a demo user in their tenant', async () => {
    const res = await server.gql<{ me: { subject: string; tenant: { slug: string } } }>(
      '{ me { subject tenant { slug } } }',
      undefined,
      await server.token('alice'),
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.me).toEqual({ subject: 'demo|alice', tenant: { slug: 'acme' } });
  });

  it('serves /healthz and /readyz', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', spicedb: 'ok', policies: 'ok' },
    });
  });
});
