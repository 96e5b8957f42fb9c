/**
 * One process at a time on an embedded database directory (src/data/dataDirectoryLock.ts):
 * two processes on one PGlite directory would each see only their own writes and the last
 * to stop would lose the other's. Here against real PGlite directories and real processes;
 * test/e2e/embeddedDirectory.test.ts starts `npm start` and the CLIs against a running server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirectoryLockedError, lockDataDirectory } from '../../src/data/dataDirectoryLock.js';
import { openDatabase } from '../../src/data/openDatabase.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function dataDir(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-lock-'));
  dirs.push(root);
  return path.join(root, 'pgdata');
}

const open = (dir: string) =>
  openDatabase({ kind: 'embedded', dataDir: dir }, { transactionTimeoutMs: 10_000 });

describe('the embedded data directory lock', () => {
  it('refuses a second opening of a directory, and frees it on close', async () => {
    const dir = await dataDir();
    const first = await open(dir);
    await expect(open(dir)).rejects.toThrow(DataDirectoryLockedError);
    const lock = JSON.parse(await readFile(`${dir}.lock`, 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    await first.close();
    await expect(readFile(`${dir}.lock`, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await open(dir);
    await again.close();
  });

  it('names the live process that holds it, and leaves its lock alone', async () => {
    const dir = await dataDir();
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const text = JSON.stringify({ pid: holder.pid, command: 'sleep 30', since: 'now' });
      await writeFile(`${dir}.lock`, text);
      const refusal = lockDataDirectory(dir);
      await expect(refusal).rejects.toThrow(DataDirectoryLockedError);
      await expect(refusal).rejects.toThrow(`in use by process ${holder.pid} (sleep 30`);
      expect(await readFile(`${dir}.lock`, 'utf8')).toBe(text);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that is gone (killed, or a restart)', async () => {
    const dir = await dataDir();
    const gone = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout.trim());
    await writeFile(
      `${dir}.lock`,
      JSON.stringify({ pid: deadPid, command: 'npm start', since: 'x' }),
    );
    const db = await open(dir);
    expect((JSON.parse(await readFile(`${dir}.lock`, 'utf8')) as { pid: number }).pid).toBe(
      process.pid,
    );
    await db.close();
    // A file that is not a lock at all is taken over too.
    await writeFile(`${dir}.lock`, 'garbage');
    const lock = await lockDataDirectory(dir);
    await lock.release();
  });

  it('never locks an in-memory database', async () => {
    const a = await open('memory://');
    const b = await open('memory://');
    await Promise.all([a.close(), b.close()]);
  });
});
