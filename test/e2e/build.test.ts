/**
 * `npm run build` compiles the server to JavaScript and `node dist/main.js` runs it without
 * tsx (production: `npm run start:prod`). Built into a directory of its own here, then run
 * as its own process with plain node — no loader hook — and asked what a client asks.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevSigningKey, mintDevToken } from '../../src/authn/devSigningKey.js';
import { DEMO_TENANTS, findDemoUser } from '../../src/demo/demoData.js';
import {
  embeddedProcessEnv,
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from '../../tools/serverProcess.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let out: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  // Inside the project (gitignored), so the built files find node_modules as dist/ does.
  await mkdir(path.join(ROOT, '.gatehouse'), { recursive: true });
  out = await mkdtemp(path.join(ROOT, '.gatehouse', 'build-test-'));
  // The built server reads these beside dist/, as in the project (and the image).
  for (const dir of ['schema', 'policies', 'prisma']) {
    await symlink(path.join(ROOT, dir), path.join(out, dir));
  }
}, 120_000);
afterAll(async () => {
  await stopServerProcess(server);
  await rm(out, { recursive: true, force: true });
});

describe('the build', () => {
  it('compiles src/ with source maps', async () => {
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    const built = spawnSync(
      tsc,
      ['-p', 'tsconfig.build.json', '--outDir', path.join(out, 'dist')],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 180_000,
      },
    );
    expect(built.stdout + built.stderr).toBe('');
    expect(built.status).toBe(0);
    expect((await stat(path.join(out, 'dist', 'main.js'))).isFile()).toBe(true);
    const map = JSON.parse(await readFile(path.join(out, 'dist', 'main.js.map'), 'utf8')) as {
      sources: string[];
    };
    expect(map.sources.some((s) => s.endsWith('src/main.ts'))).toBe(true);
  }, 180_000);

  it('runs with plain node, no tsx: ready, and a query answered', async () => {
    const keysDir = path.join(out, 'keys');
    server = await startServerProcess(
      embeddedProcessEnv({ SEED_DEMO_DATA: 'true', DEV_KEYS_DIR: keysDir }),
      { entry: path.join(out, 'dist', 'main.js'), nodeArgs: ['--enable-source-maps'] },
    );
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const alice = findDemoUser('alice')!;
    const token = await mintDevToken(await ensureDevSigningKey(keysDir), {
      subject: alice.subject,
      tenantId: DEMO_TENANTS.acme.id,
    });
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { tenant { slug } user { displayName } } }' }),
    });
    expect(await res.json()).toEqual({
      data: { me: { tenant: { slug: 'acme' }, user: { displayName: 'Alice Admin' } } },
    });
  }, 120_000);
});
