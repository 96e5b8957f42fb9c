/**
 * `npm run bench:memory` (part of `npm run bench`): the server's resident memory — the
 * list-100 query against the server run as a process of its own (so the figure is the
 * server's alone), read from /proc/<pid>/status (VmRSS): idle after start, after each of
 * BENCH_MEMORY_RUNS load runs (default 3, BENCH_SECONDS each, default 10), and after
 * BENCH_MEMORY_IDLE_SECONDS (default 60) of rest. Targets (issue 15): ≤ 450 MiB after the
 * load, back within 20% of idle a minute later, no growth from run to run.
 *
 * The server runs as `npm run start:prod` runs it — `dist/main.js` (built first) under
 * plain node with the script's own node flags, read from package.json — or, with
 * BENCH_MEMORY_ENTRY=src, `npm start`'s src/main.ts through tsx (whose compiler adds to
 * the figure). BENCH_MEMORY_SPICEDB (default `server,embedded`): against the real SpiceDB
 * server as a process of its own (production's shape), and with the embedded SpiceDB,
 * whose Go runtime then lives in the server process.
 *
 * Needs DATABASE_URL/DATABASE_OWNER_URL (the server process reads the same tenant).
 * BENCH_CONNECTIONS (default 10).
 */
import { spawnSync } from 'node:child_process';
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
import { startSpiceDbServer, type SpiceDbServer } from '../tools/spicedbServer.js';
import { TEST_CREDENTIAL_KEYS } from '../test/support/testServer.js';
import { benchEnvironment } from './benchConfig.js';
import { runLoad } from './load.js';
import { expectFullPage, PROCESS_BENCH_QUERY, processBenchTenant } from './processTenant.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? '10');
const RUNS = Math.max(1, Number(process.env['BENCH_MEMORY_RUNS'] ?? '3'));
const IDLE_SECONDS = Number(process.env['BENCH_MEMORY_IDLE_SECONDS'] ?? '60');
const ENTRY = process.env['BENCH_MEMORY_ENTRY'] ?? 'dist';
if (ENTRY !== 'dist' && ENTRY !== 'src') throw new Error('BENCH_MEMORY_ENTRY: dist or src');
type SpiceDbKind = 'server' | 'embedded';
const SPICEDBS = (process.env['BENCH_MEMORY_SPICEDB'] ?? 'server,embedded')
  .split(',')
  .map((s) => s.trim());
if (SPICEDBS.some((s) => s !== 'server' && s !== 'embedded')) {
  throw new Error('BENCH_MEMORY_SPICEDB: server and/or embedded');
}
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

/** The node flags of `npm run start:prod` (`node <flags> dist/main.js`). */
function startProdNodeArgs(): string[] {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = (pkg.scripts['start:prod'] ?? '').split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js') {
    throw new Error('package.json start:prod: expected `node <flags> dist/main.js`');
  }
  return words.slice(1, -1);
}

const nodeArgs = ENTRY === 'dist' ? startProdNodeArgs() : [];
if (ENTRY === 'dist') {
  const build = spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
    { stdio: 'inherit' },
  );
  if (build.status !== 0) throw new Error('npm run build failed');
}

/** One server configuration's table rows and its verdict against the targets. */
async function measure(spicedbKind: SpiceDbKind): Promise<{ rows: string[]; verdict: string }> {
  const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-memory-'));
  // A tenant of its own: its relationships wait in the outbox for this server's relay.
  const token = await processBenchTenant(keysDir);
  let spicedb: SpiceDbServer | undefined;
  let server: ServerProcess | undefined;
  const rows: string[] = [];
  try {
    spicedb =
      spicedbKind === 'server' ? await startSpiceDbServer({ datastore: 'memory' }) : undefined;
    server = await startServerProcess(
      {
        ...benchEnvironment(keysDir),
        CREDENTIAL_KEYS: TEST_CREDENTIAL_KEYS,
        ...(spicedb
          ? { SPICEDB_ENDPOINT: spicedb.endpoint, SPICEDB_PRESHARED_KEY: spicedb.presharedKey }
          : {}),
      },
      ENTRY === 'dist' ? { entry: 'dist/main.js', nodeArgs } : {},
    );
    const pid = server.child.pid!;
    const url = `${server.url}/graphql`;
    const request = {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PROCESS_BENCH_QUERY }),
    };
    await expectFullPage(url, request);
    await sleep(2_000);
    const idle = rssMiB(pid);
    rows.push(`| ${spicedbKind} | idle, after start and one answer | ${idle.toFixed(0)} | — |`);
    const afterRuns: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      process.stderr.write(`memory (${spicedbKind}): load run ${run}/${RUNS} for ${SECONDS}s…\n`);
      const load = await runLoad({
        url,
        connections: CONNECTIONS,
        seconds: SECONDS,
        requests: [request],
      });
      const after = rssMiB(pid);
      afterRuns.push(after);
      rows.push(
        `| ${spicedbKind} | after load run ${run} | ${after.toFixed(0)} | ${load.requests.total} |`,
      );
    }
    process.stderr.write(`memory (${spicedbKind}): resting ${IDLE_SECONDS}s…\n`);
    await sleep(IDLE_SECONDS * 1000);
    const rested = rssMiB(pid);
    rows.push(`| ${spicedbKind} | after ${IDLE_SECONDS} s of rest | ${rested.toFixed(0)} | — |`);
    const peak = Math.max(...afterRuns);
    const growth = afterRuns.at(-1)! / afterRuns[0]!;
    const verdict = `${spicedbKind}: after the load ${peak.toFixed(0)} MiB at most (target ≤ 450); rested ${((rested / idle - 1) * 100).toFixed(0)}% above idle (target ≤ 20%); last run / first run ${(growth * 100).toFixed(0)}% (no growth: ≈ 100%)`;
    return { rows, verdict };
  } finally {
    await stopServerProcess(server);
    await spicedb?.stop();
    await rm(keysDir, { recursive: true, force: true });
  }
}

const results = [];
for (const kind of SPICEDBS as SpiceDbKind[]) results.push(await measure(kind));
const runtime =
  ENTRY === 'dist' ? `dist/main.js (node ${nodeArgs.join(' ')})` : 'src/main.ts (tsx)';
process.stdout.write(
  [
    `memory: server process RSS (VmRSS), ${runtime}, list-100 query, ${CONNECTIONS} connections, ${SECONDS}s per run, PostgreSQL; SpiceDB: the real server as its own process, or embedded in the server process`,
    '',
    '| SpiceDB | when | RSS MiB | requests answered |',
    '|---|---|---:|---:|',
    ...results.flatMap((r) => r.rows),
    '',
    ...results.map((r) => `- ${r.verdict}`),
    '',
  ].join('\n'),
);
