/**
 * The servers the list benchmark (bench/authzList.ts) loads: Gatehouse in one of its
 * configurations, in the benchmark's process (the authorization baselines are injected in
 * code: bench/authorizationBaselines.ts), and the PostGraphile peer in a process of its
 * own (bench/postgraphilePeer.ts). Each reports its CPU time so far (all its threads).
 */
import { spawn } from 'node:child_process';
import type { JWK } from 'jose';
import { DEFAULT_POOL } from '../src/config.js';
import { createGatehouse, type Gatehouse } from '../src/server/createGatehouse.js';
import { startSpiceDbServer, type SpiceDbServer } from '../tools/spicedbServer.js';
import { AUTHORIZATION_BASELINES, type BaselineMode } from './authorizationBaselines.js';
import { benchConfig } from './benchConfig.js';
import { ownCpuMs, processCpuMs } from './processCpu.js';

export const GATEHOUSE_MODES = [
  'off',
  'no-policy',
  'on',
  'on-server-memory',
  'on-server-postgres',
  'naive',
] as const;
export type GatehouseMode = (typeof GATEHOUSE_MODES)[number];
export type ServerName = GatehouseMode | 'postgraphile';

/** `on` against the real SpiceDB server (tools/spicedbServer.ts) instead of the embedded one. */
const SERVER_DATASTORE: Partial<Record<GatehouseMode, 'memory' | 'postgres'>> = {
  'on-server-memory': 'memory',
  'on-server-postgres': 'postgres',
};

export interface BenchServer {
  readonly name: ServerName;
  /** The GraphQL endpoint. */
  readonly endpoint: string;
  /** The server process's CPU time so far, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface GatehouseServer extends BenchServer {
  readonly gatehouse: Gatehouse;
}

export async function startGatehouse(
  mode: GatehouseMode,
  keysDir: string,
): Promise<GatehouseServer> {
  const datastore = SERVER_DATASTORE[mode];
  const spicedb: SpiceDbServer | undefined = datastore
    ? await startSpiceDbServer({ datastore })
    : undefined;
  try {
    const config = benchConfig(keysDir, {
      ...(spicedb
        ? { SPICEDB_ENDPOINT: spicedb.endpoint, SPICEDB_PRESHARED_KEY: spicedb.presharedKey }
        : {}),
      // Embedded SpiceDB calls are synchronous FFI: the naive baseline's 300 back-to-back
      // calls exceed the default 1 s deadline, which would turn it into an error benchmark.
      SPICEDB_DEADLINE_MS: '60000',
      // ...and take longer than the default 15 s transaction timeout.
      DB_TRANSACTION_TIMEOUT_MS: '120000',
    });
    const gatehouse = await createGatehouse(
      config,
      mode === 'on' || datastore
        ? {}
        : { authorization: AUTHORIZATION_BASELINES[mode as BaselineMode] },
    );
    try {
      // A fresh SpiceDB server holds no relationship yet: rebuild it from PostgreSQL, the
      // source of truth, as Gatehouse does for its embedded SpiceDB at start (the bench's
      // tenants were made before this server, through another instance's relay).
      if (datastore) await gatehouse.relay.replay();
      await gatehouse.listen();
    } catch (error) {
      await gatehouse.stop();
      throw error;
    }
    return {
      name: mode,
      endpoint: `${gatehouse.url}/graphql`,
      gatehouse,
      cpuMs: ownCpuMs,
      async stop() {
        await gatehouse.stop();
        await spicedb?.stop();
      },
    };
  } catch (error) {
    await spicedb?.stop();
    throw error;
  }
}

/**
 * Starts bench/postgraphilePeer.ts in its own process on DATABASE_URL (the app role),
 * verifying tokens against `publicJwk`, with Gatehouse's default pool size.
 */
export async function startPostGraphile(publicJwk: JWK): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/postgraphilePeer.ts'], {
    env: {
      ...process.env,
      PEER_PUBLIC_JWK: JSON.stringify(publicJwk),
      PEER_POOL_MAX: String(DEFAULT_POOL.max),
      // Grafast's production mode, said explicitly (no development checks); NODE_ENV as
      // Gatehouse's process has it (graphql-js reads it too).
      GRAPHILE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      child.stdout.off('data', onData);
      try {
        resolve((JSON.parse(out.slice(0, newline)) as { url: string }).url);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the PostGraphile peer exited (${child.exitCode})`)));
  });
  const pid = child.pid!;
  let lastCpu = 0;
  return {
    name: 'postgraphile',
    endpoint: `${url}/graphql`,
    cpuMs() {
      lastCpu = processCpuMs(pid) ?? lastCpu;
      return lastCpu;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
