/**
 * The load generator of the benchmarks, in a process of its own (so it does not share the
 * server's event loop): autocannon against one URL, each connection cycling through the
 * given requests (e.g. one per tenant). Reads its options as JSON from stdin, prints
 * autocannon's result as JSON.
 */
import autocannon from 'autocannon';

interface Options {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly timeoutSeconds: number;
  readonly requests: ReadonlyArray<{ headers: Record<string, string>; body: string }>;
}

let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const options = JSON.parse(input) as Options;
const result = await autocannon({
  url: options.url,
  method: 'POST',
  connections: options.connections,
  duration: options.seconds,
  timeout: options.timeoutSeconds,
  requests: options.requests.map((r) => ({ method: 'POST', headers: r.headers, body: r.body })),
});
process.stdout.write(JSON.stringify(result));
