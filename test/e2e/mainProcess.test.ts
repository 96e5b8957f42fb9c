/**
 * `npm start`'s entry point as a real process: it starts on the embedded database, serves
 * GraphQL, reloads its policies on SIGHUP, refuses an unsafe production configuration
 * naming the variable, and exits 0 on SIGTERM after a graceful stop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const tsx = path.resolve('node_modules/.bin/tsx');
/** As `npm start` runs it: one Node process, so signals reach the server itself. */
const start = [process.execPath, ['--import', 'tsx', 'src/main.ts']] as const;
const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  PGLITE_DATA_DIR: 'memory://',
  PORT: '0',
};
delete baseEnv.DATABASE_URL;
delete baseEnv.DATABASE_OWNER_URL;

describe('the server process', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('starts, answers, reloads policies on SIGHUP, and exits 0 on SIGTERM', async () => {
    const keys = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-main-'));
    dirs.push(keys);
    const child = spawn(start[0], start[1], {
      env: { ...baseEnv, DEV_KEYS_DIR: keys, LOG_LEVEL: 'info', POLICY_WATCH: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/[^\s]+)\/graphql/.exec(stdout);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) =>
        reject(new Error(`exited early with ${String(code)}: ${stdout}`)),
      );
    });
    expect(stdout).toContain('npm run -s token -- <user>');
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '{ health }' }),
    });
    expect(await res.json()).toEqual({ data: { health: 'ok' } });
    expect(stdout).toContain(`pid ${String(child.pid)}`);
    // SIGHUP: the policies are re-read and swapped in, and the server keeps serving.
    child.kill('SIGHUP');
    const deadline = Date.now() + 30_000;
    const logs = () => `${stdout}${stderr}`;
    while (!logs().includes('policies reloaded') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(logs()).toContain('policies reloaded');
    expect(logs()).toContain('SIGHUP');
    const again = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '{ health }' }),
    });
    expect(again.status).toBe(200);
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses to start in production with the development issuer, naming the variable', () => {
    const result = spawnSync(tsx, ['src/main.ts'], {
      env: {
        ...baseEnv,
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://gatehouse_app@127.0.0.1:1/x',
      },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('AUTH_JWKS_URL');
    expect(result.stderr).toContain('dev issuer');
  });

  /** Starts the server expecting it to refuse: its status and output. */
  function refusal(env: NodeJS.ProcessEnv): { status: number | null; output: string } {
    const result = spawnSync(start[0], start[1], {
      env: { ...baseEnv, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** No stack frame, no library's internal complaint: one line a person can act on. */
  function expectPlainRefusal(output: string): void {
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain('Internal error emitted on the WebSocket server');
  }

  it('wrong but valid settings name the variable, without a stack trace', () => {
    const closed = refusal({
      DATABASE_URL: 'postgres://gatehouse_app:do-not-print-me@127.0.0.1:1/gatehouse',
      DB_STARTUP_RETRY_MS: '300',
    });
    expect(closed.status).toBe(1);
    expect(closed.output).toContain(
      'DATABASE_URL: cannot connect to gatehouse_app@127.0.0.1:1/gatehouse: connect ECONNREFUSED',
    );
    expect(closed.output).not.toContain('do-not-print-me');
    expectPlainRefusal(closed.output);

    if (process.env['DATABASE_URL']) {
      const url = new URL(process.env['DATABASE_URL']);
      url.username = 'no_such_gatehouse_role';
      const unknown = refusal({ DATABASE_URL: url.toString() });
      expect(unknown.status).toBe(1);
      expect(unknown.output).toContain('DATABASE_URL: cannot connect to no_such_gatehouse_role@');
      expect(unknown.output).toMatch(
        /role "no_such_gatehouse_role" does not exist|password authentication failed/,
      );
      expectPlainRefusal(unknown.output);
    }
  });

  it('a port already taken is one line naming PORT (no WebSocket stack trace)', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-port-'));
      dirs.push(dir);
      const taken = refusal({ HOST: '127.0.0.1', PORT: String(port), DEV_KEYS_DIR: dir });
      expect(taken.status).toBe(1);
      expect(taken.output).toContain(`PORT: 127.0.0.1:${port} is already in use`);
      expectPlainRefusal(taken.output);
    } finally {
      holder.close();
    }
  });
});
