/**
 * `npm run bench:audit` (part of `npm run bench`): what gate 5 costs a mutation. The
 * `createWorkflow` mutation under load (10 connections, autocannon in its own process), with
 * the audit trail on (each mutation appends its hash-chained event in its own transaction)
 * and off (the benchmark injects an appender that writes nothing), for one tenant (every
 * append waits for the one chain head) and for ten (each connection cycles through them).
 * Interleaved rounds, medians; afterwards the database is checked: as many events as
 * workflows when on, none when off.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchConfig } from './benchConfig.js';
import type { AuditAppender } from '../src/audit/appendAuditEvents.js';
import { ensureDevSigningKey, mintDevToken } from '../src/authn/devSigningKey.js';
import { createGatehouse } from '../src/server/createGatehouse.js';
import { createTestTenant, type TestTenant } from '../test/support/testDatabase.js';
import { runLoad } from './load.js';
import { median } from './statistics.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? '10');
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? '3'));
const CREATE = 'mutation { createWorkflow(input: { name: "bench", amount: "1" }) { id } }';

/** The baseline: mutations commit without their events (benchmark only, injected). */
const NO_AUDIT: AuditAppender = { append: () => Promise.resolve() };

type Audit = 'on' | 'off';
interface Config {
  readonly audit: Audit;
  readonly tenants: number;
}
interface Result extends Config {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuMs: number;
  readonly errors: number;
}

async function measure(config: Config): Promise<Result> {
  const keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const gatehouse = await createGatehouse(
    benchConfig(keysDir),
    config.audit === 'off' ? { auditAppender: NO_AUDIT } : {},
  );
  try {
    await gatehouse.listen();
    const key = await ensureDevSigningKey(keysDir);
    const tenants: TestTenant[] = [];
    for (let i = 0; i < config.tenants; i++)
      tenants.push(await createTestTenant(gatehouse.database, 2));
    await gatehouse.relay.drain();
    const requests = await Promise.all(
      tenants.map(async (t) => ({
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await mintDevToken(key, { subject: t.users[0]!.subject, tenantId: t.id, ttlSeconds: 3600 })}`,
        },
        body: JSON.stringify({ query: CREATE }),
      })),
    );
    const url = `${gatehouse.url}/graphql`;
    await runLoad({ url, connections: CONNECTIONS, seconds: 2, requests });
    const cpuBefore = process.cpuUsage();
    const load = await runLoad({ url, connections: CONNECTIONS, seconds: SECONDS, requests });
    const cpu = process.cpuUsage(cpuBefore);
    // Every committed workflow has its event (on), and none has (off).
    let workflows = 0;
    for (const t of tenants) {
      const [counts] = await gatehouse.database.tenants.transaction(
        { tenantId: t.id, subject: 'bench' },
        'read',
        (tx) =>
          tx.$queryRawUnsafe<Array<{ workflows: number; events: number }>>(
            `select (select count(*)::int from workflows where tenant_id = $1::uuid) as workflows,
                    (select count(*)::int from audit_events where tenant_id = $1::uuid
                      and action = 'workflow.create' and outcome = 'SUCCEEDED') as events`,
            t.id,
          ),
      );
      const expected = config.audit === 'on' ? counts!.workflows : 0;
      if (counts!.events !== expected) {
        throw new Error(
          `audit ${config.audit}: ${counts!.workflows} workflows, ${counts!.events} events`,
        );
      }
      workflows += counts!.workflows;
    }
    if (workflows === 0) throw new Error(`audit ${config.audit}: no workflow was created`);
    return {
      ...config,
      rps: load.requests.average,
      p50: load.latency.p50,
      p99: load.latency.p99,
      cpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, load.requests.total),
      errors: load.errors + load.non2xx,
    };
  } finally {
    await gatehouse.stop();
    await rm(keysDir, { recursive: true, force: true });
  }
}

const CONFIGS: readonly Config[] = [
  { audit: 'off', tenants: 1 },
  { audit: 'on', tenants: 1 },
  { audit: 'off', tenants: 10 },
  { audit: 'on', tenants: 10 },
];
const runs = new Map<string, Result[]>();
const keyOf = (c: Config) => `${c.audit}/${c.tenants}`;
for (let round = 1; round <= ROUNDS; round++) {
  for (const config of CONFIGS) {
    process.stderr.write(
      `round ${round}/${ROUNDS}: createWorkflow, audit ${config.audit}, ${config.tenants} tenant(s), ${SECONDS}s…\n`,
    );
    const result = await measure(config);
    runs.set(keyOf(config), [...(runs.get(keyOf(config)) ?? []), result]);
  }
}
const medianRun = (c: Config): Result => {
  const list = [...runs.get(keyOf(c))!].sort((a, b) => a.rps - b.rps);
  return list[Math.floor((list.length - 1) / 2)]!;
};
const ratio = (tenants: number): number[] => {
  const on = runs.get(`on/${tenants}`)!;
  const off = runs.get(`off/${tenants}`)!;
  return on.map((r, i) => (r.rps / off[i]!.rps) * 100);
};
const lines = [
  `createWorkflow mutations, ${CONNECTIONS} connections, ${SECONDS}s each, ${ROUNDS} round(s) (median shown), database: ${process.env['DATABASE_URL'] ? 'PostgreSQL' : 'embedded PGlite'}`,
  '',
  '| tenants | audit | req/s | p50 ms | p99 ms | server CPU ms / request | errors |',
  '|---:|---|---:|---:|---:|---:|---:|',
  ...CONFIGS.map(medianRun).map(
    (r) =>
      `| ${r.tenants} | ${r.audit} | ${r.rps.toFixed(1)} | ${r.p50} | ${r.p99} | ${r.cpuMs.toFixed(2)} | ${r.errors} |`,
  ),
  '',
  ...[1, 10].map((n) => {
    const rounds = ratio(n);
    return `audit on / off, ${n} tenant(s): ${median(rounds).toFixed(0)}% (target ≥ 80%; rounds: ${rounds.map((r) => `${r.toFixed(0)}%`).join(', ')})`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
