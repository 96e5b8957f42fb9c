/**
 * Trusted documents, attacked over HTTP and WebSocket. A server given the manifest that
 * GraphQL Code Generator's client preset writes runs its documents by documentId and by
 * Apollo's hash, and as their exact text; an unknown id, ad-hoc text and APQ registration
 * are refused with 400 and nothing executed (no SpiceDB call, no transaction), unless the
 * token has the any-document scope. A server given Apollo's manifest runs its documents by
 * hash. A manifest whose id is not its text's hash stops the start. Without trusted
 * documents APQ works as Apollo's, and persisted-query mistakes are 400s with stable codes,
 * never logged as errors.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client, type SubscribePayload } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError } from '../../src/config.js';
import { findDemoUser } from '../../src/demo/demoData.js';
import { createLogger } from '../../src/observability/logger.js';
import { sha256Hex } from '../../src/operation/persistedQuery.js';
import { apolloManifest, codegenManifest } from '../support/clientManifests.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/testServer.js';
import { spicedbRpcs } from '../support/spicedbCalls.js';

/** A second server beside the first: on an embedded database of its own. */
const EMBEDDED = {
  DATABASE_URL: undefined,
  DATABASE_OWNER_URL: undefined,
  PGLITE_DATA_DIR: 'memory://',
};
const ALICE = findDemoUser('alice')!.subject;
/** Ad-hoc text that would read workflows (SQL, SpiceDB) if it ran. */
const AD_HOC = '{ workflows(first: 5) { totalCount edges { node { id name } } } }';

let dir: string;
let server: TestServer;
let alice: string;
/** The client preset's ids (`sha256:<hex>`) and texts, by operation name. */
const documents = new Map<string, { id: string; text: string }>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-trusted-e2e-'));
  const file = await codegenManifest(path.join(dir, 'codegen'));
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  for (const [id, text] of Object.entries(manifest)) {
    documents.set(/^query (\w+)/.exec(text)![1]!, { id, text });
  }
  server = await startTestServer({ TRUSTED_DOCUMENTS_FILE: file });
  alice = await server.token('alice');
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const me = () => documents.get('Me')!;
const hexOf = (id: string) => id.replace(/^sha256:/, '');
const persisted = (sha256Hash: string, version: unknown = 1) => ({
  persistedQuery: { version, sha256Hash },
});

/** POSTs `body` as JSON to `on`. */
async function post(
  body: Record<string, unknown>,
  token: string | undefined = alice,
  on: TestServer = server,
): Promise<GraphQLResponse> {
  const res = await fetch(`${on.url}/graphql`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as never };
}

/** GETs /graphql with `params` (as Apollo Client sends hashed queries). */
async function get(params: Record<string, string>, token = alice): Promise<GraphQLResponse> {
  const res = await fetch(`${server.url}/graphql?${new URLSearchParams(params).toString()}`, {
    headers: { Authorization: `Bearer ${token}`, 'Apollo-Require-Preflight': 'true' },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as never };
}

/** Sends `body` and checks that it was refused with `code` and nothing ran. */
async function refused(
  body: Record<string, unknown>,
  code: string,
  token: string | undefined = alice,
): Promise<void> {
  const rpcs = await spicedbRpcs(server.gatehouse);
  const transactions = server.gatehouse.database.tenants.transactionsStarted;
  const res = await post(body, token);
  expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
  expect(server.gatehouse.database.tenants.transactionsStarted).toBe(transactions);
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors?.map((e) => e.extensions)).toEqual([{ code }]);
}

describe('with a manifest from the client preset', () => {
  it('runs a document by documentId, as the client preset’s client sends it', async () => {
    const res = await post({ documentId: me().id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { me: { subject: ALICE, tenant: { slug: 'acme' } } } });
    const list = await post({
      documentId: documents.get('Workflows')!.id,
      variables: { first: 2 },
    });
    expect(list.status).toBe(200);
    expect(list.body.errors).toBeUndefined();
    expect(list.body.data).toMatchObject({
      workflows: { totalCount: expect.any(Number) as unknown },
    });
  });

  it('runs a document by its bare hex id, and over GET', async () => {
    expect((await post({ documentId: hexOf(me().id) })).body.data).toMatchObject({
      me: { subject: ALICE },
    });
    const res = await get({ documentId: me().id });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ me: { subject: ALICE } });
  });

  it('runs a document by Apollo’s persistedQuery hash, POST and GET', async () => {
    const extensions = persisted(hexOf(me().id));
    const res = await post({ extensions });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ me: { subject: ALICE } });
    const viaGet = await get({ extensions: JSON.stringify(extensions) });
    expect(viaGet.status).toBe(200);
    expect(viaGet.body.data).toMatchObject({ me: { subject: ALICE } });
  });

  it('runs a listed document sent as its exact text', async () => {
    const res = await server.gql(me().text, undefined, alice);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ me: { subject: ALICE } });
  });

  it('refuses an unknown id: 400 PERSISTED_QUERY_NOT_FOUND, nothing executed', async () => {
    const unknown = sha256Hex(AD_HOC);
    await refused({ documentId: `sha256:${unknown}` }, 'PERSISTED_QUERY_NOT_FOUND');
    await refused({ extensions: persisted(unknown) }, 'PERSISTED_QUERY_NOT_FOUND');
  });

  it('refuses ad-hoc text: 400 TRUSTED_DOCUMENT_REQUIRED, nothing executed', async () => {
    for (const token of [undefined, alice]) {
      await refused({ query: AD_HOC }, 'TRUSTED_DOCUMENT_REQUIRED', token);
    }
    // A mutation too, and a listed document's text reformatted.
    await refused(
      { query: 'mutation { createWorkflow(input: { name: "x", amount: "1" }) { id } }' },
      'TRUSTED_DOCUMENT_REQUIRED',
    );
    await refused({ query: `${me().text}\n` }, 'TRUSTED_DOCUMENT_REQUIRED');
    const res = await post({ query: AD_HOC });
    expect(res.body.errors?.[0]?.message).toBe(
      'This server runs only trusted documents: send the documentId (or persistedQuery hash) of a document in its manifest',
    );
  });

  it('refuses APQ registration: nothing is registered', async () => {
    const hash = sha256Hex(AD_HOC);
    await refused({ query: AD_HOC, extensions: persisted(hash) }, 'TRUSTED_DOCUMENT_REQUIRED');
    await refused({ extensions: persisted(hash) }, 'PERSISTED_QUERY_NOT_FOUND');
    // A listed id with other text is no way round it.
    await refused(
      { query: AD_HOC, extensions: persisted(hexOf(me().id)) },
      'PERSISTED_QUERY_HASH_MISMATCH',
    );
    await refused({ query: AD_HOC, documentId: me().id }, 'PERSISTED_QUERY_HASH_MISMATCH');
  });

  it('refuses malformed persisted queries with their codes', async () => {
    await refused(
      { extensions: persisted(hexOf(me().id), 2) },
      'PERSISTED_QUERY_UNSUPPORTED_VERSION',
    );
    await refused({ extensions: { persistedQuery: 'Me' } }, 'BAD_REQUEST');
    await refused({ documentId: 42 }, 'BAD_REQUEST');
  });

  it('lets a token with the any-document scope send ad-hoc text', async () => {
    const tooling = await server.token('alice', { scopes: ['graphql:any-document'] });
    const transactions = server.gatehouse.database.tenants.transactionsStarted;
    const res = await post({ query: AD_HOC }, tooling);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toMatchObject({
      workflows: { totalCount: expect.any(Number) as unknown },
    });
    // What the refusals above would have done had they run.
    expect(server.gatehouse.database.tenants.transactionsStarted).toBeGreaterThan(transactions);
    // Other scopes do not.
    const other = await server.token('alice', { scopes: ['graphql:read'] });
    await refused({ query: AD_HOC }, 'TRUSTED_DOCUMENT_REQUIRED', other);
  });

  it('stays healthy after all of it', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await post({ documentId: me().id })).status).toBe(200);
  });
});

describe('over WebSocket', () => {
  let client: Client;
  beforeAll(() => {
    client = createClient({
      url: `${server.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${alice}` },
      retryAttempts: 0,
    });
  });
  afterAll(async () => {
    await client.dispose();
  });

  /** The operation's data, or its errors' codes (`closed` when the socket closed). */
  const outcome = (payload: SubscribePayload) =>
    new Promise<unknown>((resolve) => {
      client.subscribe(payload, {
        next: (result) => resolve(result.data ?? result.errors),
        error: (error: unknown) =>
          resolve(
            Array.isArray(error)
              ? error.map((e: { extensions?: { code?: unknown } }) => e.extensions?.code)
              : 'closed',
          ),
        complete: () => undefined,
      });
    });

  it('runs a document by persistedQuery hash and by documentId, with query ""', async () => {
    const data = { me: { subject: ALICE, tenant: { slug: 'acme' } } };
    expect(await outcome({ query: '', extensions: persisted(hexOf(me().id)) })).toEqual(data);
    // graphql-ws's payload type has no documentId; the protocol passes it on.
    expect(await outcome({ query: '', documentId: me().id } as SubscribePayload)).toEqual(data);
    expect(await outcome({ query: me().text })).toEqual(data);
  });

  it('refuses ad-hoc text and unknown ids for that operation, the socket staying open', async () => {
    const rpcs = await spicedbRpcs(server.gatehouse);
    const transactions = server.gatehouse.database.tenants.transactionsStarted;
    expect(await outcome({ query: AD_HOC })).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
    expect(await outcome({ query: AD_HOC, extensions: persisted(sha256Hex(AD_HOC)) })).toEqual([
      'TRUSTED_DOCUMENT_REQUIRED',
    ]);
    expect(await outcome({ query: '', extensions: persisted(sha256Hex(AD_HOC)) })).toEqual([
      'PERSISTED_QUERY_NOT_FOUND',
    ]);
    expect(await outcome({ query: '', extensions: persisted(hexOf(me().id), 2) })).toEqual([
      'PERSISTED_QUERY_UNSUPPORTED_VERSION',
    ]);
    expect(await spicedbRpcs(server.gatehouse)).toBe(rpcs);
    expect(server.gatehouse.database.tenants.transactionsStarted).toBe(transactions);
    expect(await outcome({ query: '', documentId: me().id } as SubscribePayload)).toMatchObject({
      me: { subject: ALICE },
    });
  });
});

describe('with a manifest from Apollo’s generate-persisted-query-manifest', () => {
  it('runs its documents by hash (their bodies as Apollo Client sends them)', async () => {
    const file = await apolloManifest(path.join(dir, 'apollo'));
    const manifest = JSON.parse(await readFile(file, 'utf8')) as {
      operations: Array<{ id: string; name: string; body: string }>;
    };
    const apollo = await startTestServer({ TRUSTED_DOCUMENTS_FILE: file, ...EMBEDDED });
    try {
      const token = await apollo.token('alice');
      const op = manifest.operations.find((o) => o.name === 'Me')!;
      const res = await post({ operationName: 'Me', extensions: persisted(op.id) }, token, apollo);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          me: {
            subject: ALICE,
            tenant: { slug: 'acme', __typename: 'Tenant' },
            __typename: 'Viewer',
          },
        },
      });
      expect((await post({ documentId: `sha256:${op.id}` }, token, apollo)).status).toBe(200);
      const adHoc = await post({ query: AD_HOC }, token, apollo);
      expect(adHoc.status).toBe(400);
      expect(adHoc.body.errors?.[0]?.extensions).toEqual({ code: 'TRUSTED_DOCUMENT_REQUIRED' });
    } finally {
      await apollo.stop();
    }
  });
});

it('does not start with a manifest whose id is not its text’s hash', async () => {
  const file = path.join(dir, 'tampered.json');
  const wrong = sha256Hex('{ health }');
  await writeFile(file, JSON.stringify({ [`sha256:${wrong}`]: AD_HOC }));
  await expect(startTestServer({ TRUSTED_DOCUMENTS_FILE: file, ...EMBEDDED })).rejects.toThrow(
    new ConfigError(
      `TRUSTED_DOCUMENTS_FILE ${file}: entry "sha256:${wrong}": the id is not the SHA-256 of its text, which is ${sha256Hex(AD_HOC)}`,
    ),
  );
});

describe('without trusted documents (APQ)', () => {
  let apq: TestServer;
  let token: string;
  const lines: string[] = [];
  beforeAll(async () => {
    apq = await startTestServer(EMBEDDED, { logger: createLogger('info', (l) => lines.push(l)) });
    token = await apq.token('alice');
  });
  afterAll(async () => {
    await apq.stop();
  });

  const send = (body: Record<string, unknown>) => post(body, token, apq);
  const QUERY = '{ me { subject } }';

  it('works as Apollo’s APQ: an unknown hash, registration, then the hash alone', async () => {
    const extensions = persisted(sha256Hex(QUERY));
    // Apollo's standard answer, which tells the client to send the text.
    const miss = await send({ extensions });
    expect(miss.status).toBe(200);
    expect(miss.body).toEqual({
      errors: [
        { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
      ],
    });
    expect((await send({ query: QUERY, extensions })).body).toEqual({
      data: { me: { subject: ALICE } },
    });
    expect((await send({ extensions })).body).toEqual({ data: { me: { subject: ALICE } } });
  });

  it.each([
    [
      'version 2',
      { extensions: persisted(sha256Hex(QUERY), 2) },
      'PERSISTED_QUERY_UNSUPPORTED_VERSION',
    ],
    [
      'a hash that is not the query’s',
      { query: QUERY, extensions: persisted(sha256Hex('{ health }')) },
      'PERSISTED_QUERY_HASH_MISMATCH',
    ],
    [
      'a persistedQuery that is not an object',
      { extensions: { persistedQuery: true } },
      'BAD_REQUEST',
    ],
    [
      'a hash of 40 digits',
      { extensions: persisted(sha256Hex(QUERY).slice(0, 40)) },
      'BAD_REQUEST',
    ],
  ])('answers %s with 400 and its code', async (_name, body, code) => {
    const res = await send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.extensions)).toEqual([{ code }]);
  });

  it('logs none of it as an error', () => {
    expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });
});
