/** Workflow mutations through the API, for tests that need one made by a given caller. */
import type { GraphQLResponse, TestServer } from './testServer.js';

/** Creates a workflow as the token's user; returns its id (fails the test on an error). */
export async function createWorkflowAs(
  server: TestServer,
  token: string,
  name: string,
): Promise<string> {
  const res = await server.gql<{ createWorkflow: { id: string } }>(
    'mutation($name: String!) { createWorkflow(input: { name: $name, amount: "1" }) { id } }',
    { name },
    token,
  );
  if (!res.body.data?.createWorkflow) {
    throw new Error(`createWorkflow failed: ${JSON.stringify(res.body.errors)}`);
  }
  return res.body.data.createWorkflow.id;
}

/** Shares workflow `id` with user `userId` as the token's user. */
export function shareWorkflowWith(
  server: TestServer,
  token: string,
  id: string,
  userId: string,
): Promise<GraphQLResponse> {
  return server.gql(
    'mutation($id: ID!, $u: ID!) { shareWorkflow(id: $id, userId: $u, role: VIEWER) { id } }',
    { id, u: userId },
    token,
  );
}
