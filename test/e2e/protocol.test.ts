/**
 * HTTP-level qualities of the GraphQL endpoint: CSRF prevention, request limits, error
 * hygiene, security headers, request ids, introspection control and graceful shutdown.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/testServer.js';
import { UUID } from '../support/expectations.js';

type Body = GraphQLResponse['body'];

const LEAKS = /prisma|select |SELECT|invalid byte sequence|stacktrace|\bat \S+ \(|node_modules/;

function expectSecurityHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('cache-control')).toBe('no-store');
  expect(headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
  // Only in production (behind TLS).
  expect(headers.get('strict-transport-security')).toBeNull();
}

function expectNoLeaks(text: string): void {
  expect(text).not.toMatch(LEAKS);
  const body = JSON.parse(text) as Body;
  for (const error of body.errors ?? []) {
    expect(error.extensions?.['stacktrace']).toBeUndefined();
    expect(Object.keys(error.extensions ?? {})).not.toContain('exception');
  }
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Parses the HTTP/1.1 responses (including interim 1xx ones) received on one socket. */
function parseResponses(raw: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) throw new Error(`incomplete response: ${raw.subarray(offset).toString()}`);
    const [statusLine = '', ...lines] = raw
      .subarray(offset, headEnd)
      .toString('latin1')
      .split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    offset = headEnd + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status >= 200 && headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const sizeEnd = raw.indexOf('\r\n', offset);
        const size = parseInt(raw.subarray(offset, sizeEnd).toString('latin1'), 16);
        offset = sizeEnd + 2;
        if (size === 0) {
          offset += 2;
          break;
        }
        body = Buffer.concat([body, raw.subarray(offset, offset + size)]);
        offset += size + 2;
      }
    } else if (status >= 200) {
      const length = Number(headers['content-length'] ?? '0');
      body = raw.subarray(offset, offset + length);
      offset += length;
    }
    responses.push({ status, headers, body: body.toString('utf8') });
  }
  return responses;
}

describe('HTTP protocol (default configuration)', () => {
  let server: TestServer;
  let tenantToken: string;

  beforeAll(async () => {
    server = await startTestServer();
    const tenant = await server.createTenant(1);
    tenantToken = await server.token('alice', {
      subject: tenant.users[0]!.subject,
      tenantId: tenant.id,
    });
  });

  afterAll(async () => {
    await server.stop();
  });

  /** Workflows in the private tenant: nothing else writes there. */
  async function workflowCount(): Promise<number> {
    const res = await server.gql<{ workflows: { totalCount: number } }>(
      '{ workflows { totalCount } }',
      undefined,
      tenantToken,
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.workflows.totalCount;
  }

  const createMutation = 'mutation { createWorkflow(input: { name: "csrf", amount: "1" }) { id } }';
  const getUrl = (query: string) => `${server.url}/graphql?query=${encodeURIComponent(query)}`;

  it('serves the custom scalars with their SDL descriptions and @specifiedBy (codegen, IDEs)', async () => {
    const res = await server.gql<{
      __schema: {
        types: Array<{ name: string; description: string | null; specifiedByURL: string | null }>;
      };
    }>('{ __schema { types { name description specifiedByURL } } }', undefined, tenantToken);
    expect(res.body.errors).toBeUndefined();
    const scalar = (name: string) => res.body.data!.__schema.types.find((t) => t.name === name);
    expect(scalar('DateTime')).toMatchObject({
      description: expect.stringContaining('RFC 3339') as unknown,
      specifiedByURL: 'https://www.rfc-editor.org/rfc/rfc3339',
    });
    expect(scalar('Decimal')?.description).toContain('two fraction digits');
    expect(scalar('JSON')).toMatchObject({
      description: expect.stringContaining('RFC 8259') as unknown,
      specifiedByURL: 'https://www.rfc-editor.org/rfc/rfc8259',
    });
  });

  describe('CSRF prevention', () => {
    it('refuses a GET without a preflight header, before executing anything', async () => {
      const res = await fetch(getUrl('{ me { subject } }'), {
        headers: { Authorization: `Bearer ${tenantToken}` },
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Body;
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.extensions?.['code']).toBe('BAD_REQUEST');
      expect(body.errors![0]!.message).toMatch(/Cross-Site Request Forgery/);
    });

    it('answers a GET query that carries apollo-require-preflight', async () => {
      const res = await fetch(getUrl('{ health me { subject } }'), {
        headers: { Authorization: `Bearer ${tenantToken}`, 'Apollo-Require-Preflight': 'true' },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Body;
      expect(body.errors).toBeUndefined();
      expect(body.data).toMatchObject({
        health: 'ok',
        me: { subject: expect.any(String) as unknown },
      });
    });

    it('answers a GET query that carries a non-simple Content-Type instead', async () => {
      const res = await fetch(getUrl('{ health }'), {
        headers: { Authorization: `Bearer ${tenantToken}`, 'Content-Type': 'application/json' },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { health: 'ok' } });
    });

    it('refuses a simple POST (text/plain) and does not execute its mutation', async () => {
      const before = await workflowCount();
      for (const contentType of [
        'text/plain',
        'text/plain;charset=UTF-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ]) {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': contentType, Authorization: `Bearer ${tenantToken}` },
          body: JSON.stringify({ query: createMutation }),
        });
        expect(res.status, contentType).toBe(400);
        const body = (await res.json()) as Body;
        expect(body.data).toBeUndefined();
        expect(body.errors?.[0]?.extensions?.['code']).toBe('BAD_REQUEST');
      }
      expect(await workflowCount()).toBe(before);
    });

    it('refuses a mutation over GET, even with a preflight header', async () => {
      const before = await workflowCount();
      const res = await fetch(getUrl(createMutation), {
        headers: { Authorization: `Bearer ${tenantToken}`, 'Apollo-Require-Preflight': 'true' },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      const body = (await res.json()) as Body;
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(await workflowCount()).toBe(before);
    });

    it('executes the same mutation over a JSON POST (the control)', async () => {
      const before = await workflowCount();
      const res = await server.gql(createMutation, undefined, tenantToken);
      expect(res.body.errors).toBeUndefined();
      expect(await workflowCount()).toBe(before + 1);
    });
  });

  describe('malformed requests', () => {
    it('answers invalid JSON with 400 BAD_REQUEST', async () => {
      for (const text of ['{', '{"query": "{ health }"', 'not json', '']) {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: text,
        });
        expect(res.status, text).toBe(400);
        const body = (await res.json()) as Body;
        expect(body).toEqual({
          errors: [
            { message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } },
          ],
        });
        expectSecurityHeaders(res.headers);
      }
    });

    it('answers JSON that is not a GraphQL request with 400 BAD_REQUEST', async () => {
      for (const json of [
        '{}',
        '[]',
        '"query"',
        '{"query": 42}',
        '{"query": "{ health }", "variables": 1}',
      ]) {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: json,
        });
        expect(res.status, json).toBe(400);
        const text = await res.text();
        expectNoLeaks(text);
        const body = JSON.parse(text) as Body;
        expect(body.errors?.[0]?.extensions?.['code'], json).toBe('BAD_REQUEST');
      }
    });

    it('answers a syntax error with GRAPHQL_PARSE_FAILED and no stack trace', async () => {
      const res = await server.gql('{ health ', undefined, tenantToken);
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
    });

    it('answers unknown paths with 404 NOT_FOUND', async () => {
      for (const [method, path] of [
        ['GET', '/'],
        ['GET', '/graphiql'],
        ['GET', '/graphql/x'],
        ['GET', '/../etc/passwd'],
      ] as const) {
        const res = await fetch(`${server.url}${path}`, { method });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(await res.json()).toEqual({
          errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }],
        });
        expectSecurityHeaders(res.headers);
      }
    });

    it('answers other methods with 405 and Allow, HEAD like GET without a body, /path/ as /path', async () => {
      for (const [method, path, allow] of [
        ['POST', '/healthz', 'GET, HEAD'],
        ['DELETE', '/readyz', 'GET, HEAD'],
        ['PUT', '/graphql', 'GET, POST, OPTIONS'],
        ['DELETE', '/graphql/', 'GET, POST, OPTIONS'],
        ['HEAD', '/graphql', 'GET, POST, OPTIONS'],
      ] as const) {
        const res = await fetch(`${server.url}${path}`, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
        if (method !== 'HEAD') {
          const body = (await res.json()) as Body;
          expect(body.errors?.[0]?.extensions).toEqual({ code: 'METHOD_NOT_ALLOWED' });
        }
      }
      for (const path of ['/healthz', '/readyz', '/healthz/', '/readyz/']) {
        const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
        expect(head.status, path).toBe(200);
        expect(await head.text()).toBe('');
        expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
      }
      const slash = await fetch(`${server.url}/graphql/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: '{ health }' }),
      });
      expect(slash.status).toBe(200);
      expect(await slash.json()).toEqual({ data: { health: 'ok' } });
    });

    it('answers a bad token in the media type the client accepts, with WWW-Authenticate', async () => {
      for (const [accept, type] of [
        ['application/graphql-response+json', 'application/graphql-response+json'],
        [
          'application/graphql-response+json, application/json;q=0.9',
          'application/graphql-response+json',
        ],
        ['application/json', 'application/json'],
        [undefined, 'application/json'],
      ] as const) {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Authorization: 'Bearer not-a-token',
            ...(accept ? { Accept: accept } : {}),
          },
          body: JSON.stringify({ query: '{ health }' }),
        });
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toBe(`${type}; charset=utf-8`);
        expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
        expect(await res.json()).toEqual({
          errors: [
            {
              message: 'Authentication required',
              extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' },
            },
          ],
        });
      }
    });
  });

  describe('response headers', () => {
    it('sets the security headers on every kind of response', async () => {
      const responses = [
        await fetch(`${server.url}/healthz`),
        await fetch(`${server.url}/readyz`),
        await fetch(`${server.url}/nope`),
        await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ query: '{ health }' }),
        }),
        await fetch(`${server.url}/graphql`, { method: 'OPTIONS' }),
        await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-token' },
          body: JSON.stringify({ query: '{ health }' }),
        }),
      ];
      expect(responses.map((r) => r.status)).toEqual([200, 200, 404, 200, 204, 401]);
      for (const res of responses) expectSecurityHeaders(res.headers);
    });

    it('echoes a valid X-Request-Id', async () => {
      for (const id of ['abc-123', 'req.42_X', 'a'.repeat(64)]) {
        const res = await server.gql('{ health }', undefined, undefined, { 'X-Request-Id': id });
        expect(res.headers.get('x-request-id')).toBe(id);
      }
      const health = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'h-1' } });
      expect(health.headers.get('x-request-id')).toBe('h-1');
    });

    it('generates an X-Request-Id when none or an invalid one is sent', async () => {
      const seen = new Set<string>();
      for (const id of [undefined, 'has space', 'a'.repeat(65), 'semi;colon', 'ü', '']) {
        const res = await server.gql(
          '{ health }',
          undefined,
          undefined,
          id === undefined ? {} : { 'X-Request-Id': id },
        );
        const echoed = res.headers.get('x-request-id');
        expect(echoed).toMatch(UUID);
        expect(echoed).not.toBe(id);
        seen.add(echoed!);
      }
      expect(seen.size).toBe(6);
    });

    it('does not answer CORS for origins that are not configured', async () => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('introspection and errors (NODE_ENV=test)', () => {
    it('allows introspection by default outside production', async () => {
      const res = await server.gql<{ __schema: { queryType: { name: string } } }>(
        '{ __schema { queryType { name } } }',
      );
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    });

    it('suggests field names while introspection is on', async () => {
      const res = await server.gql('{ healt }');
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
      expect(res.body.errors?.[0]?.message).toMatch(/Did you mean "health"/);
    });

    it('answers a failed request without stack traces, SQL or Prisma text', async () => {
      // A NUL byte in the subject cannot be sent to PostgreSQL ("invalid byte sequence"):
      // reading the caller's account (whether it is deactivated: gate 1's standing, asked
      // for every field that needs authentication) fails in the database layer, so every
      // such field is denied as unavailable — never answered. The read-only transaction
      // has nothing to commit: the answer is a normal GraphQL response whose fields carry
      // AUTHZ_UNAVAILABLE and nothing of the failure (`workflows` is non-null: data null).
      const token = await server.token('alice', { subject: 'evil\u0000subject' });
      const post = (query: string) =>
        fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({ query }),
        });

      for (const [query, field, column] of [
        ['{ me { user { id } } }', 'me', 3],
        ['{ workflows { totalCount } }', 'workflows', 3],
      ] as const) {
        const res = await post(query);
        const text = await res.text();
        expect(res.status).toBe(200);
        expectNoLeaks(text);
        expect(JSON.parse(text), text).toEqual({
          errors: [
            {
              message: 'Authorization is temporarily unavailable',
              locations: [{ line: 1, column }],
              path: [field],
              extensions: {
                code: 'AUTHZ_UNAVAILABLE',
                gate: 'authentication',
                coordinate: `Query.${field}`,
                decisionId: expect.stringMatching(UUID) as unknown,
              },
            },
          ],
          data: null,
        });
      }

      // A mutation the same: denied, never allowed, and it reveals nothing either.
      const mutation = await post(
        'mutation { createWorkflow(input: { name: "nul", amount: "1" }) { id } }',
      );
      const mutationText = await mutation.text();
      expect(mutation.status).toBe(200);
      expectNoLeaks(mutationText);
      expect(JSON.parse(mutationText)).toEqual({
        errors: [
          {
            message: 'Authorization is temporarily unavailable',
            locations: [{ line: 1, column: 12 }],
            path: ['createWorkflow'],
            extensions: {
              code: 'AUTHZ_UNAVAILABLE',
              gate: 'authentication',
              coordinate: 'Mutation.createWorkflow',
              decisionId: expect.stringMatching(UUID) as unknown,
            },
          },
        ],
        data: null,
      });
    });

    it('client errors carry only their code and safe details', async () => {
      const token = await server.token('alice');
      for (const [query, variables] of [
        ['query($id: ID!) { workflow(id: $id) { id } }', { id: 'abc' }],
        ['{ workflows(first: 0) { totalCount } }', {}],
        ['mutation { submitWorkflow(id: "00000000-0000-4000-8000-000000000000") { id } }', {}],
        ['query($id: ID!) { workflow(id: $id) { id } }', { id: 42.5 }],
        ['{ me { nope } }', {}],
      ] as const) {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
        const text = await res.text();
        expectNoLeaks(text);
        const body = JSON.parse(text) as Body;
        expect(body.errors, query).toHaveLength(1);
        expect(body.errors![0]!.extensions?.['http']).toBeUndefined();
      }
    });
  });
});

describe('HTTP protocol (restricted configuration) and graceful shutdown', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      MAX_BODY_BYTES: '2048',
      GRAPHQL_INTROSPECTION: 'false',
      CORS_ORIGINS: 'https://app.example',
    });
  });

  afterAll(async () => {
    await server.stop();
  });

  /** A JSON GraphQL body of exactly `size` bytes (padded inside the query with spaces). */
  function bodyOfSize(size: number): string {
    const base = JSON.stringify({ query: '{ health }' });
    const padding = size - base.length;
    expect(padding).toBeGreaterThanOrEqual(0);
    return JSON.stringify({ query: `{ health }${' '.repeat(padding)}` });
  }

  describe('request body limit (MAX_BODY_BYTES=2048)', () => {
    it('accepts a body of exactly the limit', async () => {
      const body = bodyOfSize(2048);
      expect(Buffer.byteLength(body)).toBe(2048);
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { health: 'ok' } });
    });

    it('refuses a larger body with 413 BAD_REQUEST', async () => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: bodyOfSize(2049),
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        errors: [
          { message: 'Request body exceeds 2048 bytes', extensions: { code: 'BAD_REQUEST' } },
        ],
      });
      expectSecurityHeaders(res.headers);
    });

    it('refuses a larger body whatever its content type', async () => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: 'x'.repeat(100_000),
      });
      expect(res.status).toBe(413);
    });

    it('refuses a larger streamed body (no Content-Length) with 413', async () => {
      const chunk = new TextEncoder().encode(' '.repeat(1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"query": "{ health }'));
          if (sent >= 3) controller.close();
          else controller.enqueue(chunk);
          sent += 1;
        },
      });
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: stream,
        duplex: 'half',
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        errors: [
          { message: 'Request body exceeds 2048 bytes', extensions: { code: 'BAD_REQUEST' } },
        ],
      });
    });

    it('counts bytes, not characters', async () => {
      // 700 three-byte characters: 2100 bytes, well under 2048 characters.
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: `{ health } # ${'€'.repeat(700)}` }),
      });
      expect(res.status).toBe(413);
    });
  });

  describe('introspection disabled (GRAPHQL_INTROSPECTION=false)', () => {
    it('refuses introspection with GRAPHQL_VALIDATION_FAILED', async () => {
      for (const query of [
        '{ __schema { queryType { name } } }',
        '{ __type(name: "Workflow") { fields { name } } }',
      ]) {
        const res = await server.gql(query);
        expect(res.status, query).toBe(400);
        expect(res.body.data).toBeUndefined();
        expect(res.body.errors?.[0]?.extensions).toEqual({
          code: 'GRAPHQL_VALIDATION_FAILED',
          validationErrorCode: 'INTROSPECTION_DISABLED',
        });
      }
    });

    it('still answers __typename', async () => {
      const res = await server.gql('{ __typename health }');
      expect(res.body).toEqual({ data: { __typename: 'Query', health: 'ok' } });
    });

    it('does not suggest field or type names in validation errors', async () => {
      const token = await server.token('alice');
      for (const query of [
        '{ healt }',
        '{ me { subjec } }',
        '{ workflows(firs: 1) { totalCount } }',
        'query($f: WorkflowFiltr) { workflows(filter: $f) { totalCount } }',
        '{ workflows(filter: { status: DRAF }) { totalCount } }',
      ]) {
        const res = await server.gql(query, undefined, token);
        expect(res.status, query).toBe(400);
        expect(res.body.errors?.length, query).toBeGreaterThan(0);
        for (const error of res.body.errors ?? []) {
          expect(error.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
          expect(error.message, query).not.toMatch(/Did you mean/);
        }
      }
    });
  });

  describe('CORS', () => {
    it('answers a preflight from a configured origin', async () => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(res.headers.get('vary')).toBe('Origin');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('ignores other origins', async () => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example.evil.test' },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('graceful shutdown', () => {
    it('finishes the in-flight request, answers 503 meanwhile, then refuses connections', async () => {
      const token = await server.token('alice');
      const address = new URL(server.url);
      const socket = net.connect(Number(address.port), address.hostname);
      await once(socket, 'connect');
      const chunks: Buffer[] = [];
      let interim: () => void = () => undefined;
      const continued = new Promise<void>((resolve) => {
        interim = resolve;
      });
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (Buffer.concat(chunks).includes('HTTP/1.1 100 Continue')) interim();
      });
      const closed = once(socket, 'close');

      // Headers only: with `Expect: 100-continue` the server answers "100 Continue" as it
      // dispatches the request, so once we see it the request is in flight (past the
      // shutdown check) and waiting for its body.
      const body = JSON.stringify({
        query: '{ me { subject } workflows(first: 1) { totalCount } }',
      });
      socket.write(
        [
          'POST /graphql HTTP/1.1',
          `Host: ${address.host}`,
          'Content-Type: application/json',
          `Authorization: Bearer ${token}`,
          `Content-Length: ${Buffer.byteLength(body)}`,
          'Expect: 100-continue',
          '',
          '',
        ].join('\r\n'),
      );
      await continued;

      const stopped = server.gatehouse.stop();
      // The rest of the in-flight request, then two pipelined requests on the same
      // (still open) connection: readiness and new GraphQL work.
      socket.write(
        [
          body + 'GET /readyz HTTP/1.1',
          `Host: ${address.host}`,
          '',
          'GET /graphql?query=%7Bhealth%7D HTTP/1.1',
          `Host: ${address.host}`,
          'Apollo-Require-Preflight: true',
          '',
          '',
        ].join('\r\n'),
      );
      await closed;
      await stopped;

      const responses = parseResponses(Buffer.concat(chunks));
      expect(responses.map((r) => r.status)).toEqual([100, 200, 503, 503]);
      const [, inFlight, ready, refused] = responses;
      expect(JSON.parse(inFlight!.body)).toEqual({
        data: {
          me: { subject: 'demo|alice' },
          workflows: { totalCount: expect.any(Number) as unknown },
        },
      });
      expect(JSON.parse(ready!.body)).toEqual({
        status: 'unavailable',
        checks: { serving: 'failed' },
      });
      expect(JSON.parse(refused!.body)).toEqual({
        errors: [{ message: 'Server is shutting down', extensions: { code: 'SHUTTING_DOWN' } }],
      });

      // Stopped: the port no longer accepts connections.
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
      const refusedConnection = net.connect(Number(address.port), address.hostname);
      const [error] = (await once(refusedConnection, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).toBe('ECONNREFUSED');
      // Stopping twice is harmless.
      await server.gatehouse.stop();
    });
  });
});

describe('a client that goes away mid-request', () => {
  it('is logged as information, not as a server error', async () => {
    const lines: string[] = [];
    const server = await startTestServer(
      {},
      { logger: createLogger('info', (l) => lines.push(l)) },
    );
    try {
      const { port, hostname } = new URL(server.url);
      const socket = net.connect(Number(port), hostname);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
          'Content-Length: 1000\r\n\r\n{"query": "{ hea',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => l.includes('client closed the connection mid-request'))) {
        if (Date.now() > deadline) throw new Error(`no abort logged: ${lines.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
