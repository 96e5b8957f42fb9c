/**
 * `npm run bench:memory` (part of `npm run bench`): the server's resident memory — the
 * list-100 query against `npm start`'s entry point run as a process of its own (so the
 * figure is the server's alone), read from /proc/<pid>/status (VmRSS): idle after start,
 * after each of BENCH_MEMORY_RUNS load runs (default 3, BENCH_SECONDS each, default 10),
 * and after BENCH_MEMORY_IDLE_SECONDS (default 60) of rest. Targets (issue 15): ≤ 450 MiB
 * after the load, back within 20% of idle a minute later, no growth from run to run.
 *
 * Needs DATABASE_URL/DATABASE_OWNER_URL (the server process reads the same tenant).
 * BENCH_CONNECTIONS (default 10).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from '../tools/serverProcess.js';
import { TEST_CREDENTIAL_KEYS } from '../test/support/testServer.js';
import { benchEnvironment } from './benchConfig.js';
import { runLoad } from './load.js';
import { expectFullPage, PROCESS_BENCH_QUERY, processBenchTenant } from './processTenant.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? '10');
const RUNS = Math.max(1, Number(process.env['BENCH_MEMORY_RUNS'] ?? '3'));
const IDLE_SECONDS = Number(process.env['BENCH_MEMORY_IDLE_SECONDS'] ?? '60');
const MIB = 1024 * 1024;

if (!process.env['DATABASE_URL']) {
  process.stdout.write('memory: skipped (needs DATABASE_URL: PostgreSQL)\n');
  process.exit(0);
}

/** Resident memory of a process, in MiB (VmRSS of /proc/<pid>/status, in kB there). */
function rssMiB(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return (Number(line[1]) * 1024) / MIB;
}

const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-memory-'));
const token = await processBenchTenant(keysDir);

let server: ServerProcess | undefined;
const rows: string[] = [];
let verdict = '';
try {
  server = await startServerProcess({
    ...benchEnvironment(keysDir),
    CREDENTIAL_KEYS: TEST_CREDENTIAL_KEYS,
  });
  const pid = server.child.pid!;
  const url = `${server.url}/graphql`;
  const request = {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: PROCESS_BENCH_QUERY }),
  };
  await expectFullPage(url, request);
  await sleep(2_000);
  const idle = rssMiB(pid);
  rows.push(`| idle, after start and one answer | ${idle.toFixed(0)} | — |`);
  const afterRuns: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    process.stderr.write(`memory: load run ${run}/${RUNS} for ${SECONDS}s…\n`);
    const load = await runLoad({
      url,
      connections: CONNECTIONS,
      seconds: SECONDS,
      requests: [request],
    });
    const after = rssMiB(pid);
    afterRuns.push(after);
    rows.push(`| after load run ${run} | ${after.toFixed(0)} | ${load.requests.total} |`);
  }
  process.stderr.write(`memory: resting ${IDLE_SECONDS}s…\n`);
  await sleep(IDLE_SECONDS * 1000);
  const rested = rssMiB(pid);
  rows.push(`| after ${IDLE_SECONDS} s of rest | ${rested.toFixed(0)} | — |`);
  const peak = Math.max(...afterRuns);
  const growth = afterRuns.at(-1)! / afterRuns[0]!;
  verdict = [
    `after the load: ${peak.toFixed(0)} MiB at most (target ≤ 450)`,
    `rested: ${((rested / idle - 1) * 100).toFixed(0)}% above idle (target ≤ 20%)`,
    `last run / first run: ${(growth * 100).toFixed(0)}% (no growth: ≈ 100%)`,
  ].join('; ');
} finally {
  await stopServerProcess(server);
  await rm(keysDir, { recursive: true, force: true });
}
process.stdout.write(
  [
    `memory: server process RSS (VmRSS), list-100 query, ${CONNECTIONS} connections, ${SECONDS}s per run, PostgreSQL, embedded SpiceDB`,
    '',
    '| when | RSS MiB | requests answered |',
    '|---|---:|---:|',
    ...rows,
    '',
    verdict,
    '',
  ].join('\n'),
);
