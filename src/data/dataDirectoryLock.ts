/**
 * One process at a time on an embedded database directory. PGlite is PostgreSQL compiled
 * to wasm inside this process: two processes on one directory each keep their own buffers
 * and WAL, see only their own writes, and the one that stops last overwrites the other's —
 * committed data lost. So whatever opens the directory (the server, `db:check`,
 * `authz:outbox`, `tenant:create`, …) first takes `<dir>.lock`: created whole or not at all
 * (writeFileOnce), naming the process that holds it. A second process is refused with the
 * holder's pid and command; a lock whose process is gone (killed, the machine restarted)
 * is taken over. Several processes on one database: PostgreSQL (DATABASE_URL).
 */
import { readFile, rm } from 'node:fs/promises';
import { readFileSync, rmSync } from 'node:fs';
import { writeFileOnce } from '../writeFileOnce.js';

/** The directory is held by another process that is still running. */
export class DataDirectoryLockedError extends Error {
  override readonly name = 'DataDirectoryLockedError';
}

interface Holder {
  readonly pid: number;
  readonly command: string;
  readonly since: string;
}

export interface DataDirectoryLock {
  readonly file: string;
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): Promise<void>;
}

function parseHolder(text: string): Holder | null {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const { pid, command, since } = value;
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0
      ? {
          pid,
          command: typeof command === 'string' ? command : '',
          since: typeof since === 'string' ? since : '',
        }
      : null;
  } catch {
    return null;
  }
}

/** Whether `pid` is a running process (EPERM: it runs, as another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ours(file: string): boolean {
  try {
    return parseHolder(readFileSync(file, 'utf8'))?.pid === process.pid;
  } catch {
    return false;
  }
}

export async function lockDataDirectory(dataDir: string): Promise<DataDirectoryLock> {
  const file = `${dataDir.replace(/\/+$/, '')}.lock`;
  const me: Holder = {
    pid: process.pid,
    command: process.argv.slice(1).join(' ').slice(0, 500),
    since: new Date().toISOString(),
  };
  let tookOver = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await writeFileOnce(file, JSON.stringify(me))) {
      if (tookOver) {
        // Two processes may take over one stale lock at once, the second removing the
        // first's new one: whoever no longer finds their own lock a moment later yields.
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (!ours(file)) continue;
      }
      // A process that exits without closing the database (a CLI's process.exit) leaves
      // no lock behind; one that is killed leaves a stale one, taken over next time.
      const onExit = () => {
        if (ours(file)) rmSync(file, { force: true });
      };
      process.once('exit', onExit);
      return {
        file,
        async release() {
          process.removeListener('exit', onExit);
          if (ours(file)) await rm(file, { force: true });
        },
      };
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // just released
      throw error;
    }
    const holder = parseHolder(text);
    if (holder && holder.pid !== process.pid && running(holder.pid)) {
      throw new DataDirectoryLockedError(
        `the embedded database ${dataDir} is in use by process ${holder.pid} ` +
          `(${holder.command || 'unknown command'}, since ${holder.since}): one process at a ` +
          `time may open it — stop that one first, or run several processes on PostgreSQL ` +
          `(DATABASE_URL). If no such process runs, remove ${file}.`,
      );
    }
    if (holder?.pid === process.pid) {
      throw new DataDirectoryLockedError(
        `the embedded database ${dataDir} is already open in this process`,
      );
    }
    // Its process is gone (or the file is not a lock of ours): take it over.
    await rm(file, { force: true });
    tookOver = true;
  }
  throw new DataDirectoryLockedError(`could not lock the embedded database ${dataDir}`);
}
