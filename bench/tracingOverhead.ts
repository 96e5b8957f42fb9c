/**
 * `npm run bench:otel` (part of `npm run bench`): what tracing costs. The list-100 query
 * against `npm start`'s entry point run as a process of its own, twice per round,
 * interleaved: `on` (no OpenTelemetry variables: the SDK is not even loaded) and `on+otel`
 * (OTLP/HTTP to the real OpenTelemetry Collector, tools/otelcol.ts; resolve spans off,
 * the default sampler: every request traced). Target: on+otel ≥ 90% of on's throughput.
 *
 * Needs DATABASE_URL/DATABASE_OWNER_URL (the server processes read the same tenant) and
 * .tools/bin/otelcol (`npm run otelcol:build`). BENCH_SECONDS (default 10) per run,
 * BENCH_CONNECTIONS (default 10), BENCH_ROUNDS (default 3).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCollector } from '../test/support/otelCollector.js';
import {
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from '../tools/serverProcess.js';
import { TEST_CREDENTIAL_KEYS } from '../test/support/testServer.js';
import { benchEnvironment } from './benchConfig.js';
import { runLoad } from './load.js';
import { expectFullPage, PROCESS_BENCH_QUERY, processBenchTenant } from './processTenant.js';
import { median } from './statistics.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? '10');
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? '3'));
const MODES = ['on', 'on+otel'] as const;
type Mode = (typeof MODES)[number];

if (!process.env['DATABASE_URL']) {
  process.stdout.write('tracing overhead: skipped (needs DATABASE_URL: PostgreSQL)\n');
  process.exit(0);
}

/** CPU seconds (user + system, all threads) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat; [0] here is field 3.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-otel-'));
// Only the debug exporter: the collector's own work per span stays small (it shares the cores).
const collector = await startCollector({ forward: false });
const token = await processBenchTenant(keysDir);

interface Run {
  readonly rps: number;
  readonly p50: number;
  readonly cpuMs: number;
  readonly collectorCpuMs: number;
  readonly errors: number;
}

async function measure(mode: Mode): Promise<Run> {
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({
      ...benchEnvironment(keysDir),
      CREDENTIAL_KEYS: TEST_CREDENTIAL_KEYS,
      OTEL_EXPORTER_OTLP_ENDPOINT: mode === 'on+otel' ? collector.otlpHttpEndpoint : undefined,
      OTEL_TRACES_EXPORTER: undefined,
      OTEL_SERVICE_NAME: 'gatehouse-bench',
      NODE_OPTIONS: process.env['BENCH_SERVER_NODE_OPTIONS'],
    });
    const url = `${server.url}/graphql`;
    const request = {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PROCESS_BENCH_QUERY }),
    };
    await expectFullPage(url, request);
    await runLoad({ url, connections: CONNECTIONS, seconds: 2, requests: [request] });
    const pid = server.child.pid!;
    const before = cpuSeconds(pid);
    const collectorBefore = cpuSeconds(collector.pid);
    const load = await runLoad({
      url,
      connections: CONNECTIONS,
      seconds: SECONDS,
      requests: [request],
    });
    const cpu = cpuSeconds(pid) - before;
    const collectorCpu = cpuSeconds(collector.pid) - collectorBefore;
    return {
      rps: load.requests.average,
      p50: load.latency.p50,
      cpuMs: (cpu * 1000) / Math.max(1, load.requests.total),
      collectorCpuMs: (collectorCpu * 1000) / Math.max(1, load.requests.total),
      errors: load.errors + load.non2xx,
    };
  } finally {
    await stopServerProcess(server);
  }
}

const runs = new Map<Mode, Run[]>();
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      process.stderr.write(`round ${round}/${ROUNDS}: ${mode} for ${SECONDS}s…\n`);
      runs.set(mode, [...(runs.get(mode) ?? []), await measure(mode)]);
    }
  }
} finally {
  await collector.stop();
  await rm(keysDir, { recursive: true, force: true });
}
// The debug exporter logs a line per batch it got: `info\tTraces\t{… "spans": 512}`.
const received = /\tTraces\t.*"spans": [1-9]/.test(collector.output());
const ratios = runs.get('on+otel')!.map((r, i) => (r.rps / runs.get('on')![i]!.rps) * 100);
const row = (mode: Mode): string => {
  const list = runs.get(mode)!;
  const pick = (f: (r: Run) => number): number => median(list.map(f));
  return `| ${mode} | ${pick((r) => r.rps).toFixed(1)} | ${pick((r) => r.p50)} | ${pick((r) => r.cpuMs).toFixed(2)} | ${pick((r) => r.collectorCpuMs).toFixed(2)} | ${list.reduce((n, r) => n + r.errors, 0)} |`;
};
process.stdout.write(
  [
    `tracing overhead: list-100 query, ${CONNECTIONS} connections, ${SECONDS}s per run, ${ROUNDS} round(s) (medians), PostgreSQL, embedded SpiceDB, server as its own process`,
    '',
    '| configuration | req/s | p50 ms | server CPU ms / request | collector CPU ms / request | errors |',
    '|---|---:|---:|---:|---:|---:|',
    row('on'),
    row('on+otel'),
    '',
    `on+otel / on throughput: ${median(ratios).toFixed(0)}% (target ≥ 90%; rounds: ${ratios.map((r) => `${r.toFixed(0)}%`).join(', ')}); the collector ${received ? 'received the spans' : 'RECEIVED NO SPANS'}`,
    '',
  ].join('\n'),
);
