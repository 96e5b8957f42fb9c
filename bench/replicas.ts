/**
 * `npm run bench:replicas`: throughput of one Gatehouse replica against two, both behind
 * nginx (deploy/nginx.conf), in the production topology of `npm run cluster:local` — the
 * machine's PostgreSQL, the real SpiceDB on its postgres datastore, Redis, production
 * mode. The list-100 query as one user, BENCH_CONNECTIONS (default 10) connections,
 * BENCH_SECONDS (default 10) per run, BENCH_ROUNDS (default 3) interleaved rounds; the
 * ratio is taken within each round. On a 2-core machine every process (replicas,
 * PostgreSQL, SpiceDB, nginx, the load generator) shares the same two cores: the ratio
 * says how much a second replica adds when CPU is not free, not what it adds on its own
 * machine. Needs DATABASE_ADMIN_URL, DATABASE_OWNER_URL and DATABASE_URL.
 */
import { DEMO_TEAMS } from '../src/demo/demoData.js';
import { startCluster } from '../tools/cluster.js';
import { UNREACHED_BUDGETS } from './benchConfig.js';
import { runLoad, type LoadResult } from './load.js';
import { median } from './statistics.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? '10');
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? '3'));
const QUERY = '{ workflows(first: 100) { edges { node { id name amount shares { role } } } } }';
const ENGINEERING = DEMO_TEAMS.find((t) => t.name === 'Engineering')!.id;

const missing = ['DATABASE_ADMIN_URL', 'DATABASE_OWNER_URL', 'DATABASE_URL'].filter(
  (name) => !process.env[name],
);
if (missing.length > 0) {
  // (`npm run bench` on the embedded database: the other benchmarks ran; this one cannot.)
  process.stderr.write(
    `bench:replicas skipped: the cluster runs on PostgreSQL; set ${missing.join(', ')}\n`,
  );
  process.exit(0);
}

const cluster = await startCluster({
  replicas: 2,
  env: { ...UNREACHED_BUDGETS, LOG_LEVEL: 'error' },
});
try {
  const bob = await cluster.token('bob');
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${bob}` };
  // 100 workflows bob can see (his team's), made through the API.
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${cluster.url}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        query:
          'mutation($n: String!, $t: ID!) { createWorkflow(input: { name: $n, amount: "10", teamId: $t }) { id } }',
        variables: { n: `bench ${i}`, t: ENGINEERING },
      }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(`create failed: ${JSON.stringify(body.errors)}`);
  }
  const probe = (await (
    await fetch(`${cluster.url}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: QUERY }),
    })
  ).json()) as { data?: { workflows: { edges: unknown[] } }; errors?: unknown };
  if (probe.errors || probe.data?.workflows.edges.length !== 100) {
    throw new Error(`unexpected list answer: ${JSON.stringify(probe).slice(0, 300)}`);
  }
  const one = await cluster.loadBalancer([cluster.replicas[0]!.address]);
  const targets = { 'one replica': `${one.url}/graphql`, 'two replicas': `${cluster.url}/graphql` };
  const runs = new Map<string, LoadResult[]>();
  const request = { headers, body: JSON.stringify({ query: QUERY }) };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, url] of Object.entries(targets)) {
      process.stderr.write(`round ${round}/${ROUNDS}: ${name} for ${SECONDS}s…\n`);
      await runLoad({ url, connections: CONNECTIONS, seconds: 2, requests: [request] });
      const result = await runLoad({
        url,
        connections: CONNECTIONS,
        seconds: SECONDS,
        requests: [request],
      });
      runs.set(name, [...(runs.get(name) ?? []), result]);
    }
  }
  const rows = Object.keys(targets).map((name) => {
    const list = runs.get(name)!;
    return {
      name,
      rps: median(list.map((r) => r.requests.average)),
      p50: median(list.map((r) => r.latency.p50)),
      p99: median(list.map((r) => r.latency.p99)),
      errors: list.reduce((n, r) => n + r.errors + r.non2xx, 0),
    };
  });
  const ratios = runs
    .get('two replicas')!
    .map((r, i) => r.requests.average / runs.get('one replica')![i]!.requests.average);
  process.stdout.write(
    [
      `list-100 query through nginx, ${CONNECTIONS} connections, ${SECONDS}s each, ${ROUNDS} round(s) (medians), PostgreSQL + SpiceDB server (postgres datastore) + Redis, production mode`,
      '',
      '| behind nginx | req/s | p50 ms | p99 ms | errors |',
      '|---|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.name} | ${r.rps.toFixed(1)} | ${r.p50} | ${r.p99} | ${r.errors} |`),
      '',
      `two / one replica throughput: ${median(ratios).toFixed(2)}× (rounds: ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')})`,
      '',
    ].join('\n'),
  );
} finally {
  await cluster.stop();
}
