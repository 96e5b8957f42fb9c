/**
 * `npm start`'s entry point as a real process: it starts on the embedded database, serves
 * GraphQL, reloads its policies on SIGHUP, refuses an unsafe production configuration
 * naming the variable, and exits 0 on SIGTERM after a graceful stop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
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
});
