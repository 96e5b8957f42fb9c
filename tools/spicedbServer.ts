/**
 * The real SpiceDB server (tools/spicedb.ts, v1.56.2) as a process of the test's own, on
 * ports of its own choosing, stopped by pid:
 * - the in-memory datastore, or the postgres datastore in a database and role of its own
 *   on the machine's PostgreSQL (made from DATABASE_ADMIN_URL, migrated with `spicedb
 *   datastore migrate head`, dropped at `stop()`);
 * - gRPC plaintext on loopback, or TLS with a certificate the test made (any host);
 * - its Prometheus metrics on a port of its own, read for per-method call counts
 *   (`grpc_server_handled_total`: the server's own count of the RPCs it answered).
 * Faults are the process's own: `stall()` is SIGSTOP (a partitioned server: connections
 * stay open, nothing answers), `resume()` SIGCONT, `kill()` SIGKILL, `restart()` the same
 * server again on the same port (with the postgres datastore, the same data).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connectPostgres } from '../src/data/SqlClient.js';
import { SPICEDB_BIN, migrateSpiceDb, serveArgs } from './spicedb.js';
import { accepting, freePort } from './ports.js';

export interface SpiceDbServerOptions {
  /** `postgres`: its own database on the machine's PostgreSQL (needs DATABASE_ADMIN_URL). */
  readonly datastore?: 'memory' | 'postgres';
  /** Keys accepted (default: one random key, `presharedKey`). */
  readonly presharedKeys?: readonly string[];
  /** Listen on this host (default 127.0.0.1). */
  readonly host?: string;
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
}

export interface SpiceDbServer {
  /** `<host>:<port>` (SPICEDB_ENDPOINT). */
  readonly endpoint: string;
  /** The first accepted key. */
  readonly presharedKey: string;
  /** The postgres datastore's database name (postgres datastore only). */
  readonly database?: string;
  /** The role SpiceDB connects as (postgres datastore only). */
  readonly role?: string;
  readonly pid: () => number;
  /** RPCs the server has answered, by method (`CheckBulkPermissions`), any status. */
  calls(method: string): Promise<number>;
  /** RPCs answered with `code` (`Unauthenticated`, `OK`, …), by method. */
  callsWithCode(method: string, code: string): Promise<number>;
  stall(): void;
  resume(): void;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const ADMIN_URL = () => {
  const url = process.env['DATABASE_ADMIN_URL'];
  if (!url) throw new Error('the postgres datastore needs DATABASE_ADMIN_URL');
  return url;
};

/** A database and login role of their own for SpiceDB; returns its URI and a drop. */
async function ownDatastore(): Promise<{
  uri: string;
  database: string;
  role: string;
  drop: () => Promise<void>;
}> {
  const name = `gatehouse_spicedb_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const admin = await connectPostgres(ADMIN_URL());
  try {
    await admin.exec(`create role ${name} login password '${password}'`);
    await admin.exec(`create database ${name} owner ${name}`);
  } finally {
    await admin.close();
  }
  const url = new URL(ADMIN_URL());
  url.username = name;
  url.password = password;
  url.pathname = `/${name}`;
  url.search = '?sslmode=disable';
  return {
    uri: url.toString(),
    database: name,
    role: name,
    drop: async () => {
      const sql = await connectPostgres(ADMIN_URL());
      try {
        await sql.exec(`drop database if exists ${name} with (force)`);
        await sql.exec(`drop role if exists ${name}`);
      } finally {
        await sql.close();
      }
    },
  };
}

export async function startSpiceDbServer(
  options: SpiceDbServerOptions = {},
): Promise<SpiceDbServer> {
  const host = options.host ?? '127.0.0.1';
  const port = await freePort();
  const metricsPort = await freePort();
  const keys = options.presharedKeys ?? [randomBytes(16).toString('hex')];
  const endpoint = `${host}:${port}`;
  const store = options.datastore === 'postgres' ? await ownDatastore() : undefined;
  if (store) migrateSpiceDb(store.uri);
  const args = serveArgs({
    grpcAddr: endpoint,
    presharedKeys: keys,
    postgres: Boolean(store),
    metricsAddr: `127.0.0.1:${metricsPort}`,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const env = store ? { ...process.env, SPICEDB_DATASTORE_CONN_URI: store.uri } : process.env;

  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = async () => {
    child = spawn(SPICEDB_BIN, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    // The metrics port opens once the server is serving.
    while (!(await accepting(metricsPort))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`SpiceDB did not start: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const metric = async (method: string, code?: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith('grpc_server_handled_total{')) continue;
      if (!line.includes(`grpc_method="${method}"`)) continue;
      if (code && !line.includes(`grpc_code="${code}"`)) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  };

  try {
    await launch();
  } catch (error) {
    await store?.drop();
    throw error;
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    endpoint,
    presharedKey: keys[0]!,
    ...(store ? { database: store.database, role: store.role } : {}),
    pid: () => child.pid!,
    calls: (method) => metric(method),
    callsWithCode: (method, code) => metric(method, code),
    stall: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await store?.drop();
    },
  };
}
