/**
 * Remote SpiceDB across a network uses TLS (config: plaintext only on loopback), proven
 * with the real SpiceDB server (test/support/spiceDbServer.ts) serving TLS on this
 * machine's non-loopback address, and the real Gatehouse server process:
 * - a certificate from a CA the server trusts: it starts, writes its schema and checks
 *   relationships over TLS;
 * - a certificate it does not trust, or a plaintext server: it refuses to start — it never
 *   falls back to plaintext or skips verification.
 * The test CA and the server certificate (with the address as IP SAN) are made with
 * openssl for this run. The server trusts the CA through GRPC_DEFAULT_SSL_ROOTS_FILE_PATH,
 * grpc-js's own setting for its root certificates.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpiceDbServer, type SpiceDbServer } from '../../tools/spicedbServer.js';

const KEY = 'tls-test-preshared-key';
const BIN = path.resolve('node_modules/.bin');

/** This machine's first non-loopback IPv4 address (what a network client would use). */
function networkAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

const address = networkAddress();

function openssl(args: readonly string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A CA, and a server certificate it signed for `ip`. */
async function makeCertificates(dir: string, ip: string): Promise<void> {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=Gatehouse test CA',
    ].concat(['-keyout', 'ca.key', '-out', 'ca.pem']),
    dir,
  );
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=spicedb'].concat([
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ]),
    dir,
  );
  await writeFile(path.join(dir, 'san.ext'), `subjectAltName=IP:${ip}\n`);
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key'].concat([
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'server.pem',
    ]),
    dir,
  );
}

interface Started {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `npm start`'s entry point against the SpiceDB server; rejects with its output if it exits. */
function startServer(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise<Started>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/[^\s]+)\/graphql/.exec(output);
      if (match?.[1]) {
        resolve({
          url: match[1],
          stop: () =>
            new Promise<void>((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) =>
      reject(Object.assign(new Error(`exited with ${String(code)}`), { output })),
    );
  });
}

/** Starts the server expecting it to refuse: its exit as an error with its output. */
async function startFailure(env: NodeJS.ProcessEnv): Promise<Error & { output?: string }> {
  try {
    const started = await startServer(env);
    await started.stop();
  } catch (error) {
    return error as Error & { output?: string };
  }
  throw new Error('the server started');
}

describe.runIf(address)('remote SpiceDB over TLS (not loopback)', () => {
  const ip = address!;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const servers: SpiceDbServer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-tls-'));
    await makeCertificates(dir, ip);
    env = {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      PGLITE_DATA_DIR: 'memory://',
      PORT: '0',
      HOST: '127.0.0.1',
      DEV_KEYS_DIR: dir,
      POLICY_WATCH: 'false',
      SPICEDB_PRESHARED_KEY: KEY,
    };
    delete env['DATABASE_URL'];
    delete env['DATABASE_OWNER_URL'];
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  const spicedbOn = async (tls: boolean) => {
    const server = await startSpiceDbServer({
      host: ip,
      presharedKeys: [KEY],
      ...(tls
        ? {
            tls: {
              certPath: path.join(dir, 'server.pem'),
              keyPath: path.join(dir, 'server.key'),
            },
          }
        : {}),
    });
    servers.push(server);
    return server;
  };

  it('verifies the certificate against the trusted CA and checks relationships over TLS', async () => {
    const spicedb = await spicedbOn(true);
    const server = await startServer({
      ...env,
      SPICEDB_ENDPOINT: spicedb.endpoint,
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: path.join(dir, 'ca.pem'),
    });
    try {
      expect(await spicedb.calls('ReadSchema')).toBeGreaterThan(0);
      const token = spawnSync(path.join(BIN, 'tsx'), ['src/cli/token.ts', 'alice'], {
        encoding: 'utf8',
        env: { ...env },
      }).stdout.trim();
      const checksBefore = await spicedb.calls('CheckBulkPermissions');
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ workflows(first: 5) { edges { node { name } } } }' }),
      });
      const body = (await res.json()) as {
        data?: { workflows: { edges: unknown[] } };
        errors?: unknown;
      };
      expect(body.errors).toBeUndefined();
      expect(body.data?.workflows.edges.length).toBeGreaterThan(0);
      expect(await spicedb.calls('CheckBulkPermissions')).toBeGreaterThan(checksBefore);
    } finally {
      await server.stop();
    }
  });

  it('refuses to start when the certificate is not from a trusted CA', async () => {
    const spicedb = await spicedbOn(true);
    const failed = await startFailure({ ...env, SPICEDB_ENDPOINT: spicedb.endpoint });
    expect(failed.message).toMatch(/exited with [1-9]/);
    expect(failed.output).toMatch(/unable to verify the first certificate/);
    // No call got past the handshake: nothing reached SpiceDB.
    expect(await spicedb.calls('ReadSchema')).toBe(0);
  });

  it('never falls back to plaintext across the network', async () => {
    const plain = await spicedbOn(false);
    const failed = await startFailure({
      ...env,
      SPICEDB_ENDPOINT: plain.endpoint,
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: path.join(dir, 'ca.pem'),
    });
    expect(failed.message).toMatch(/exited with [1-9]/);
    // The client speaks TLS; the plaintext server's answer is not a TLS record.
    expect(failed.output).toMatch(/wrong version number/);
    expect(await plain.calls('ReadSchema')).toBe(0);
  });
});
