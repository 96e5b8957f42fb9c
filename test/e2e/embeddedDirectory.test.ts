/**
 * The embedded database is one process's (issue 13's data-loss bug): `npm start` twice on
 * one PGLITE_DATA_DIR used to start twice, each seeing only its own writes, and the one
 * that stopped last lost the other's. Now the second process, and every CLI that opens
 * the directory while a server runs, is refused with a message naming the holder; once the
 * server stops they run, and what each wrote is there for the next.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevSigningKey, mintDevToken } from '../../src/authn/devSigningKey.js';
import {
  embeddedProcessEnv,
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from '../../tools/serverProcess.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let root: string;
let env: Record<string, string | undefined>;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-embedded-'));
  env = embeddedProcessEnv({
    PGLITE_DATA_DIR: path.join(root, 'pgdata'),
    DEV_KEYS_DIR: path.join(root, 'keys'),
  });
});
afterAll(async () => {
  await Promise.all(servers.map(stopServerProcess));
  await rm(root, { recursive: true, force: true });
});

/** A CLI of the project, as `npm run` runs it, on the same directory. */
function cli(script: string, args: readonly string[] = []) {
  const merged = Object.entries({ ...process.env, ...env }).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: Object.fromEntries(merged),
    encoding: 'utf8',
    timeout: 120_000,
  });
}

const TENANT = ['--slug', 'initech', '--name', 'Initech', '--admin-subject', 'idp|peter'];
const ADMIN = ['--admin-email', 'peter@initech.example', '--admin-name', 'Peter'];

describe('an embedded data directory', () => {
  it('serves one process at a time: a second server and the CLIs are refused while it runs', async () => {
    const first = await startServerProcess(env);
    servers.push(first);
    const pid = first.child.pid!;
    await expect(startServerProcess(env)).rejects.toThrow(`in use by process ${pid}`);
    for (const [script, args] of [
      ['src/cli/tenantCreate.ts', [...TENANT, ...ADMIN]],
      ['src/cli/authzOutbox.ts', []],
      ['src/cli/dbMigrate.ts', []],
      ['src/cli/devReset.ts', []],
    ] as const) {
      const run = cli(script, args);
      expect(run.status, script).toBe(1);
      expect(run.stderr, script).toContain(`in use by process ${pid}`);
      expect(run.stdout, script).not.toContain('created tenant');
    }
    // The server was not disturbed.
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    await stopServerProcess(first);
  });

  it('hands over once the server stopped: what the CLI wrote is there for the next server', async () => {
    const created = cli('src/cli/tenantCreate.ts', [...TENANT, ...ADMIN]);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const tenantId = /carry "([0-9a-f-]{36})"/.exec(created.stdout)?.[1];
    expect(tenantId).toBeDefined();
    const server = await startServerProcess(env);
    servers.push(server);
    const key = await ensureDevSigningKey(env['DEV_KEYS_DIR']!);
    const token = await mintDevToken(key, { subject: 'idp|peter', tenantId: tenantId! });
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { tenant { slug } user { roles } } }' }),
    });
    expect(await res.json()).toEqual({
      data: { me: { tenant: { slug: 'initech' }, user: { roles: ['ADMIN', 'MEMBER'] } } },
    });
    await stopServerProcess(server);
  });

  it('takes over after a server was killed (kill -9 leaves its lock behind)', async () => {
    const server = await startServerProcess(env);
    servers.push(server);
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGKILL');
    await exited;
    const next = await startServerProcess(env);
    servers.push(next);
    expect((await fetch(`${next.url}/readyz`)).status).toBe(200);
    await stopServerProcess(next);
  });

  it('dev:reset starts it over once no process holds it; the walkthrough can run again', () => {
    const dir = env['PGLITE_DATA_DIR']!;
    // initech exists from the tests above: its slug is taken.
    expect(cli('src/cli/tenantCreate.ts', [...TENANT, ...ADMIN]).status).not.toBe(0);
    const reset = cli('src/cli/devReset.ts');
    expect(reset.stderr).toBe('');
    expect(reset.status).toBe(0);
    expect(reset.stdout).toContain(`removed ${dir}`);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${dir}.lock`)).toBe(false);
    // A new database: the slug is free again, and the keys were kept.
    const again = cli('src/cli/tenantCreate.ts', [...TENANT, ...ADMIN]);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    expect(existsSync(env['DEV_KEYS_DIR']!)).toBe(true);
  });

  it('dev:reset never touches PostgreSQL', () => {
    const refused = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/devReset.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
      encoding: 'utf8',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('embedded development database only');
  });
});
