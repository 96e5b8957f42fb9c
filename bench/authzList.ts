/**
 * `npm run bench`: the list-100 query (100 workflows × 3 protected fields, one of them
 * `@classified`, decided once per request by gate 3) against the configurations of the same
 * server — authorization on (embedded SpiceDB; and against the real SpiceDB server on its
 * memory and its postgres datastore: on-server-memory, on-server-postgres), on without
 * gate 3 (no-policy), off, and naive (one CheckPermission per field and row, as a
 * graphql-shield rule calling SpiceDB directly would; the baselines are injected,
 * bench/authorizationBaselines.ts) — and against the peer, PostGraphile v5
 * (bench/postgraphilePeer.ts: its own process, the same database, role, RLS settings and
 * JWT), after checking that both list the same rows (bench/listQueries.ts). Then a mixed
 * workload (bench/mixedWorkload.ts: 50 users, 10% mutations) on Gatehouse on and off, and
 * optionally a page-size and a connection series. Prints req/s, p50/p99 latency, server
 * CPU per request, PostgreSQL CPU per request (the database's backends, from /proc),
 * SpiceDB RPCs per request, and the medians of per-round ratios; then the cost of one
 * policy evaluation in Node (bench/policyEvaluation.ts).
 *
 * Loopback only, bounded: BENCH_SECONDS (default 10) per window, BENCH_CONNECTIONS
 * (default 10), BENCH_ROUNDS (default 3) interleaved rounds, BENCH_MODES (default all:
 * off,no-policy,on,on-server-memory,on-server-postgres,postgraphile,naive,mixed),
 * BENCH_SERIES (default none; `pages,connections`), BENCH_PAGE_SIZES (default
 * 10,100,MAX_PAGE), BENCH_SERIES_CONNECTIONS (default 1,10,50), BENCH_NAIVE_REQUESTS
 * (default 3). Uses DATABASE_URL/DATABASE_OWNER_URL when set, else embedded PostgreSQL
 * (no PostGraphile then: it needs a PostgreSQL server).
 */
// First: graphql-js reads NODE_ENV when it is imported.
import './productionRuntime.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDevSigningKey, mintDevToken } from '../src/authn/devSigningKey.js';
import { MAX_PAGE } from '../src/graphql/resolvers/paging.js';
import type { Gatehouse } from '../src/server/createGatehouse.js';
import { spicedbRpcs } from '../test/support/spicedbCalls.js';
import { createTestTenant, type TestTenant } from '../test/support/testDatabase.js';
import { insertWorkflows } from '../test/support/workflowFixtures.js';
import {
  GATEHOUSE_MODES,
  startGatehouse,
  startPostGraphile,
  type BenchServer,
  type GatehouseServer,
  type ServerName,
} from './benchServers.js';
import { checkSameRows, fetchList, listQuery, type ServerKind } from './listQueries.js';
import { runLoad, type LoadRequest } from './load.js';
import { createMixedWorkload, MIXED_USERS, type MixedWorkload } from './mixedWorkload.js';
import { measurePolicyEvaluation } from './policyEvaluation.js';
import { PostgresBackendCpu, waitUntilIdle } from './processCpu.js';
import { median } from './statistics.js';

const env = process.env;
const SECONDS = Number(env['BENCH_SECONDS'] ?? '10');
const CONNECTIONS = Number(env['BENCH_CONNECTIONS'] ?? '10');
const ROUNDS = Math.max(1, Number(env['BENCH_ROUNDS'] ?? '3'));
const WARMUP_SECONDS = 2;
const NAIVE_REQUESTS = Math.max(1, Number(env['BENCH_NAIVE_REQUESTS'] ?? '3'));
const LIST_SIZE = 100;
const usingPostgres = Boolean(env['DATABASE_URL']);

const numbers = (value: string): number[] =>
  [...new Set(value.split(',').filter(Boolean).map(Number))].sort((a, b) => a - b);
const ALL_MODES = [...GATEHOUSE_MODES, 'postgraphile', 'mixed'] as const;
const requested = (env['BENCH_MODES'] ?? ALL_MODES.join(',')).split(',');
const skipped: string[] = [];
const MODES = ALL_MODES.filter((m) => {
  if (!requested.includes(m)) return false;
  // The postgres datastore needs a PostgreSQL administrator to make its database.
  if (m === 'on-server-postgres' && !env['DATABASE_ADMIN_URL']) {
    skipped.push('on-server-postgres (no DATABASE_ADMIN_URL)');
    return false;
  }
  if (m === 'postgraphile' && !usingPostgres) {
    skipped.push('postgraphile (no DATABASE_URL: it needs a PostgreSQL server)');
    return false;
  }
  return true;
});
const SERIES = new Set((env['BENCH_SERIES'] ?? '').split(',').filter(Boolean));
for (const s of SERIES) {
  if (s !== 'pages' && s !== 'connections') throw new Error(`BENCH_SERIES: unknown series ${s}`);
}
const PAGE_SIZES = numbers(env['BENCH_PAGE_SIZES'] ?? `10,${LIST_SIZE},${MAX_PAGE}`);
if (PAGE_SIZES.some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error('BENCH_PAGE_SIZES: positive integers');
}
const SERIES_CONNECTIONS = numbers(env['BENCH_SERIES_CONNECTIONS'] ?? '1,10,50');
/** The servers of the series: Gatehouse on and off, and the peer. */
const SERIES_SERVERS: readonly ServerName[] = [
  'on',
  'off',
  ...(usingPostgres ? (['postgraphile'] as const) : []),
];
const MIXED_SERVERS: readonly ServerName[] = ['on', 'off'];

/** One measured window: a query (or a mix) at a concurrency, against one tenant. */
interface Window {
  readonly key: string;
  /** Other keys this window's result also stands for (the same measurement). */
  readonly aliases: readonly string[];
  readonly pageSize: number;
  readonly connections: number;
  readonly tenant: 'list' | 'pages' | 'mixed';
}

interface Run {
  readonly server: ServerName;
  readonly round: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly connections: number;
  readonly errors: number;
  /** Answers to checked requests (the mixed workload's mutations) with GraphQL errors. */
  readonly graphqlErrors: number;
  /** The server process's CPU time (all its threads) per request, in ms. */
  readonly serverCpuMs: number;
  /** The database's PostgreSQL backends' CPU time per request, in ms (undefined: not measurable). */
  readonly pgCpuMs: number | undefined;
  /** SpiceDB RPCs of the first complete answer, and of a repeat within the cache TTL. */
  readonly rpcs?: { cold: number; warm: number; meanMs: number | undefined };
  /** Per request of the window: check RPCs sent, relationship writes (the relay's RPCs). */
  readonly perRequest?: { checks: number; writes: number };
}

// ---------------------------------------------------------------------------------------
// Setup: one signing key, the tenants, the same-rows check.

const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
const foreignKeysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-foreign-'));
const key = await ensureDevSigningKey(keysDir);
const pgCpu = usingPostgres ? await PostgresBackendCpu.open(env['DATABASE_URL']!) : undefined;

const wantsSeries = (name: ServerName): boolean => SERIES.size > 0 && SERIES_SERVERS.includes(name);
const wantsMixed = (name: ServerName): boolean =>
  MODES.includes('mixed') && MIXED_SERVERS.includes(name);
const SERVERS: readonly ServerName[] = (
  [
    'off',
    'no-policy',
    'on',
    'on-server-memory',
    'on-server-postgres',
    'postgraphile',
    'naive',
  ] as const
).filter((s) => MODES.includes(s) || wantsSeries(s) || wantsMixed(s));

const bearer = async (tenant: TestTenant, userIndex: number, signingDir = keysDir) =>
  `Bearer ${await mintDevToken(await ensureDevSigningKey(signingDir), {
    subject: tenant.users[userIndex]!.subject,
    tenantId: tenant.id,
    ttlSeconds: 6 * 3600,
  })}`;

process.stderr.write('setting up the tenants…\n');
const setup = await startGatehouse('on', keysDir);
let listTenant: TestTenant;
let listIds: string[];
let pagesTenant: TestTenant;
let pagesRows: number;
let mixed: MixedWorkload | undefined;
let sameRows = 'same rows: not checked (no PostGraphile)';
let listToken: string;
let pagesToken: string;
try {
  const db = setup.gatehouse.database;
  listTenant = await createTestTenant(db, 2);
  listIds = await insertWorkflows(setup.gatehouse, listTenant, LIST_SIZE, 1);
  listToken = await bearer(listTenant, 1);
  const largest = Math.max(...PAGE_SIZES);
  if (SERIES.has('pages') && largest > LIST_SIZE) {
    pagesTenant = await createTestTenant(db, 2);
    await insertWorkflows(setup.gatehouse, pagesTenant, largest, 1);
    pagesRows = largest;
    pagesToken = await bearer(pagesTenant, 1);
  } else {
    pagesTenant = listTenant;
    pagesRows = LIST_SIZE;
    pagesToken = listToken;
  }
  if (MODES.includes('mixed')) {
    mixed = await createMixedWorkload(setup.gatehouse, key, listQuery('gatehouse', LIST_SIZE));
  }
  if (SERVERS.includes('postgraphile')) {
    const otherTenant = await createTestTenant(db, 2);
    const otherIds = await insertWorkflows(setup.gatehouse, otherTenant, 10, 1);
    await untilComplete(setup, listToken, LIST_SIZE);
    const peer = await startPostGraphile(key.publicJwk);
    try {
      sameRows = await checkSameRows({
        gatehouse: setup.endpoint,
        postgraphile: peer.endpoint,
        token: listToken,
        ids: listIds,
        otherToken: await bearer(otherTenant, 1),
        otherIds,
        foreignToken: await bearer(listTenant, 1, foreignKeysDir),
      });
    } finally {
      await peer.stop();
    }
    process.stderr.write(`${sameRows}\n`);
  }
} finally {
  await setup.stop();
}

// ---------------------------------------------------------------------------------------
// Windows.

/** The windows one server instance is measured in, in order. */
function windowsOf(server: ServerName): Window[] {
  const windows: Window[] = [];
  const gatehouse = server !== 'postgraphile';
  // The list-100 window also stands for the series' points that are the same measurement.
  const aliases: string[] = [];
  if (
    wantsSeries(server) &&
    SERIES.has('pages') &&
    PAGE_SIZES.includes(LIST_SIZE) &&
    pagesTenant === listTenant
  ) {
    aliases.push(`pages:${LIST_SIZE}`);
  }
  if (
    wantsSeries(server) &&
    SERIES.has('connections') &&
    SERIES_CONNECTIONS.includes(CONNECTIONS)
  ) {
    aliases.push(`connections:${CONNECTIONS}`);
  }
  if (MODES.includes(server) || aliases.length > 0) {
    windows.push({
      key: 'list',
      aliases,
      pageSize: LIST_SIZE,
      connections: server === 'naive' ? 1 : CONNECTIONS,
      tenant: 'list',
    });
  }
  if (wantsSeries(server) && SERIES.has('pages')) {
    for (const size of PAGE_SIZES) {
      if (pagesTenant === listTenant && size === LIST_SIZE) continue;
      // Gatehouse refuses a page above MAX_PAGE (src/graphql/resolvers/paging.ts).
      if (gatehouse && size > MAX_PAGE) continue;
      windows.push({
        key: `pages:${size}`,
        aliases: [],
        pageSize: size,
        connections: CONNECTIONS,
        tenant: 'pages',
      });
    }
  }
  if (wantsSeries(server) && SERIES.has('connections')) {
    for (const connections of SERIES_CONNECTIONS) {
      if (connections === CONNECTIONS) continue;
      windows.push({
        key: `connections:${connections}`,
        aliases: [],
        pageSize: LIST_SIZE,
        connections,
        tenant: 'list',
      });
    }
  }
  if (wantsMixed(server) && mixed) {
    windows.push({
      key: 'mixed',
      aliases: [],
      pageSize: LIST_SIZE,
      connections: CONNECTIONS,
      tenant: 'mixed',
    });
  }
  return windows;
}

function kindOf(server: ServerName): ServerKind {
  return server === 'postgraphile' ? 'postgraphile' : 'gatehouse';
}

function requestsOf(server: ServerName, window: Window): LoadRequest[] {
  if (window.tenant === 'mixed') return [...mixed!.requests];
  return [
    {
      headers: {
        'content-type': 'application/json',
        authorization: window.tenant === 'pages' ? pagesToken : listToken,
      },
      body: JSON.stringify({ query: listQuery(kindOf(server), window.pageSize) }),
    },
  ];
}

/**
 * Waits until a list is complete and free of errors: the naive baseline reads with
 * minimize_latency, so it sees relationships only after SpiceDB's quantization window.
 */
async function untilComplete(
  server: BenchServer,
  token: string,
  size: number,
  rpcs: () => Promise<number> = () => Promise.resolve(0),
): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const before = await rpcs();
    const answer = await fetchList(kindOf(server.name), server.endpoint, token, size);
    if (answer.errors.length === 0 && answer.rows?.length === size) return (await rpcs()) - before;
    if (Date.now() > deadline) {
      throw new Error(
        `unexpected answer from ${server.name}: ${answer.status} ${JSON.stringify(answer.errors).slice(0, 300)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Check RPCs so far: how many, and their total duration in seconds. */
async function checkRpcTotals(
  gatehouse: Gatehouse,
): Promise<{ count: number; seconds: number; writes: number }> {
  let count = 0;
  let seconds = 0;
  let writes = 0;
  for (const metric of await gatehouse.metrics.collect()) {
    if (metric.descriptor.name !== 'gatehouse.spicedb.duration') continue;
    for (const point of metric.dataPoints) {
      const method = String(point.attributes['rpc.method']);
      const value = point.value as { count: number; sum?: number };
      if (method === 'WriteRelationships') writes += value.count;
      if (!method.startsWith('Check')) continue;
      count += value.count;
      seconds += value.sum ?? 0;
    }
  }
  return { count, seconds, writes };
}

/**
 * One window: a warm-up run (except for the naive baseline, whose requests take seconds:
 * the complete answers before it warmed it), then — once the server has finished what the
 * warm-up left in flight — the measured run, with the server's and PostgreSQL's CPU time
 * around it. The naive baseline is measured from one connection for NAIVE_REQUESTS
 * answered requests (none abandoned), so its figures mean one request at a time.
 */
async function measureWindow(server: BenchServer, window: Window, round: number): Promise<Run> {
  const naive = server.name === 'naive';
  const requests = requestsOf(server.name, window);
  const url = server.endpoint;
  if (!naive) {
    await runLoad({
      url,
      connections: window.connections,
      seconds: WARMUP_SECONDS,
      timeoutSeconds: 10,
      requests,
      stagger: true,
    });
  }
  await waitUntilIdle(() => server.cpuMs());
  const gatehouse = (server as Partial<GatehouseServer>).gatehouse;
  const rpcsBefore = gatehouse ? await checkRpcTotals(gatehouse) : undefined;
  pgCpu?.start();
  const cpuBefore = server.cpuMs();
  const load = await runLoad({
    url,
    connections: window.connections,
    seconds: SECONDS,
    ...(naive ? { amount: NAIVE_REQUESTS, timeoutSeconds: 300 } : { timeoutSeconds: 10 }),
    requests,
    // The mix: the connections at different users and mutations at any moment.
    stagger: true,
  });
  const cpu = server.cpuMs() - cpuBefore;
  const pgMs = pgCpu?.stop();
  const total = load.requests.total;
  if (total === 0 || load.duration <= 0) {
    throw new Error(`${server.name}, ${window.key}: no request was answered in the window`);
  }
  let rpcMean: number | undefined;
  let perRequest: Run['perRequest'];
  if (gatehouse && rpcsBefore) {
    const after = await checkRpcTotals(gatehouse);
    const count = after.count - rpcsBefore.count;
    if (count > 0) rpcMean = ((after.seconds - rpcsBefore.seconds) * 1000) / count;
    perRequest = { checks: count / total, writes: (after.writes - rpcsBefore.writes) / total };
  }
  return {
    server: server.name,
    round,
    rps: total / load.duration,
    p50: load.latency.p50,
    p99: load.latency.p99,
    requests: total,
    connections: window.connections,
    errors: load.errors + load.non2xx,
    graphqlErrors: load.graphqlErrors,
    serverCpuMs: cpu / total,
    pgCpuMs: pgMs === undefined ? undefined : pgMs / total,
    ...(gatehouse ? { rpcs: { cold: 0, warm: 0, meanMs: rpcMean } } : {}),
    ...(perRequest ? { perRequest } : {}),
  };
}

/** Runs by window key, then by server. */
const runs = new Map<string, Map<ServerName, Run[]>>();
function record(key: string, run: Run): void {
  const byServer = runs.get(key) ?? new Map<ServerName, Run[]>();
  byServer.set(run.server, [...(byServer.get(run.server) ?? []), run]);
  runs.set(key, byServer);
}

async function start(name: ServerName): Promise<BenchServer> {
  return name === 'postgraphile' ? startPostGraphile(key.publicJwk) : startGatehouse(name, keysDir);
}

/** The SpiceDB RPCs of the first complete list, and of a repeat (Gatehouse). */
async function rpcsOfList(server: GatehouseServer): Promise<{ cold: number; warm: number }> {
  const cold = await untilComplete(server, listToken, LIST_SIZE, () =>
    spicedbRpcs(server.gatehouse),
  );
  const single = await spicedbRpcs(server.gatehouse);
  await fetchList('gatehouse', server.endpoint, listToken, LIST_SIZE);
  return { cold, warm: (await spicedbRpcs(server.gatehouse)) - single };
}

for (let round = 1; round <= ROUNDS; round++) {
  for (const name of SERVERS) {
    if (name === 'naive' && round > 1) continue;
    const windows = windowsOf(name);
    if (windows.length === 0) continue;
    process.stderr.write(
      `round ${round}/${ROUNDS}: ${name} (${windows.map((w) => w.key).join(', ')}), ${name === 'naive' ? `${NAIVE_REQUESTS} requests` : `${SECONDS}s each`}…\n`,
    );
    const server = await start(name);
    try {
      const gatehouse = name === 'postgraphile' ? undefined : (server as GatehouseServer);
      // Every window's answer is checked once before it is loaded.
      const cold = gatehouse ? await rpcsOfList(gatehouse) : undefined;
      if (!gatehouse) await untilComplete(server, listToken, LIST_SIZE);
      for (const window of windows) {
        if (window.tenant === 'pages') {
          await untilComplete(server, pagesToken, Math.min(window.pageSize, pagesRows));
        }
        const measured = await measureWindow(server, window, round);
        const run: Run =
          measured.rpcs && cold && window.tenant === 'list'
            ? { ...measured, rpcs: { ...cold, meanMs: measured.rpcs.meanMs } }
            : measured;
        for (const key of [window.key, ...window.aliases]) record(key, run);
      }
    } finally {
      await server.stop();
    }
  }
}

// ---------------------------------------------------------------------------------------
// Report.

/** The run with the median throughput (for an even count, the slower of the middle two). */
function medianRun(key: string, server: ServerName): Run | undefined {
  const list = [...(runs.get(key)?.get(server) ?? [])].sort((a, b) => a.rps - b.rps);
  return list[Math.floor((list.length - 1) / 2)];
}

/** `a` / `b` of one figure, per round (the same machine state), where both ran. */
function roundRatios(key: string, a: ServerName, b: ServerName, of: (r: Run) => number): number[] {
  const as = runs.get(key)?.get(a) ?? [];
  const bs = runs.get(key)?.get(b) ?? [];
  return as.flatMap((r) => {
    const other = bs.find((o) => o.round === r.round);
    const x = of(r);
    const y = other ? of(other) : Number.NaN;
    return Number.isFinite(x) && Number.isFinite(y) && x > 0 && y > 0 ? [x / y] : [];
  });
}

const fixed = (n: number, digits: number): string => n.toFixed(digits);
const ms = (n: number | undefined): string => (n === undefined ? 'n/a' : n.toFixed(2));
const percent = (r: number): string => `${(r * 100).toFixed(0)}%`;
/** "name: median (rounds …)", or nothing when a side did not run. */
function ratioLine(
  label: string,
  key: string,
  a: ServerName,
  b: ServerName,
  target = '',
  of: (r: Run) => number = (r) => r.rps,
  show: (r: number) => string = percent,
): string[] {
  const ratios = roundRatios(key, a, b, of);
  if (ratios.length === 0) return [];
  return [
    `- ${label}: **${show(median(ratios))}**${target ? ` (target ${target})` : ''} — rounds ${ratios.map(show).join(', ')}`,
  ];
}

const PG_NOTE = usingPostgres
  ? pgCpu
    ? 'PostgreSQL CPU: the client backends of the database, from /proc'
    : 'PostgreSQL CPU: n/a (the database server is not a process on this machine)'
  : 'PostgreSQL CPU: embedded PGlite runs in the server process (in its CPU figure)';

const LABEL: Record<ServerName, string> = {
  off: 'Gatehouse off',
  'no-policy': 'Gatehouse no-policy',
  on: 'Gatehouse on',
  'on-server-memory': 'Gatehouse on-server-memory',
  'on-server-postgres': 'Gatehouse on-server-postgres',
  naive: 'Gatehouse naive',
  postgraphile: 'PostGraphile 5.1.5',
};

const lines: string[] = [
  `list-100 query, ${CONNECTIONS} connections, ${SECONDS}s per window after a ${WARMUP_SECONDS}s warm-up, ${ROUNDS} interleaved round(s) (median run shown), database: ${usingPostgres ? 'PostgreSQL' : 'embedded PGlite'}, SpiceDB: embedded, or the real server (v1.56.2, loopback gRPC) for on-server-*; ${PG_NOTE}`,
  ...(skipped.length > 0 ? [`not measured: ${skipped.join('; ')}`] : []),
  sameRows,
  '',
  '| server | connections | req/s | p50 ms | p99 ms | server CPU ms / request | PostgreSQL CPU ms / request | SpiceDB RPCs: first / repeat | check RPC mean ms | errors |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...SERVERS.flatMap((s) => {
    const r = medianRun('list', s);
    if (!r) return [];
    const rpcs = r.rpcs ? `${r.rpcs.cold} / ${r.rpcs.warm}` : '—';
    const mean = r.rpcs?.meanMs === undefined ? '—' : fixed(r.rpcs.meanMs, 2);
    const conns = s === 'naive' ? `1 (${r.requests} requests)` : String(r.connections);
    return [
      `| ${LABEL[s]} | ${conns} | ${fixed(r.rps, r.rps < 10 ? 2 : 1)} | ${r.p50} | ${r.p99} | ${ms(r.serverCpuMs)} | ${ms(r.pgCpuMs)} | ${rpcs} | ${mean} | ${r.errors} |`,
    ];
  }),
  '',
  'Medians of the per-round ratios:',
  ...ratioLine('on / PostGraphile req/s', 'list', 'on', 'postgraphile', '≥ 50%'),
  ...ratioLine('off / PostGraphile req/s', 'list', 'off', 'postgraphile', '≥ 70%'),
  ...ratioLine('on / off req/s', 'list', 'on', 'off', '≥ 85%'),
  ...ratioLine(
    'server CPU per request, on / PostGraphile',
    'list',
    'on',
    'postgraphile',
    '',
    (r) => r.serverCpuMs,
    (x) => `${x.toFixed(2)}×`,
  ),
  ...ratioLine(
    'server CPU per request, off / PostGraphile',
    'list',
    'off',
    'postgraphile',
    '',
    (r) => r.serverCpuMs,
    (x) => `${x.toFixed(2)}×`,
  ),
  ...ratioLine(
    'PostgreSQL CPU per request, on / PostGraphile',
    'list',
    'on',
    'postgraphile',
    '',
    (r) => r.pgCpuMs ?? Number.NaN,
    (x) => `${x.toFixed(2)}×`,
  ),
];

const on = medianRun('list', 'on');
const naive = medianRun('list', 'naive');
const noPolicy = medianRun('list', 'no-policy');
if (on && naive) {
  lines.push(
    `- naive / on, server CPU per request: **${(naive.serverCpuMs / on.serverCpuMs).toFixed(0)}×** (target on ≥ 5× naive; naive from 1 connection, ${naive.requests} answered requests: ${(1 / naive.rps).toFixed(1)} s each)`,
  );
}
if (on && noPolicy) {
  lines.push(
    `- gate 3 on list-100 (one @classified field): p50 ${on.p50 - noPolicy.p50 >= 0 ? '+' : ''}${on.p50 - noPolicy.p50} ms, throughput ${(((on.rps - noPolicy.rps) / noPolicy.rps) * 100).toFixed(1)}% vs no-policy`,
  );
}

if (runs.has('mixed')) {
  lines.push(
    '',
    `Mixed workload: ${MIXED_USERS} users of one tenant (admin, VP, auditor, members in teams, owners, shares), ${percent(mixed!.mutations / mixed!.requests.length)} mutations (shareWorkflow, updateWorkflow), ${CONNECTIONS} connections:`,
    '',
    '| server | req/s | p50 ms | p99 ms | server CPU ms / request | PostgreSQL CPU ms / request | check RPCs / request | relationship writes / request | non-2xx + errors | mutations answered with errors | list-100 req/s (same rounds) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...MIXED_SERVERS.flatMap((s) => {
      const r = medianRun('mixed', s);
      const list = medianRun('list', s);
      return r
        ? [
            `| ${LABEL[s]} | ${fixed(r.rps, 1)} | ${r.p50} | ${r.p99} | ${ms(r.serverCpuMs)} | ${ms(r.pgCpuMs)} | ${r.perRequest ? fixed(r.perRequest.checks, 3) : '—'} | ${r.perRequest ? fixed(r.perRequest.writes, 3) : '—'} | ${r.errors} | ${r.graphqlErrors} | ${list ? fixed(list.rps, 1) : '—'} |`,
          ]
        : [];
    }),
    '',
    ...ratioLine('mixed on / mixed off req/s', 'mixed', 'on', 'off', '≥ 70%'),
  );
  const mixedOn = runs.get('mixed')?.get('on') ?? [];
  const listOn = runs.get('list')?.get('on') ?? [];
  const perRound = mixedOn.flatMap((m) => {
    const l = listOn.find((r) => r.round === m.round);
    return l ? [m.rps / l.rps] : [];
  });
  if (perRound.length > 0) {
    lines.push(
      `- mixed on / list-100 on req/s: **${percent(median(perRound))}** — rounds ${perRound.map(percent).join(', ')}`,
    );
  }
}

if (SERIES.has('pages')) {
  lines.push(
    '',
    `Page-size series (${CONNECTIONS} connections; Gatehouse's MAX_PAGE is ${MAX_PAGE}: larger pages are measured for PostGraphile only${pagesTenant! === listTenant ? '' : `, on a tenant of ${pagesRows} workflows`}):`,
    '',
    '| server | page size | req/s | server CPU ms / request | server CPU µs / row | PostgreSQL CPU ms / request | PostgreSQL CPU µs / row |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const s of SERIES_SERVERS) {
    for (const size of PAGE_SIZES) {
      const r = medianRun(`pages:${size}`, s);
      if (!r) continue;
      lines.push(
        `| ${LABEL[s]} | ${size} | ${fixed(r.rps, 1)} | ${ms(r.serverCpuMs)} | ${fixed((r.serverCpuMs * 1000) / size, 1)} | ${ms(r.pgCpuMs)} | ${r.pgCpuMs === undefined ? 'n/a' : fixed((r.pgCpuMs * 1000) / size, 1)} |`,
      );
    }
  }
  for (const s of SERIES_SERVERS) {
    // The largest page this server was measured at, against the 100-row page.
    const sizes = PAGE_SIZES.filter((n) => medianRun(`pages:${n}`, s));
    const largest = Math.max(...sizes);
    const big = medianRun(`pages:${largest}`, s);
    const hundred = medianRun(`pages:${LIST_SIZE}`, s);
    if (!big || !hundred) continue;
    lines.push(
      largest === LIST_SIZE
        ? `- ${LABEL[s]}: the largest page measured is ${LIST_SIZE} rows (MAX_PAGE ${MAX_PAGE}): CPU per row at the maximum is the 100-row figure`
        : `- ${LABEL[s]}: server CPU per row at ${largest} rows / at ${LIST_SIZE}: **${percent(big.serverCpuMs / largest / (hundred.serverCpuMs / LIST_SIZE))}** (target ≤ 120%)`,
    );
  }
}

if (SERIES.has('connections')) {
  lines.push(
    '',
    'Connection series (list-100):',
    '',
    '| server | connections | req/s | p50 ms | p99 ms | server CPU ms / request | PostgreSQL CPU ms / request | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const s of SERIES_SERVERS) {
    for (const connections of SERIES_CONNECTIONS) {
      const r = medianRun(`connections:${connections}`, s);
      if (!r) continue;
      lines.push(
        `| ${LABEL[s]} | ${connections} | ${fixed(r.rps, 1)} | ${r.p50} | ${r.p99} | ${ms(r.serverCpuMs)} | ${ms(r.pgCpuMs)} | ${r.errors} |`,
      );
    }
  }
}

process.stderr.write('measuring one policy evaluation…\n');
const evaluations = await measurePolicyEvaluation();
lines.push(
  '',
  '| one policy evaluation (wasm, in process) | p50 µs | p99 µs | calls |',
  '|---|---:|---:|---:|',
  ...evaluations.map(
    (e) => `| ${e.decision} | ${e.p50us.toFixed(1)} | ${e.p99us.toFixed(1)} | ${e.calls} |`,
  ),
);
process.stdout.write(`${lines.join('\n')}\n`);
await rm(keysDir, { recursive: true, force: true });
await rm(foreignKeysDir, { recursive: true, force: true });
