/**
 * `npm start`'s entry point as a real process: it starts on the embedded database, serves
 * GraphQL, refuses an unsafe production configuration naming the variable, and exits 0 on
 * SIGTERM after a graceful stop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const tsx = path.resolve('node_modules/.bin/tsx');
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

  it('starts, answers, and exits 0 on SIGTERM', async () => {
    const keys = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-main-'));
    dirs.push(keys);
    const child = spawn(tsx, ['src/main.ts'], {
      env: { ...baseEnv, DEV_KEYS_DIR: keys },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
