/**
 * A field whose decision the operation already knows resolves at once, without
 * graphql-shield's async wrapper (authz/authorizationMiddleware.ts, resolveKnownAllows).
 * That fast path must answer exactly what the rule graphql-shield runs answers: for every
 * demo user and the README's queries, the same data and the same errors, both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, DEMO_WORKFLOWS } from '../../src/demo/demoData.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/testServer.js';

const QUERIES = {
  'Gate 2 list':
    '{ workflows { totalCount edges { node { name amount owner { displayName email } } } } }',
  'list-100 shape':
    '{ workflows(first: 100) { edges { node { id name amount shares { role user { displayName } } } } } }',
  me: '{ me { subject scopes tenant { slug name } user { displayName roles teams { role team { name } } } } }',
  directory:
    '{ users { edges { node { displayName email roles active teams { role fromGroups } } } } }',
  teams: '{ teams { name members { role user { displayName email } } } }',
  workflow: `{ workflow(id: "${DEMO_WORKFLOWS[1].id}") { name amount status owner { displayName } team { name } approvals { decision } shares { role user { email } } } }`,
  nodes: `{ nodes(ids: [${DEMO_WORKFLOWS.map((w) => `"${w.id}"`).join(', ')}]) { __typename id ... on Workflow { name amount } } }`,
  credentials: '{ credentials { totalCount edges { node { name owner { displayName } } } } }',
  'policy settings': '{ policySettings { approvalLimit approvalNetworks version } }',
  'role mapping': '{ roleMapping { version rules { group role } } }',
};

type Answers = Record<string, { data: unknown; errors: unknown }>;

/** The answer without what differs per decision: its id. */
function comparable(res: GraphQLResponse): { data: unknown; errors: unknown } {
  const errors = res.body.errors?.map(({ extensions, ...rest }) => {
    const { decisionId: _decisionId, ...stable } = extensions ?? {};
    return { ...rest, extensions: stable };
  });
  return { data: res.body.data, errors };
}

/** Every demo user's answers to every query, from one server. */
async function answersOf(server: TestServer): Promise<Answers> {
  const answers: Answers = {};
  for (const user of DEMO_USERS) {
    const token = await server.token(user.key);
    for (const [name, query] of Object.entries(QUERIES)) {
      answers[`${user.key}: ${name}`] = comparable(await server.gql(query, {}, token));
    }
  }
  return answers;
}

describe('known decisions resolve at once, answering what graphql-shield answers', () => {
  let fast: Answers;
  let shielded: Answers;
  // One server at a time: each holds the embedded SpiceDB of the database it serves.
  beforeAll(async () => {
    let server: TestServer = await startTestServer();
    try {
      fast = await answersOf(server);
    } finally {
      await server.stop();
    }
    server = await startTestServer({}, { resolveKnownAllows: false });
    try {
      shielded = await answersOf(server);
    } finally {
      await server.stop();
    }
  }, 180_000);
  afterAll(() => undefined);

  it.each(DEMO_USERS.flatMap((u) => Object.keys(QUERIES).map((q) => `${u.key}: ${q}`)))(
    '%s',
    (key) => {
      expect(fast[key]).toEqual(shielded[key]);
    },
  );

  it('covers denials and allows: the comparison is not between two empty answers', () => {
    const all = Object.values(fast);
    expect(all.filter((a) => Array.isArray(a.errors)).length).toBeGreaterThan(10);
    expect(all.filter((a) => a.data && !a.errors).length).toBeGreaterThan(10);
  });
});
