/**
 * The load generator of the benchmarks, in a process of its own (so it does not share the
 * server's event loop): autocannon against one URL, each connection cycling through the
 * given requests (e.g. one per tenant), for `seconds` or — with `amount` — until that many
 * requests have been answered (none abandoned). With `stagger`, each connection starts at
 * another point of the cycle (connection k at k/connections of it), so the connections do
 * not send the same request at the same moment. The answers to requests marked `checked`
 * are read, and those with GraphQL errors counted (`graphqlErrors`): a 200 can still be a
 * failure. Reads its options as JSON from stdin, prints autocannon's result as JSON.
 */
import autocannon from 'autocannon';

interface Options {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly amount?: number;
  readonly stagger?: boolean;
  readonly timeoutSeconds: number;
  readonly requests: ReadonlyArray<{
    headers: Record<string, string>;
    body: string;
    checked?: boolean;
  }>;
}

let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const options = JSON.parse(input) as Options;
let graphqlErrors = 0;
const onResponse = (_status: number, body: string): void => {
  try {
    if ((JSON.parse(body) as { errors?: unknown[] }).errors?.length) graphqlErrors += 1;
  } catch {
    graphqlErrors += 1; // not even JSON
  }
};
const entries = options.requests.map((r) => ({
  method: 'POST' as const,
  headers: r.headers,
  body: r.body,
  ...(r.checked ? { onResponse } : {}),
}));
let clients = 0;
const stagger = (client: autocannon.Client): void => {
  const offset = Math.floor((clients++ * entries.length) / options.connections) % entries.length;
  const rotated = [...entries.slice(offset), ...entries.slice(0, offset)];
  client.setRequests(rotated.map((entry) => ({ ...entry })));
};
const result = await autocannon({
  url: options.url,
  method: 'POST',
  connections: options.connections,
  ...(options.amount === undefined ? { duration: options.seconds } : { amount: options.amount }),
  timeout: options.timeoutSeconds,
  requests: entries,
  ...(options.stagger && entries.length > 1 ? { setupClient: stagger } : {}),
});
process.stdout.write(JSON.stringify({ ...result, graphqlErrors }));
