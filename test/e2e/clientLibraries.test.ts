/**
 * Gatehouse through the client libraries web clients use — Apollo Client 4, urql and
 * graphql-request 7 — against a started server, each with its own defaults: how it hands
 * over partial data with a FORBIDDEN error (its path and coordinate), a 401, urql's GET
 * queries against CSRF prevention, and Apollo's normalised cache after a mutation. What a
 * library does by default is asserted as it is, so a release that changes it shows here
 * (and in README, "Handling errors in clients", whose snippets are these tests).
 *
 * Every request goes through a recording fetch, so each test also checks what went over
 * the wire: the method, the status, and that no forbidden value was in any body.
 */
import {
  ApolloClient,
  ApolloLink,
  HttpLink,
  InMemoryCache,
  gql as apolloGql,
  type TypedDocumentNode,
} from '@apollo/client';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { ErrorLink } from '@apollo/client/link/error';
import { cacheExchange, Client as UrqlClient, fetchExchange } from '@urql/core';
import { ClientError, GraphQLClient } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_WORKFLOWS } from '../../src/demo/demoData.js';
import { UUID } from '../support/expectations.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

const LAPTOPS = DEMO_WORKFLOWS[1]; // bob's, shared with erin as VIEWER: she may not see its amount

/** Erin may view the workflow, not its amount (view_financials): partial data. */
const LAPTOP = `query Laptop($id: ID!) { workflow(id: $id) { id name amount } }`;

/** What no answer to erin may hold: the amount she may not read. */
const FORBIDDEN_VALUE = LAPTOPS.amount;

/** The error every library must hand over, whatever its shape. */
const AMOUNT_DENIED = {
  path: ['workflow', 'amount'],
  extensions: {
    code: 'FORBIDDEN',
    gate: 'relationship',
    coordinate: 'Workflow.amount',
    decisionId: expect.stringMatching(UUID) as unknown,
  },
};

/** The one 401 body (test/e2e/errorShapes.test.ts has every variant). */
const BAD_TOKEN = {
  message: 'Authentication required',
  extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' },
};

interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly body: string;
}

/** A fetch that records each exchange (the response body read from a clone). */
function recordingFetch(): { fetch: typeof fetch; calls: Exchange[] } {
  const calls: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const request = input instanceof Request ? input : undefined;
    calls.push({
      method: init?.method ?? request?.method ?? 'GET',
      url: request?.url ?? (input instanceof URL ? input.href : (input as string)),
      status: res.status,
      body: await res.clone().text(),
    });
    return res;
  };
  return { fetch: recording, calls };
}

/** Nothing recorded, nor what the library returned, holds the forbidden value. */
function expectNoLeak(calls: readonly Exchange[], handedOver: unknown): void {
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) expect(call.body).not.toContain(FORBIDDEN_VALUE);
  expect(JSON.stringify(handedOver)).not.toContain(FORBIDDEN_VALUE);
}

let server: TestServer;
let url: string;
let erin: string;

beforeAll(async () => {
  server = await startTestServer();
  url = `${server.url}/graphql`;
  erin = await server.token('erin');
});
afterAll(() => server.stop());

describe('Apollo Client 4', () => {
  type Laptop = { workflow: { id: string; name: string; amount: string | null } | null };
  const laptop: TypedDocumentNode<Laptop, { id: string }> = apolloGql(LAPTOP);

  function apollo(token: string, options: { link?: ApolloLink; accept?: string } = {}) {
    const recorder = recordingFetch();
    const http = new HttpLink({
      uri: url,
      fetch: recorder.fetch,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.accept ? { accept: options.accept } : {}),
      },
    });
    const cache = new InMemoryCache();
    const settings: Omit<ApolloClient.Options, 'defaultOptions'> = {
      link: options.link ? ApolloLink.from([options.link, http]) : http,
      cache,
    };
    // The library's own defaults (errorPolicy 'none' everywhere), whatever an application
    // declares for its result types (examples/web-client declares 'all'): hence the cast.
    const client = new ApolloClient(settings as ApolloClient.Options);
    return { client, cache, calls: recorder.calls };
  }

  const partial = {
    workflow: { __typename: 'Workflow', id: LAPTOPS.id, name: LAPTOPS.name, amount: null },
  };

  it('by default (errorPolicy none) rejects with CombinedGraphQLErrors, the partial data inside it', async () => {
    const { client, calls } = apollo(erin);
    const error: unknown = await client
      .query({ query: laptop, variables: { id: LAPTOPS.id } })
      .then(
        () => expect.fail('resolved'),
        (e: unknown) => e,
      );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    if (!CombinedGraphQLErrors.is(error)) return;
    expect(error.errors).toEqual([expect.objectContaining(AMOUNT_DENIED)]);
    expect(error.data).toEqual(partial);
    expect(calls.map((c) => [c.method, c.status])).toEqual([['POST', 200]]);
    expectNoLeak(calls, error);
  });

  it("with errorPolicy 'all' resolves the partial data and the error beside it", async () => {
    const { client, calls } = apollo(erin);
    const result = await client.query({
      query: laptop,
      variables: { id: LAPTOPS.id },
      errorPolicy: 'all',
    });
    expect(result.data).toEqual(partial);
    expect(CombinedGraphQLErrors.is(result.error)).toBe(true);
    const denied = CombinedGraphQLErrors.is(result.error) ? result.error.errors : [];
    expect(denied).toEqual([expect.objectContaining(AMOUNT_DENIED)]);
    expectNoLeak(calls, result);
  });

  it("with errorPolicy 'ignore' resolves the partial data and drops the error", async () => {
    const { client, calls } = apollo(erin);
    const result = await client.query({
      query: laptop,
      variables: { id: LAPTOPS.id },
      errorPolicy: 'ignore',
    });
    expect(result).toEqual({ data: partial });
    expectNoLeak(calls, result);
  });

  it('a bad token: CombinedGraphQLErrors (it accepts application/graphql-response+json), the 401 in the link context', async () => {
    let status: number | undefined;
    const statusOf = new ErrorLink(({ operation }) => {
      status = (operation.getContext()['response'] as Response | undefined)?.status;
    });
    const { client, calls } = apollo('not-a-token', { link: statusOf });
    const error: unknown = await client
      .query({ query: laptop, variables: { id: LAPTOPS.id } })
      .then(
        () => expect.fail('resolved'),
        (e: unknown) => e,
      );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    if (!CombinedGraphQLErrors.is(error)) return;
    expect(error.errors).toEqual([BAD_TOKEN]);
    expect(error.data).toBeUndefined();
    expect(status).toBe(401);
    expect(calls.map((c) => c.status)).toEqual([401]);
  });

  it('a bad token with Accept: application/json only: ServerError with statusCode 401 and the body', async () => {
    const { client } = apollo('not-a-token', { accept: 'application/json' });
    const error: unknown = await client
      .query({ query: laptop, variables: { id: LAPTOPS.id } })
      .then(
        () => expect.fail('resolved'),
        (e: unknown) => e,
      );
    expect(ServerError.is(error)).toBe(true);
    if (!ServerError.is(error)) return;
    expect(error.statusCode).toBe(401);
    expect(error.response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(JSON.parse(error.bodyText)).toEqual({ errors: [BAD_TOKEN] });
  });

  describe('the normalised cache after a mutation', () => {
    type PolicySettings = {
      __typename: 'PolicySettings';
      id: string;
      version: number;
      approvalLimit: string | null;
    };
    const READ: TypedDocumentNode<
      { policySettings: PolicySettings },
      Record<string, never>
    > = apolloGql`query PolicySettings { policySettings { id version approvalLimit } }`;
    const UPDATE: TypedDocumentNode<
      { updatePolicySettings: PolicySettings },
      { limit: string | null }
    > = apolloGql`
      mutation UpdatePolicySettings($limit: Decimal) {
        updatePolicySettings(input: { approvalLimit: $limit }) { id version approvalLimit }
      }
    `;

    afterAll(async () => {
      // Back to the operator's default (on PostgreSQL the demo tenant outlives this file).
      const reset = await server.gql(
        'mutation { updatePolicySettings(input: { approvalLimit: null }) { version } }',
        undefined,
        await server.token('alice'),
      );
      expect(reset.body.errors).toBeUndefined();
    });

    it('updatePolicySettings updates PolicySettings:<id>, and a cache-first read shows it without a request', async () => {
      // alice: acme's org admin, who may read and change its policy settings.
      const { client, cache, calls } = apollo(await server.token('alice'));
      const first = await client.query({ query: READ });
      // (Through unknown: whether `data` may be undefined depends on the declared errorPolicy.)
      const before: unknown = first.data;
      const { id, version } = (before as { policySettings: PolicySettings }).policySettings;
      expect(id).toEqual(expect.any(String));

      const updated = await client.mutate({
        mutation: UPDATE,
        variables: { limit: '12000' },
      });
      expect(updated.data).toEqual({
        updatePolicySettings: {
          __typename: 'PolicySettings',
          id,
          version: version + 1,
          approvalLimit: '12000.00',
        },
      });
      expect(calls).toHaveLength(2);

      const cached = await client.query({ query: READ, fetchPolicy: 'cache-first' });
      expect(calls).toHaveLength(2);
      expect(cached.data).toEqual({
        policySettings: {
          __typename: 'PolicySettings',
          id,
          version: version + 1,
          approvalLimit: '12000.00',
        },
      });
      // One entry, keyed by its id, that the mutation's answer merged into.
      expect(cache.extract()[`PolicySettings:${id}`]).toMatchObject({
        version: version + 1,
      });
      // The server agrees.
      const fresh = await client.query({ query: READ, fetchPolicy: 'network-only' });
      expect(calls).toHaveLength(3);
      expect(fresh.data).toEqual(cached.data);
    });
  });
});

describe('urql', () => {
  function urql(options: Partial<ConstructorParameters<typeof UrqlClient>[0]> = {}) {
    const recorder = recordingFetch();
    const client = new UrqlClient({
      url,
      exchanges: [cacheExchange, fetchExchange],
      fetch: recorder.fetch,
      fetchOptions: { headers: { authorization: `Bearer ${erin}` } },
      ...options,
    });
    return { client, calls: recorder.calls };
  }

  it("by default sends queries as GET (preferGetMethod 'within-url-limit'): refused by CSRF prevention, nothing runs", async () => {
    const { client, calls } = urql();
    const result = await client.query(LAPTOP, { id: LAPTOPS.id }).toPromise();
    expect(calls.map((c) => [c.method, c.status])).toEqual([['GET', 400]]);
    expect(result.data).toBeUndefined();
    expect(result.error?.networkError).toBeUndefined();
    expect(result.error?.response).toMatchObject({ status: 400 });
    expect(result.error?.graphQLErrors.map((e) => [e.message, e.extensions])).toEqual([
      [expect.stringMatching(/Cross-Site Request Forgery/), { code: 'BAD_REQUEST' }],
    ]);
    // Refused before execution: not even the readable fields were answered.
    expect(calls[0]!.body).not.toContain(LAPTOPS.name);
  });

  it.each([
    [
      'GET with Apollo-Require-Preflight',
      () => ({
        fetchOptions: {
          headers: { authorization: `Bearer ${erin}`, 'apollo-require-preflight': 'true' },
        },
      }),
      'GET',
    ],
    ['preferGetMethod: false (POST)', () => ({ preferGetMethod: false }), 'POST'],
  ] as const)(
    '%s: result.data holds the partial data, result.error.graphQLErrors the FORBIDDEN',
    async (_name, options, method) => {
      const { client, calls } = urql(options());
      const result = await client.query(LAPTOP, { id: LAPTOPS.id }).toPromise();
      expect(calls.map((c) => [c.method, c.status])).toEqual([[method, 200]]);
      expect(result.data).toEqual({
        workflow: { __typename: 'Workflow', id: LAPTOPS.id, name: LAPTOPS.name, amount: null },
      });
      expect(result.error?.networkError).toBeUndefined();
      expect(
        result.error?.graphQLErrors.map((e) => ({ path: e.path, extensions: e.extensions })),
      ).toEqual([AMOUNT_DENIED]);
      expectNoLeak(calls, result.data);
    },
  );

  it('a bad token: result.error.response.status 401, graphQLErrors UNAUTHENTICATED, no data', async () => {
    const { client, calls } = urql({
      preferGetMethod: false,
      fetchOptions: { headers: { authorization: 'Bearer not-a-token' } },
    });
    const result = await client.query(LAPTOP, { id: LAPTOPS.id }).toPromise();
    expect(calls.map((c) => [c.method, c.status])).toEqual([['POST', 401]]);
    expect(result.data).toBeUndefined();
    expect(result.error?.networkError).toBeUndefined();
    expect(result.error?.response).toMatchObject({ status: 401 });
    expect(
      result.error?.graphQLErrors.map((e) => ({ message: e.message, extensions: e.extensions })),
    ).toEqual([BAD_TOKEN]);
  });
});

describe('graphql-request 7', () => {
  function graphqlRequest(token: string, options: { errorPolicy?: 'all' } = {}) {
    const recorder = recordingFetch();
    const client = new GraphQLClient(url, {
      headers: { authorization: `Bearer ${token}` },
      fetch: recorder.fetch,
      ...options,
    });
    return { client, calls: recorder.calls };
  }
  type Laptop = { workflow: { id: string; name: string; amount: string | null } | null };
  const partial = { workflow: { id: LAPTOPS.id, name: LAPTOPS.name, amount: null } };

  it('request() by default (errorPolicy none) throws ClientError; its response holds data, errors and status', async () => {
    const { client, calls } = graphqlRequest(erin);
    const error: unknown = await client.request<Laptop>(LAPTOP, { id: LAPTOPS.id }).then(
      () => expect.fail('resolved'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClientError);
    if (!(error instanceof ClientError)) return;
    expect(error.response.status).toBe(200);
    expect(error.response.data).toEqual(partial);
    expect(error.response.errors).toEqual([expect.objectContaining(AMOUNT_DENIED)]);
    expect(calls.map((c) => [c.method, c.status])).toEqual([['POST', 200]]);
    expectNoLeak(calls, error.response);
  });

  it("rawRequest() with errorPolicy 'all' resolves data, errors and status", async () => {
    const { client, calls } = graphqlRequest(erin, { errorPolicy: 'all' });
    const result = await client.rawRequest<Laptop>(LAPTOP, { id: LAPTOPS.id });
    expect(result.status).toBe(200);
    expect(result.data).toEqual(partial);
    expect(result.errors).toEqual([expect.objectContaining(AMOUNT_DENIED)]);
    expectNoLeak(calls, { data: result.data, errors: result.errors });
  });

  it("request() with errorPolicy 'all' resolves the data alone: the error is not handed over", async () => {
    const { client, calls } = graphqlRequest(erin, { errorPolicy: 'all' });
    const data = await client.request<Laptop>(LAPTOP, { id: LAPTOPS.id });
    expect(data).toEqual(partial);
    // It was sent: only the library dropped it.
    expect(JSON.parse(calls[0]!.body)).toMatchObject({ errors: [AMOUNT_DENIED] });
    expectNoLeak(calls, data);
  });

  it('a bad token: ClientError whose response.status is 401, errors UNAUTHENTICATED, no data', async () => {
    const { client, calls } = graphqlRequest('not-a-token');
    const error: unknown = await client.request(LAPTOP, { id: LAPTOPS.id }).then(
      () => expect.fail('resolved'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClientError);
    if (!(error instanceof ClientError)) return;
    expect(error.response.status).toBe(401);
    expect(error.response.errors).toEqual([BAD_TOKEN]);
    expect(error.response.data).toBeUndefined();
    expect(error.response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(calls.map((c) => c.status)).toEqual([401]);
  });
});
