/**
 * CPU time of the processes a benchmark loads, read from Linux's /proc: a server in a
 * process of its own (`/proc/<pid>/stat`, all its threads), and the PostgreSQL backends
 * connected to one database (the children of the postmaster whose process title names the
 * database: `postgres: [cluster: ]<user> <database> <host>(<port>) <state>`).
 * pg_stat_statements would need `shared_preload_libraries`, a server setting and restart no
 * benchmark should make, so the backends' own CPU time is read instead.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux). */
const TICKS_PER_SECOND = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
  /** Start time after boot, in clock ticks: with the pid, identifies the process. */
  readonly startTime: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields from 3 on: state ppid … utime(14) stime(15) … starttime(22).
  return {
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
    startTime: Number(fields[19]),
  };
}

/** CPU time (user + system, all threads) of process `pid` so far, in ms; undefined once it is gone. */
export function processCpuMs(pid: number): number | undefined {
  const stat = readStat(pid);
  return stat ? (stat.ticks * 1000) / TICKS_PER_SECOND : undefined;
}

/** CPU time of this process so far (all threads), in ms, at µs precision. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * CPU time of a single-threaded process (a PostgreSQL backend) so far, in ns: the
 * scheduler's own sum (`/proc/<pid>/schedstat`, ns precision) where the kernel has it, else
 * /proc's user + system ticks (10 ms apart, too coarse for a backend's share of a window).
 */
function singleThreadNs(pid: number, stat: ProcStat): number {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns;
  } catch {
    // No schedstat: fall back to the ticks.
  }
  return (stat.ticks * 1e9) / TICKS_PER_SECOND;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: scan every process for its parent.
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((child) => readStat(child)?.ppid === pid);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The CPU time of the client backends connected to one database, over a window. Backends
 * come and go (a pool opens and closes connections), so they are sampled every second: a
 * backend that appears counts from zero, one that exits counts up to its last sample.
 */
export class PostgresBackendCpu {
  readonly #postmaster: number;
  readonly #title: RegExp;
  /** Per backend (`pid:start`): its CPU ns at the window's start, and at the last sample. */
  #first = new Map<string, number>();
  #last = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  private constructor(postmaster: number, database: string) {
    this.#postmaster = postmaster;
    this.#title = new RegExp(` \\S+ ${escapeRegExp(database)} (\\S+\\(\\d+\\)|\\[local\\]) `);
  }

  /**
   * Finds the postmaster of `url`'s server on this machine (the parent of the backend
   * answering `pg_backend_pid()`); undefined when that backend is not a process here (a
   * database on another machine or in another PID namespace): no figure, rather than a wrong one.
   */
  static async open(url: string): Promise<PostgresBackendCpu | undefined> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number; db: string }>(
        'select pg_backend_pid() as pid, current_database() as db',
      );
      const row = rows[0];
      if (!row) return undefined;
      const stat = readStat(row.pid);
      let title = '';
      try {
        title = readFileSync(`/proc/${row.pid}/cmdline`, 'utf8');
      } catch {
        return undefined;
      }
      if (!stat || !title.includes(row.db)) return undefined;
      return new PostgresBackendCpu(stat.ppid, row.db);
    } finally {
      await client.end();
    }
  }

  #sample(): Map<string, number> {
    const now = new Map<string, number>();
    for (const pid of childrenOf(this.#postmaster)) {
      let title: string;
      try {
        title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        continue;
      }
      if (!this.#title.test(` ${title} `)) continue;
      const stat = readStat(pid);
      if (stat) now.set(`${pid}:${stat.startTime}`, singleThreadNs(pid, stat));
    }
    return now;
  }

  /** Starts a window. */
  start(): void {
    this.#first = this.#sample();
    this.#last = new Map(this.#first);
    this.#timer = setInterval(() => {
      for (const [key, ns] of this.#sample()) this.#last.set(key, ns);
    }, 1000);
  }

  /** Ends the window: the backends' CPU time in it, in ms. */
  stop(): number {
    clearInterval(this.#timer);
    for (const [key, ns] of this.#sample()) this.#last.set(key, ns);
    let ns = 0;
    for (const [key, last] of this.#last) ns += last - (this.#first.get(key) ?? 0);
    return ns / 1e6;
  }
}

/**
 * Waits until a server has finished what it was doing (e.g. requests a load generator
 * abandoned when its window closed): its CPU time grows by less than 5% of a core over two
 * consecutive 250 ms intervals. Throws after `maxWaitMs`.
 */
export async function waitUntilIdle(cpuMs: () => number, maxWaitMs = 120_000): Promise<void> {
  const interval = 250;
  const deadline = Date.now() + maxWaitMs;
  let quiet = 0;
  let before = cpuMs();
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error(`the server was still busy after ${maxWaitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, interval));
    const now = cpuMs();
    quiet = now - before < interval * 0.05 ? quiet + 1 : 0;
    before = now;
  }
}
