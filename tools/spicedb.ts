// `npm run spicedb:build` | `npm run spicedb:serve` (tools/spicedb.ts, run with tsx)
//   build: builds the SpiceDB server pinned in tools/spicedb/go.mod (`tool` directive) into
//          .tools/bin/spicedb, unless it is already there and newer than the pin. The first
//          build takes about five minutes; Go's module and build caches make later ones fast.
//   serve: runs it as a development cluster of one: in-memory datastore, gRPC on
//          SPICEDB_GRPC_ADDR (default 127.0.0.1:50051), preshared key SPICEDB_PRESHARED_KEY.
// Its own Go module: SpiceDB's dependencies must not move the OPA CLI's (tools/go.mod).
import { execFileSync } from 'node:child_process';
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

/** The arguments of a SpiceDB server for development and tests (memory datastore, no extras). */
export function serveArgs(options: { grpcAddr: string; presharedKey: string }): string[] {
  return [
    'serve',
    '--grpc-addr',
    options.grpcAddr,
    '--grpc-preshared-key',
    options.presharedKey,
    '--datastore-engine',
    'memory',
    '--http-enabled=false',
    '--metrics-enabled=false',
    '--dispatch-cluster-enabled=false',
    '--telemetry-endpoint=',
    '--skip-release-check',
    '--log-level',
    'warn',
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const command = process.argv[2];
  if (command === 'build') {
    buildSpiceDb();
  } else if (command === 'serve') {
    const presharedKey = process.env['SPICEDB_PRESHARED_KEY'];
    if (!presharedKey) throw new Error('set SPICEDB_PRESHARED_KEY (the key Gatehouse will send)');
    serveForeground(
      buildSpiceDb(),
      serveArgs({ grpcAddr: process.env['SPICEDB_GRPC_ADDR'] ?? '127.0.0.1:50051', presharedKey }),
    );
  } else {
    process.stderr.write('usage: tsx tools/spicedb.ts build|serve\n');
    process.exit(2);
  }
}
