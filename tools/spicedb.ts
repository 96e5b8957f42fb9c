// `npm run spicedb:build` | `spicedb:serve` | `spicedb:migrate` (tools/spicedb.ts, run with tsx)
//   build:   builds the SpiceDB server pinned in tools/spicedb/go.mod (`tool` directive) into
//            .tools/bin/spicedb, unless it is already there and newer than the pin. The first
//            build takes about five minutes; Go's module and build caches make later ones fast.
//   serve:   runs it as a cluster of one: gRPC on SPICEDB_GRPC_ADDR (default 127.0.0.1:50051),
//            preshared key(s) SPICEDB_PRESHARED_KEY (comma-separated while rotating); the
//            postgres datastore when SPICEDB_DATASTORE_CONN_URI is set (after `migrate`),
//            else the in-memory one.
//   migrate: `spicedb datastore migrate head` on SPICEDB_DATASTORE_CONN_URI.
// Its own Go module: SpiceDB's dependencies must not move the OPA CLI's (tools/go.mod).
// The datastore URI carries a password: it goes to SpiceDB through its environment
// (SPICEDB_DATASTORE_CONN_URI, which SpiceDB reads itself), never on a command line.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findGo, serveForeground } from './goTool.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const module = path.join(root, 'tools', 'spicedb');
export const SPICEDB_BIN = path.join(root, '.tools', 'bin', 'spicedb');

export function buildSpiceDb(): string {
  const pin = Math.max(
    statSync(path.join(module, 'go.mod')).mtimeMs,
    statSync(path.join(module, 'go.sum')).mtimeMs,
  );
  if (existsSync(SPICEDB_BIN) && statSync(SPICEDB_BIN).mtimeMs >= pin) return SPICEDB_BIN;
  process.stderr.write('building the SpiceDB server (tools/spicedb/go.mod)…\n');
  execFileSync(
    findGo('the SpiceDB server'),
    ['build', '-o', SPICEDB_BIN, 'github.com/authzed/spicedb/cmd/spicedb'],
    {
      cwd: module,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return SPICEDB_BIN;
}

export interface ServeOptions {
  readonly grpcAddr: string;
  /** The keys clients may send; more than one while a key is being rotated. */
  readonly presharedKeys: readonly string[];
  /** Serve gRPC over TLS with this certificate chain and key (PEM files). */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  /** Serve Prometheus metrics (per-method gRPC counts) on this address; off when absent. */
  readonly metricsAddr?: string;
  /** The postgres datastore (its URI in SPICEDB_DATASTORE_CONN_URI); memory when false. */
  readonly postgres?: boolean;
}

/** The arguments of a SpiceDB server of one (no dispatch cluster, no telemetry, no HTTP). */
export function serveArgs(options: ServeOptions): string[] {
  return [
    'serve',
    '--grpc-addr',
    options.grpcAddr,
    `--grpc-preshared-key=${options.presharedKeys.join(',')}`,
    '--datastore-engine',
    options.postgres ? 'postgres' : 'memory',
    ...(options.tls
      ? ['--grpc-tls-cert-path', options.tls.certPath, '--grpc-tls-key-path', options.tls.keyPath]
      : []),
    ...(options.metricsAddr
      ? ['--metrics-enabled=true', '--metrics-addr', options.metricsAddr]
      : ['--metrics-enabled=false']),
    '--http-enabled=false',
    '--dispatch-cluster-enabled=false',
    '--telemetry-endpoint=',
    '--skip-release-check',
    '--log-level',
    'warn',
  ];
}

/** `spicedb datastore migrate head` on the postgres datastore at `uri`. */
export function migrateSpiceDb(uri: string): void {
  // (Its log has error lines on a new database — the version table it then creates — so
  // it is shown only when the migration fails.)
  const result = spawnSync(
    buildSpiceDb(),
    ['datastore', 'migrate', 'head', '--datastore-engine', 'postgres', '--skip-release-check'],
    { env: { ...process.env, SPICEDB_DATASTORE_CONN_URI: uri }, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`spicedb datastore migrate failed: ${result.stderr}${result.stdout}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const command = process.argv[2];
  const uri = process.env['SPICEDB_DATASTORE_CONN_URI'];
  if (command === 'build') {
    buildSpiceDb();
  } else if (command === 'migrate') {
    if (!uri) throw new Error('set SPICEDB_DATASTORE_CONN_URI (postgres://…, its own database)');
    migrateSpiceDb(uri);
  } else if (command === 'serve') {
    const keys = (process.env['SPICEDB_PRESHARED_KEY'] ?? '').split(',').filter(Boolean);
    if (keys.length === 0) {
      throw new Error('set SPICEDB_PRESHARED_KEY (the key Gatehouse will send)');
    }
    serveForeground(
      buildSpiceDb(),
      serveArgs({
        grpcAddr: process.env['SPICEDB_GRPC_ADDR'] ?? '127.0.0.1:50051',
        presharedKeys: keys,
        postgres: Boolean(uri),
      }),
    );
  } else {
    process.stderr.write('usage: tsx tools/spicedb.ts build|serve|migrate\n');
    process.exit(2);
  }
}
