/**
 * WebSocket limits, attacked with real clients: the upgrade's Origin against CORS_ORIGINS
 * (cross-site WebSocket hijacking), connections per principal, the message size, the
 * `connection_init` timeout (4408), operations per second per connection (RATE_LIMITED,
 * then closed when the client keeps flooding). The server stays healthy throughout.
 */
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/testServer.js';

let server: TestServer;
let bob: string;
const wsUrl = () => `${server.url.replace(/^http/, 'ws')}/graphql`;

beforeAll(async () => {
  server = await startTestServer({
    CORS_ORIGINS: 'https://app.example.com',
    WS_MAX_CONNECTIONS_PER_PRINCIPAL: '2',
    WS_MAX_OPERATIONS_PER_SECOND: '5',
    WS_CONNECTION_INIT_TIMEOUT_MS: '300',
    MAX_BODY_BYTES: '4096',
  });
  bob = await server.token('bob');
});
afterAll(async () => {
  await server.stop();
});

/** The upgrade's answer: 101 (open) or the HTTP status that refused it. */
function upgrade(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl(), 'graphql-transport-ws', { headers });
    socket.on('error', () => undefined); // a refused upgrade, answered below
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
  });
}

/** A raw graphql-ws connection, acknowledged; its messages and close event. */
async function connect(token: string): Promise<{
  socket: WebSocket;
  messages: Array<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}> {
  const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
  const messages: Array<Record<string, unknown>> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data: Buffer) =>
    messages.push(JSON.parse(data.toString()) as Record<string, unknown>),
  );
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
  );
  const deadline = Date.now() + 5_000;
  while (!messages.some((m) => m['type'] === 'connection_ack') && Date.now() < deadline) {
    if (socket.readyState !== WebSocket.OPEN) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { socket, messages, closed };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('WebSocket limits', () => {
  it('refuses an upgrade from a foreign Origin (403); allows CORS_ORIGINS, its own, and none', async () => {
    expect(await upgrade({ Origin: 'https://evil.example.net' })).toBe(403);
    expect(await upgrade({ Origin: 'null' })).toBe(403);
    expect(await upgrade({ Origin: 'https://app.example.com' })).toBe(101);
    expect(await upgrade({ Origin: server.url })).toBe(101);
    expect(await upgrade({})).toBe(101);
  });

  it('closes a connection that never sends connection_init with 4408', async () => {
    const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
    const closed = await new Promise<number>((resolve) =>
      socket.once('close', (code) => resolve(code)),
    );
    expect(closed).toBe(4408);
  });

  it('refuses a principal’s connections past WS_MAX_CONNECTIONS_PER_PRINCIPAL with 4429, and frees the slot on close', async () => {
    const first = await connect(bob);
    const second = await connect(bob);
    const third = await connect(bob);
    expect(await third.closed).toEqual({
      code: 4429,
      reason: 'Too many connections (WS_MAX_CONNECTIONS_PER_PRINCIPAL is 2)',
    });
    // Another principal has connections of its own.
    const alice = await connect(await server.token('alice'));
    expect(alice.messages.map((m) => m['type'])).toEqual(['connection_ack']);
    first.socket.close();
    await first.closed;
    const again = await connect(bob);
    expect(again.messages.map((m) => m['type'])).toEqual(['connection_ack']);
    for (const c of [second, alice, again]) c.socket.close();
    await Promise.all([second.closed, alice.closed, again.closed]);
  });

  it('closes a connection that sends a message over MAX_BODY_BYTES with 1009', async () => {
    const { socket, closed } = await connect(bob);
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: `{ health ${' '.repeat(5000)}}` },
      }),
    );
    expect((await closed).code).toBe(1009);
  });

  it('refuses operations past WS_MAX_OPERATIONS_PER_SECOND with RATE_LIMITED, and closes a flood', async () => {
    const { socket, messages, closed } = await connect(bob);
    for (let i = 0; i < 7; i += 1) {
      socket.send(
        JSON.stringify({ id: `op${i}`, type: 'subscribe', payload: { query: '{ health }' } }),
      );
    }
    await until(
      () => messages.filter((m) => m['type'] === 'complete' || m['type'] === 'error').length >= 7,
    );
    const errors = messages.filter((m) => m['type'] === 'error');
    expect(errors.map((m) => m['id'])).toEqual(['op5', 'op6']);
    expect(errors[0]?.['payload']).toEqual([
      {
        message:
          'More than 5 operations a second on this connection (WS_MAX_OPERATIONS_PER_SECOND)',
        extensions: { code: 'RATE_LIMITED', retryAfter: 1, limit: 5 },
      },
    ]);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    for (let i = 7; i < 12; i += 1) {
      socket.send(
        JSON.stringify({ id: `op${i}`, type: 'subscribe', payload: { query: '{ health }' } }),
      );
    }
    expect(await closed).toEqual({ code: 4429, reason: 'Too many operations a second' });
  });

  it('stays healthy: a well-behaved client runs its operations afterwards', async () => {
    const client: Client = createClient({
      url: wsUrl(),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bob}` },
      retryAttempts: 0,
    });
    const result = await new Promise((resolve, reject) => {
      let value: unknown;
      client.subscribe(
        { query: '{ health }' },
        { next: (v) => (value = v), error: reject, complete: () => resolve(value) },
      );
    });
    expect(result).toEqual({ data: { health: 'ok' } });
    await client.dispose();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
