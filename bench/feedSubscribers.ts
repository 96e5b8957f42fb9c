/**
 * The live-feed subscribers of `npm run bench:feed`, in a process of their own: opens
 * `count` graphql-ws connections with one `auditEvents` subscription each, and on stdin's
 * end prints, as JSON, when each received which seq (high-resolution wall clock, ms).
 * Options as JSON in argv[2].
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

interface Options {
  readonly url: string;
  readonly token: string;
  readonly count: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const now = () => performance.timeOrigin + performance.now();
/** Per subscriber: [seq, received at] pairs. */
const received: Array<Array<[number, number]>> = [];
const clients = Array.from({ length: options.count }, (_, i) => {
  const mine: Array<[number, number]> = [];
  received.push(mine);
  const client = createClient({
    url: options.url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${options.token}` },
    retryAttempts: 0,
    lazy: false,
  });
  client.subscribe<{ auditEvents: { seq: number } }>(
    { query: 'subscription { auditEvents { seq action actor { userId } } }' },
    {
      next: (r) => {
        if (r.data) mine.push([r.data.auditEvents.seq, now()]);
      },
      error: (error: unknown) => process.stderr.write(`subscriber ${i}: ${String(error)}\n`),
      complete: () => undefined,
    },
  );
  return client;
});
process.stdin.resume();
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(received), () => {
    for (const c of clients) void c.dispose();
    process.exit(0);
  });
});
