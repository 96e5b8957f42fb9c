/**
 * The error shapes clients branch on (README, "Handling errors in clients"):
 *
 * - a denial by the authorization rules names its field (`extensions.coordinate`) and, when
 *   the decision was about the object an argument names, that argument
 *   (`extensions.argument`) — both from the schema, so a denied object and an id that
 *   names nothing answer byte for byte alike, apart from the fresh decisionId;
 * - every 401, whatever refused it (a bad credential before GraphQL, or an operation of
 *   which nothing could be answered), has one body: one error, `code` and `reason`, no
 *   `data`, no `path`, and a `WWW-Authenticate` header.
 */
import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/authn/apiKeys.js';
import { ensureDevSigningKey } from '../../src/authn/devSigningKey.js';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.js';
import { DEMO_TEAMS, DEMO_TENANTS, DEMO_WORKFLOWS } from '../../src/demo/demoData.js';
import { UUID } from '../support/expectations.js';
import { startTestServer, type TestServer } from '../support/testServer.js';

const LAPTOPS = DEMO_WORKFLOWS[1].id; // bob's, shared with erin as VIEWER
const DATACENTER = DEMO_WORKFLOWS[2].id; // alice's, 25,000: erin may not view it
const ENGINEERING = DEMO_TEAMS[0].id; // erin is not a member
const BOBS_SECRET = '00000000-0000-4000-d000-000000000001';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

interface Raw {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function post(
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Raw> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

interface Body {
  data?: unknown;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
}

/** The response text with every decisionId replaced, and the ids replaced (all UUIDs). */
function withoutDecisionIds(raw: Raw): { status: number; text: string; ids: string[] } {
  const ids: string[] = [];
  const text = raw.text.replace(/"decisionId":"([^"]*)"/g, (_m, id: string) => {
    ids.push(id);
    return '"decisionId":"…"';
  });
  return { status: raw.status, text, ids };
}

describe('FORBIDDEN and the other denials name their field and argument', () => {
  it('a denied field: null at its path, coordinate Workflow.amount, no argument', async () => {
    const erin = await server.token('erin');
    const raw = await post(
      'query($id: ID!) { workflow(id: $id) { name amount } }',
      { id: LAPTOPS },
      bearer(erin),
    );
    expect(raw.status).toBe(200);
    const body = JSON.parse(raw.text) as Body;
    expect(body.data).toEqual({ workflow: { name: 'Laptop refresh', amount: null } });
    expect(body.errors).toEqual([
      {
        message: 'Not allowed',
        locations: [{ line: 1, column: 44 }],
        path: ['workflow', 'amount'],
        extensions: {
          code: 'FORBIDDEN',
          gate: 'relationship',
          coordinate: 'Workflow.amount',
          decisionId: expect.stringMatching(UUID) as unknown,
        },
      },
    ]);
    expect(Object.keys(body.errors![0]!.extensions!)).toEqual([
      'code',
      'gate',
      'coordinate',
      'decisionId',
    ]);
    expect(raw.text).not.toContain('5000.00');
  });

  /**
   * Each case: the same operation on an object that exists (and is denied) and on a random
   * id; the two answers must be one text once the decision ids are set aside.
   */
  const cases: ReadonlyArray<{
    readonly name: string;
    readonly who: string;
    readonly query: string;
    readonly variables: (id: string) => Record<string, unknown>;
    readonly existing: string;
    readonly path: ReadonlyArray<string | number>;
    readonly data: unknown;
    readonly extensions: Record<string, unknown>;
  }> = [
    {
      name: 'a lookup by id (erin, a workflow she may not view)',
      who: 'erin',
      query: 'query($id: ID!) { workflow(id: $id) { name } }',
      variables: (id) => ({ id }),
      existing: DATACENTER,
      path: ['workflow'],
      data: { workflow: null },
      extensions: { gate: 'relationship', coordinate: 'Query.workflow', argument: 'id' },
    },
    {
      name: 'another organisation’s object (mallory, an acme workflow)',
      who: 'mallory',
      query: 'query($id: ID!) { workflow(id: $id) { name } }',
      variables: (id) => ({ id }),
      existing: DATACENTER,
      path: ['workflow'],
      data: { workflow: null },
      extensions: { gate: 'relationship', coordinate: 'Query.workflow', argument: 'id' },
    },
    {
      name: 'a mutation on the object its id names (bob approves alice’s)',
      who: 'bob',
      query: 'mutation($id: ID!) { approveWorkflow(id: $id) { status } }',
      variables: (id) => ({ id }),
      existing: DATACENTER,
      path: ['approveWorkflow'],
      data: null,
      extensions: { gate: 'relationship', coordinate: 'Mutation.approveWorkflow', argument: 'id' },
    },
    {
      name: 'an input field naming an object (erin assigns a team not hers)',
      who: 'erin',
      query:
        'mutation($t: ID) { createWorkflow(input: { name: "shape", amount: "1", teamId: $t }) { id } }',
      variables: (t) => ({ t }),
      existing: ENGINEERING,
      path: ['createWorkflow'],
      data: null,
      extensions: {
        gate: 'relationship',
        coordinate: 'Mutation.createWorkflow',
        argument: 'input.teamId',
      },
    },
    {
      name: 'node(id:)',
      who: 'erin',
      query: 'query($id: ID!) { node(id: $id) { id } }',
      variables: (id) => ({ id }),
      existing: DATACENTER,
      path: ['node'],
      data: { node: null },
      extensions: { gate: 'relationship', coordinate: 'Query.node', argument: 'id' },
    },
    {
      name: 'nodes(ids:), at the index of the id',
      who: 'erin',
      query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      variables: (id) => ({ ids: [id] }),
      existing: DATACENTER,
      path: ['nodes', 0],
      data: { nodes: [null] },
      extensions: { gate: 'relationship', coordinate: 'Query.nodes', argument: 'ids' },
    },
  ];

  it.each(cases)(
    '$name: a denied object and a random id answer alike',
    async ({ who, query, variables, existing, path, data, extensions }) => {
      const token = await server.token(who);
      const denied = await post(query, variables(existing), bearer(token));
      const random = await post(query, variables(randomUUID()), bearer(token));
      const a = withoutDecisionIds(denied);
      const b = withoutDecisionIds(random);
      expect({ status: a.status, text: a.text }).toEqual({ status: b.status, text: b.text });
      // One fresh decision id each.
      expect([...a.ids, ...b.ids]).toEqual([
        expect.stringMatching(UUID) as unknown,
        expect.stringMatching(UUID) as unknown,
      ]);
      expect(a.ids[0]).not.toBe(b.ids[0]);

      expect(denied.status).toBe(200);
      const body = JSON.parse(denied.text) as Body;
      expect(body.data).toEqual(data);
      expect(body.errors).toHaveLength(1);
      const [error] = body.errors!;
      // The path as graphql-js gives it; the coordinate and argument beside it.
      expect(error!.path).toEqual(path);
      expect(error!.extensions).toEqual({
        code: 'FORBIDDEN',
        ...extensions,
        decisionId: expect.stringMatching(UUID) as unknown,
      });
      expect(Object.keys(error!.extensions!)).toEqual([
        'code',
        'gate',
        'coordinate',
        ...('argument' in extensions ? ['argument'] : []),
        'decisionId',
      ]);
    },
  );

  it('a policy denial on the object an argument names says so too (gate policy)', async () => {
    // Alice may approve (relationship) but not her own workflow (separation of duties).
    const res = await server.gql(
      'mutation($id: ID!) { approveWorkflow(id: $id) { status } }',
      { id: DATACENTER },
      await server.token('alice'),
    );
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.map((e) => [e.path, e.extensions])).toEqual([
      [
        ['approveWorkflow'],
        {
          code: 'FORBIDDEN',
          gate: 'policy',
          coordinate: 'Mutation.approveWorkflow',
          argument: 'id',
          decisionId: expect.stringMatching(UUID) as unknown,
        },
      ],
    ]);
  });

  it('a classification policy is about the field, not an object: no argument', async () => {
    const res = await server.gql(
      'query($id: ID!) { credential(id: $id) { name secret } }',
      { id: BOBS_SECRET },
      await server.token('bob'), // without mfa
    );
    expect(res.body.data).toEqual({ credential: { name: 'CI deploy token', secret: null } });
    expect(res.body.errors?.map((e) => [e.path, e.extensions])).toEqual([
      [
        ['credential', 'secret'],
        {
          code: 'FORBIDDEN',
          gate: 'policy',
          coordinate: 'Credential.secret',
          decisionId: expect.stringMatching(UUID) as unknown,
        },
      ],
    ]);
    expect(JSON.stringify(res.body)).not.toContain('demo-ci-deploy-token');
  });

  it('an anonymous caller beside a public field: 200, UNAUTHENTICATED at the path with a reason', async () => {
    const raw = await post('query($id: ID!) { health workflow(id: $id) { name } }', {
      id: DATACENTER,
    });
    expect(raw.status).toBe(200);
    const body = JSON.parse(raw.text) as Body;
    expect(body.data).toEqual({ health: 'ok', workflow: null });
    expect(body.errors?.map((e) => [e.path, e.extensions])).toEqual([
      [
        ['workflow'],
        {
          code: 'UNAUTHENTICATED',
          gate: 'authentication',
          coordinate: 'Query.workflow',
          decisionId: expect.stringMatching(UUID) as unknown,
          reason: 'CREDENTIALS_REQUIRED',
        },
      ],
    ]);
    expect(raw.text).not.toContain('Datacenter');
  });
});

describe('every 401 has the same body', () => {
  /** Would answer tenant data and workflows to anyone authenticated. */
  const PROBE =
    '{ me { subject tenant { slug } } workflows(first: 5) { edges { node { name } } } }';
  const SECRETS = [
    'demo|',
    DEMO_TENANTS.acme.slug,
    DEMO_TENANTS.acme.id,
    ...DEMO_WORKFLOWS.map((w) => w.name),
  ];

  /** Each variant: the headers that make it, and the reason its 401 gives. */
  let variants: ReadonlyArray<{
    readonly name: string;
    readonly headers: Record<string, string>;
    readonly reason: string;
  }>;

  beforeAll(async () => {
    const jwks = server.config.auth.jwks;
    if (jwks.kind !== 'dev') throw new Error('the test server uses the development key');
    const { kid } = await ensureDevSigningKey(jwks.keysDir);
    const attacker = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    // The real key id and claims of a demo admin, signed by someone else's key.
    const forged = await new SignJWT({ tenant_id: DEMO_TENANTS.acme.id, roles: ['ADMIN'] })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject('demo|alice')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(attacker.privateKey);

    // A private organisation whose admin deactivates its second user.
    const tenant = await server.createTenant(2);
    const deactivated = await server.tenantToken(tenant, 1);
    const off = await server.gql(
      'mutation($u: ID!) { deactivateUser(userId: $u) { active } }',
      { u: tenant.users[1]!.id },
      await server.tenantToken(tenant, 0),
    );
    expect(off.body).toEqual({ data: { deactivateUser: { active: false } } });

    variants = [
      { name: 'no credential', headers: {}, reason: 'CREDENTIALS_REQUIRED' },
      {
        name: 'a malformed token',
        headers: bearer('not.a.jwt'),
        reason: 'INVALID_CREDENTIALS',
      },
      { name: 'a forged signature', headers: bearer(forged), reason: 'INVALID_CREDENTIALS' },
      {
        name: 'an expired token',
        headers: bearer(await server.token('alice', { ttlSeconds: -120 })),
        reason: 'INVALID_CREDENTIALS',
      },
      {
        name: 'an unknown API key',
        headers: { 'X-API-Key': generateApiKey().key },
        reason: 'INVALID_CREDENTIALS',
      },
      {
        name: 'a deactivated account’s valid token',
        headers: bearer(deactivated),
        reason: 'ACCOUNT_DEACTIVATED',
      },
    ];
  });

  it.each([
    ['application/json', 'application/json; charset=utf-8'],
    ['application/graphql-response+json', 'application/graphql-response+json; charset=utf-8'],
  ])('Accept %s', async (accept, contentType) => {
    const shapes = new Set<string>();
    for (const { name, headers, reason } of variants) {
      for (const traceparent of [
        undefined,
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      ]) {
        const raw = await post(
          PROBE,
          {},
          {
            ...headers,
            Accept: accept,
            ...(traceparent ? { traceparent } : {}),
          },
        );
        expect(raw.status, name).toBe(401);
        expect(raw.headers.get('content-type'), name).toBe(contentType);
        expect(raw.headers.get('www-authenticate'), name).toBe(
          reason === 'CREDENTIALS_REQUIRED' ? 'Bearer' : 'Bearer error="invalid_token"',
        );
        const body = JSON.parse(raw.text) as Body;
        // No `data` at all: the request is refused as a whole, like every request error.
        expect(Object.keys(body), name).toEqual(['errors']);
        expect(body.errors, name).toEqual([
          {
            message: 'Authentication required',
            extensions: {
              code: 'UNAUTHENTICATED',
              reason,
              ...(traceparent ? { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' } : {}),
            },
          },
        ]);
        for (const secret of SECRETS)
          expect(raw.text.toLowerCase(), name).not.toContain(secret.toLowerCase());
        shapes.add(
          JSON.stringify([
            Object.keys(body),
            body.errors!.map((e) => [Object.keys(e), Object.keys(e.extensions ?? {})]),
          ]),
        );
      }
    }
    // One shape with a trace id and one without: the same keys for every variant.
    expect([...shapes]).toEqual([
      JSON.stringify([
        ['errors'],
        [
          [
            ['message', 'extensions'],
            ['code', 'reason'],
          ],
        ],
      ]),
      JSON.stringify([
        ['errors'],
        [
          [
            ['message', 'extensions'],
            ['code', 'reason', 'traceId'],
          ],
        ],
      ]),
    ]);
  });
});
