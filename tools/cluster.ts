// `npm run cluster:local` (tools/cluster.ts, run with tsx): the production topology of
// deploy/compose.yaml as plain processes on this machine, for trying and testing
// replicas without a container engine:
//   - PostgreSQL: the machine's (DATABASE_ADMIN_URL; the roles and passwords of
//     DATABASE_OWNER_URL and DATABASE_URL), a database of the cluster's own, provisioned, migrated and seeded with the demo organisations by the project's CLIs;
//   - SpiceDB: the real server (tools/spicedb.ts) on its postgres datastore, in a database
//     of its own (`spicedb datastore migrate head` first);
//   - Redis: the machine's (REDIS_URL, default redis://127.0.0.1:6379), a key prefix of
//     the cluster's own, for the shared rate limits and lockouts;
//   - N Gatehouse replicas (default 2), NODE_ENV=production, each on a port of its own;
//   - nginx (Debian's package) in front, with deploy/nginx.conf made local: round robin
//     per request, WebSocket upgrades passed, `X-Forwarded-For` set (the replicas trust it
//     from loopback only), and the replica that answered named in `X-Gatehouse-Upstream`.
// Tokens come from an identity provider of the cluster's own: an ES256 key whose public
// half the replicas read as AUTH_JWKS_FILE. `npm run cluster:local` prints the URL and
// tokens for the demo users, and stops everything on Ctrl-C. Everything it starts is
// stopped by pid; its databases are dropped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { connectPostgres } from '../src/data/SqlClient.js';
import { DEMO_TENANTS, findDemoUser } from '../src/demo/demoData.js';
import { accepting, freePort } from './ports.js';
import { startServerProcess, stopServerProcess, type ServerProcess } from './serverProcess.js';
import { startSpiceDbServer, type SpiceDbServer } from './spicedbServer.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ISSUER = 'https://idp.cluster.gatehouse.test';
const AUDIENCE = 'gatehouse';

export interface ClusterOptions {
  readonly replicas?: number;
  /** More settings for every replica (budgets, log level, …). */
  readonly env?: Record<string, string>;
}

export interface Replica {
  /** The replica's own URL (behind the load balancer, for tests and metrics). */
  readonly url: string;
  /** `127.0.0.1:<port>`, as nginx names it in X-Gatehouse-Upstream. */
  readonly address: string;
  readonly process: ServerProcess;
}

export interface Cluster {
  /** The load balancer's URL: what clients use. */
  readonly url: string;
  readonly replicas: Replica[];
  readonly spicedb: SpiceDbServer;
  /** The cluster's database (PostgreSQL URLs of its owner and app roles). */
  readonly database: { readonly name: string; readonly appUrl: string; readonly ownerUrl: string };
  /** A token of the cluster's identity provider for a demo user (`alice`, …). */
  token(user: string, claims?: Record<string, unknown>): Promise<string>;
  /** Another nginx with deploy/nginx.conf in front of only these replica addresses. */
  loadBalancer(upstreams: readonly string[]): Promise<{ url: string }>;
  /** Starts replica `index` again (after a kill) on the same port. */
  restartReplica(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** `url` with its database replaced by `name`. */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs one of the project's CLIs (src/cli/<name>.ts) with `env`; throws with its output. */
function cli(name: string, args: readonly string[], env: NodeJS.ProcessEnv): void {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'src', 'cli', `${name}.ts`), ...args],
    { cwd: root, env, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr}${result.stdout}`);
}

/**
 * deploy/nginx.conf — the load balancer of deploy/compose.yaml — made local: its upstream
 * servers become `upstreams`, it listens on 127.0.0.1:`port`, and its pid, log and
 * temporary files live in `dir`. Everything else (WebSocket upgrade, failover, headers,
 * timeouts) is the file's own.
 */
export function localNginxConfig(
  deployed: string,
  dir: string,
  port: number,
  upstreams: readonly string[],
): string {
  const servers = /^(\s*)server gatehouse-\d+:4000( [^;]*);\n/gm;
  const first = servers.exec(deployed);
  if (!first) throw new Error('deploy/nginx.conf: no `server gatehouse-N:4000` lines');
  const [, indent, options] = first;
  const local = upstreams.map((u) => `${indent!}server ${u}${options!};\n`).join('');
  let replaced = false;
  const config = deployed
    .replace(servers, () => (replaced ? '' : ((replaced = true), local)))
    .replace(/^(\s*)listen 8080;/m, `$1listen 127.0.0.1:${port};`)
    .replace(/^worker_processes .*;/m, 'worker_processes 1;')
    .replace(/^error_log .*;/m, `error_log ${dir}/nginx-error.log warn;`)
    .replace(/^pid .*;/m, `pid ${dir}/nginx.pid;`)
    .replace(
      /^http \{/m,
      `http {\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((t) => `  ${t}_temp_path ${dir}/nginx-${t};`)
        .join('\n')}`,
    );
  if (!config.includes(`listen 127.0.0.1:${port};`)) {
    throw new Error('deploy/nginx.conf: no `listen 8080;`');
  }
  return config;
}

async function startNginx(dir: string, port: number, upstreams: readonly string[]) {
  const conf = path.join(dir, 'nginx.conf');
  const deployed = await readFile(path.join(root, 'deploy', 'nginx.conf'), 'utf8');
  await writeFile(conf, localNginxConfig(deployed, dir, port, upstreams));
  const bin = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (stderr += String(error)));
  const deadline = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start (Debian package nginx): ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  // The roles are the machine's, shared by every database of this PostgreSQL server: their
  // passwords are the caller's (db:setup sets them), so nothing else is locked out.
  const need = (name: string): string => {
    const value = process.env[name];
    if (!value) {
      throw new Error(
        `${name} is not set: the cluster needs DATABASE_ADMIN_URL, DATABASE_OWNER_URL and DATABASE_URL (see "Running on PostgreSQL"); it makes a database of its own with those roles`,
      );
    }
    return value;
  };
  const admin = need('DATABASE_ADMIN_URL');
  const name = `gatehouse_cluster_${randomBytes(4).toString('hex')}`;
  const ownerUrl = withDatabase(need('DATABASE_OWNER_URL'), name);
  const appUrl = withDatabase(need('DATABASE_URL'), name);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-cluster-'));
  const cleanups: Array<() => Promise<void>> = [
    () => rm(dir, { recursive: true, force: true }),
    async () => {
      const sql = await connectPostgres(admin);
      try {
        await sql.exec(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.close();
      }
    },
  ];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) =>
        process.stderr.write(`cluster stop: ${String(error)}\n`),
      );
    }
  };

  try {
    // Secrets of this cluster, never written outside its directory.
    const { privateKey: jwtKey, publicKey: jwtPublic } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(jwtPublic)), kid: 'cluster-1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    const auditKey = generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'der', type: 'pkcs8' })
      .toString('base64');
    const secrets = {
      CREDENTIAL_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      API_KEY_PEPPER: randomBytes(32).toString('base64'),
      AUDIT_SIGNING_KEY: auditKey,
    };

    const dbEnv = {
      ...process.env,
      DATABASE_ADMIN_URL: admin,
      DATABASE_OWNER_URL: ownerUrl,
      DATABASE_URL: appUrl,
      ...secrets,
    };
    cli('dbSetup', ['--recreate'], dbEnv);
    cli('dbMigrate', [], dbEnv);
    cli('dbSeed', [], dbEnv);

    const spicedb = await startSpiceDbServer({ datastore: 'postgres' });
    cleanups.push(() => spicedb.stop());

    const count = options.replicas ?? 2;
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const replicaEnv = (port: number): Record<string, string | undefined> => ({
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: appUrl,
      DATABASE_OWNER_URL: undefined,
      DATABASE_ADMIN_URL: undefined,
      DB_APPLICATION_NAME: `gatehouse-${port}`,
      AUTH_JWKS_FILE: jwksFile,
      AUTH_JWKS_URL: undefined,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      SPICEDB_ENDPOINT: spicedb.endpoint,
      SPICEDB_PRESHARED_KEY: spicedb.presharedKey,
      REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      RATE_LIMIT_REDIS_PREFIX: `${name}:`,
      TRUST_PROXY: '127.0.0.1',
      POLICY_WATCH: 'false',
      ...secrets,
      ...options.env,
    });
    const startReplica = (port: number) => startServerProcess(replicaEnv(port));
    const replicas: Replica[] = await Promise.all(
      ports.map(async (port) => {
        const process = await startReplica(port);
        return { url: process.url, address: `127.0.0.1:${port}`, process };
      }),
    );
    cleanups.push(() => Promise.all(replicas.map((r) => stopServerProcess(r.process))).then());

    const lbPort = await freePort();
    const nginx = await startNginx(
      dir,
      lbPort,
      replicas.map((r) => r.address),
    );
    cleanups.push(() => nginx.stop());

    return {
      url: `http://127.0.0.1:${lbPort}`,
      replicas,
      spicedb,
      database: { name, appUrl, ownerUrl },
      async token(user, claims = {}) {
        const demo = findDemoUser(user);
        if (!demo) throw new Error(`unknown demo user ${user}`);
        return new SignJWT({
          tenant_id: DEMO_TENANTS[demo.tenant].id,
          roles: demo.roles,
          ...claims,
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'cluster-1' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject(demo.subject)
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(jwtKey);
      },
      async loadBalancer(upstreams) {
        const port = await freePort();
        const own = await mkdtemp(path.join(dir, 'lb-'));
        const lb = await startNginx(own, port, upstreams);
        cleanups.push(() => lb.stop());
        return { url: `http://127.0.0.1:${port}` };
      },
      async restartReplica(index) {
        const replica = replicas[index]!;
        await stopServerProcess(replica.process);
        const port = Number(replica.address.split(':')[1]);
        replicas[index] = { ...replica, process: await startReplica(port) };
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const replicas = Number(process.env['CLUSTER_REPLICAS'] ?? '2');
  process.stderr.write(`starting PostgreSQL database, SpiceDB, ${replicas} replicas, nginx…\n`);
  const cluster = await startCluster({ replicas }).catch((error: unknown) => {
    process.stderr.write(
      `cluster:local: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
  const tokens = await Promise.all(
    ['alice', 'bob', 'erin'].map(async (u) => `  ${u}: ${await cluster.token(u)}`),
  );
  process.stdout.write(
    [
      `Gatehouse cluster at ${cluster.url}/graphql (nginx → ${cluster.replicas.map((r) => r.address).join(', ')})`,
      `SpiceDB ${cluster.spicedb.endpoint} (postgres datastore), database ${cluster.database.name}`,
      'tokens (1 h):',
      ...tokens,
      'Ctrl-C stops everything and drops the databases.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
