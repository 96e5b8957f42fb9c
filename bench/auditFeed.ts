/**
 * `npm run bench:feed` (part of `npm run bench`): the live audit feed's latency, from the
 * commit of an append to its delivery to a subscriber, with 1, 100 and 1,000 subscribers
 * on one instance (graphql-ws clients in their own process). Events are appended at a
 * steady rate (BENCH_FEED_EVENTS, default 40, one every BENCH_FEED_INTERVAL_MS, default
 * 200 ms); every subscriber must receive every event, in order, once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { appendAuditEvents } from '../src/audit/appendAuditEvents.js';
import { benchConfig } from './benchConfig.js';
import { ensureDevSigningKey, mintDevToken } from '../src/authn/devSigningKey.js';
import { createGatehouse } from '../src/server/createGatehouse.js';
import { createTestTenant } from '../test/support/testDatabase.js';
import { percentile } from './statistics.js';

const EVENTS = Number(process.env['BENCH_FEED_EVENTS'] ?? '40');
const INTERVAL_MS = Number(process.env['BENCH_FEED_INTERVAL_MS'] ?? '200');
const COUNTS = (process.env['BENCH_FEED_SUBSCRIBERS'] ?? '1,100,1000').split(',').map(Number);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Result {
  readonly subscribers: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly deliveries: number;
}

/** The subscribers' process; resolves with what each received once its stdin is closed. */
function subscriberProcess(options: { url: string; token: string; count: number }): {
  child: ChildProcess;
  results: () => Promise<Array<Array<[number, number]>>>;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/feedSubscribers.ts', JSON.stringify(options)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async results() {
      child.stdin.end();
      await exited;
      return JSON.parse(out) as Array<Array<[number, number]>>;
    },
  };
}

async function measure(subscribers: number): Promise<Result> {
  const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const gatehouse = await createGatehouse(benchConfig(keysDir));
  let child: ChildProcess | undefined;
  try {
    await gatehouse.listen();
    const tenant = await createTestTenant(gatehouse.database, 2);
    await gatehouse.relay.drain();
    const token = await mintDevToken(await ensureDevSigningKey(keysDir), {
      subject: tenant.users[0]!.subject,
      tenantId: tenant.id,
      ttlSeconds: 3600,
    });
    const subscriberSide = subscriberProcess({
      url: `${gatehouse.url.replace('http', 'ws')}/graphql`,
      token,
      count: subscribers,
    });
    child = subscriberSide.child;
    const deadline = Date.now() + 120_000;
    while (gatehouse.auditFeed.subscribers < subscribers) {
      if (Date.now() > deadline)
        throw new Error(`only ${gatehouse.auditFeed.subscribers} subscribed`);
      await sleep(100);
    }
    await sleep(500);
    const committedAt = new Map<number, number>();
    for (let i = 0; i < EVENTS; i++) {
      const [event] = await gatehouse.database.tenants.transaction(
        { tenantId: tenant.id, subject: 'bench' },
        'write',
        (tx) =>
          appendAuditEvents(tx, tenant.id, [
            {
              actor: { subject: 'bench', userId: null, kind: 'system', ip: null },
              action: 'bench.appended',
              resource: { type: 'bench', id: String(i) },
              outcome: 'SUCCEEDED',
              gate: null,
              reasons: [],
              requestId: null,
              traceId: null,
              decisions: [],
              changes: null,
            },
          ]),
      );
      committedAt.set(event!.seq, now());
      await sleep(INTERVAL_MS);
    }
    await sleep(Math.max(2_000, subscribers * 5));
    const received = await subscriberSide.results();
    const latencies: number[] = [];
    const expected = [...committedAt.keys()];
    for (const [i, mine] of received.entries()) {
      const seqs = mine.map(([seq]) => seq);
      if (JSON.stringify(seqs) !== JSON.stringify(expected)) {
        throw new Error(
          `subscriber ${i} received ${seqs.length} of ${expected.length} events, or out of order`,
        );
      }
      for (const [seq, at] of mine) latencies.push(at - committedAt.get(seq)!);
    }
    return {
      subscribers,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      deliveries: latencies.length,
    };
  } finally {
    child?.kill();
    await gatehouse.stop();
    await rm(keysDir, { recursive: true, force: true });
  }
}

const results: Result[] = [];
for (const count of COUNTS) {
  process.stderr.write(
    `live feed: ${count} subscriber(s), ${EVENTS} events every ${INTERVAL_MS} ms…\n`,
  );
  results.push(await measure(count));
}
const lines = [
  `live audit feed: commit → delivery, ${EVENTS} events at ${Math.round(1000 / INTERVAL_MS)}/s, one instance, database: ${process.env['DATABASE_URL'] ? 'PostgreSQL' : 'embedded PGlite'}`,
  '',
  '| subscribers | p50 ms | p99 ms | max ms | deliveries |',
  '|---:|---:|---:|---:|---:|',
  ...results.map(
    (r) =>
      `| ${r.subscribers} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.deliveries} |`,
  ),
  '',
  `p99 at 100 subscribers: ${results.find((r) => r.subscribers === 100)?.p99.toFixed(1) ?? '–'} ms (target < 100 ms)`,
];
process.stdout.write(`${lines.join('\n')}\n`);
