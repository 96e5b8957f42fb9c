/**
 * `npm run bench:limits` (part of `npm run bench`): what the query limits cost.
 * - A refused near-1 MB document (the body limit is 1 MB), three ways — too many tokens,
 *   too many comments, nested too deeply to parse — under load (autocannon in its own
 *   process, 10 connections, BENCH_SECONDS): server CPU per refused request (target < 5 ms)
 *   and that every answer was a 400.
 * - The check on the list-100 query itself, one call at a time: microseconds per check, and
 *   its share of that query's server CPU per request (target ≤ 3% of throughput).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'graphql';
import { ensureDevSigningKey, mintDevToken } from '../src/authn/devSigningKey.js';
import { buildSchema } from '../src/graphql/buildSchema.js';
import { DEFAULT_PAGE, MAX_PAGE } from '../src/graphql/resolvers/paging.js';
import { checkQueryLimits } from '../src/operation/limits/QueryLimits.js';
import { createGatehouse } from '../src/server/createGatehouse.js';
import { createTestTenant } from '../test/support/testDatabase.js';
import { benchConfig } from './benchConfig.js';
import { runLoad } from './load.js';
import { percentile } from './statistics.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? '10');
const LIST_100 = '{ workflows(first: 100) { edges { node { id name amount shares { role } } } } }';

const DOCUMENTS: ReadonlyArray<[string, string]> = [
  ['too many tokens', `{ ${'health '.repeat(130_000)}}`],
  ['too many comments', `{ health ${'#\n'.repeat(230_000)} }`],
  ['nested too deeply', `${'{ me '.repeat(150_000)}${'}'.repeat(150_000)}`],
];

const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
const config = benchConfig(keysDir);
const gatehouse = await createGatehouse(config);
const rows: string[] = [];
try {
  await gatehouse.listen();
  const tenant = await createTestTenant(gatehouse.database, 2);
  await gatehouse.relay.drain();
  const token = await mintDevToken(await ensureDevSigningKey(keysDir), {
    subject: tenant.users[1]!.subject,
    tenantId: tenant.id,
    ttlSeconds: 3600,
  });
  for (const [name, document] of DOCUMENTS) {
    const body = JSON.stringify({ query: document });
    process.stderr.write(
      `query limits: refusing ${name} (${(body.length / 1e6).toFixed(2)} MB) for ${SECONDS}s…\n`,
    );
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const probe = await fetch(`${gatehouse.url}/graphql`, { method: 'POST', headers, body });
    const answer = (await probe.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    const code = answer.errors?.[0]?.extensions?.code ?? `HTTP ${probe.status}`;
    const cpuBefore = process.cpuUsage();
    const load = await runLoad({
      url: `${gatehouse.url}/graphql`,
      connections: CONNECTIONS,
      seconds: SECONDS,
      requests: [{ headers, body }],
    });
    const cpu = process.cpuUsage(cpuBefore);
    const refused = load.requests.total;
    rows.push(
      `| ${name} | ${(body.length / 1e6).toFixed(2)} MB | ${code} | ${probe.status} | ${load.requests.average.toFixed(0)} | ${((cpu.user + cpu.system) / 1000 / Math.max(1, refused)).toFixed(2)} | ${load.non2xx === refused ? 'all' : `${load.non2xx} of ${refused}`} |`,
    );
  }
} finally {
  await gatehouse.stop();
  await rm(keysDir, { recursive: true, force: true });
}

const { schema } = buildSchema();
const document = parse(LIST_100);
const limits = { ...config.queryLimits, maxPage: MAX_PAGE, defaultPage: DEFAULT_PAGE };
const times: number[] = [];
for (let i = 0; i < 20_000; i++) {
  const start = process.hrtime.bigint();
  checkQueryLimits(schema, document, null, {}, limits);
  times.push(Number(process.hrtime.bigint() - start) / 1000);
}
const p50 = percentile(times, 50);
const lines = [
  `query limits, ${CONNECTIONS} connections, ${SECONDS}s each`,
  '',
  '| refused document | body | code | status | req/s | server CPU ms / request | all 400 |',
  '|---|---:|---|---:|---:|---:|---|',
  ...rows,
  '',
  `the limits check on the list-100 query: p50 ${p50.toFixed(1)} µs, p99 ${percentile(times, 99).toFixed(1)} µs per operation (${((p50 / 15_000) * 100).toFixed(2)}% of the ~15 ms of server CPU that query costs here; target ≤ 3%)`,
];
process.stdout.write(`${lines.join('\n')}\n`);
