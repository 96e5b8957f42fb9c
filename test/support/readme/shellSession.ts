/**
 * One bash, like the reader's terminal: variables and functions a README block defines
 * stay for the blocks after it. Each command's stdout and stderr go to files of its own.
 *
 * Two functions stand in front of the real programs:
 * - `curl` runs the real curl with `-w '%{stderr}…%{http_code}'`, so the HTTP status of
 *   each request is known without changing what the command prints (a command's own `-w`
 *   comes later and wins);
 * - `npm` runs the walkthrough's CLIs (`token`, `tenant:create`, and `audit:tail` pointed at
 *   the test server) and refuses anything else: `npm start` is the test's own server.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CommandOutcome } from './readmeClaims.js';

const STATUS = '@readme-test-status ';

const PRELUDE = String.raw`
set -m
curl() { command curl -w '%{stderr}${STATUS}%{http_code}\n' "$@"; }
npm() {
  local script="$2"; [ "$2" = -s ] && script="$3"
  case "$1:$script" in
    run:token|run:tenant:create) command npm "$@" ;;
    run:audit:tail) command npm "$@" --url "$GATEHOUSE_WS_URL" ;;
    *) echo "readme test: npm $* is not run here" >&2; return 127 ;;
  esac
}
`;

export interface BackgroundCommand {
  /** What it printed so far (and its exit code once stopped, else -1). */
  outcome(): Promise<CommandOutcome>;
  /** Whether anything of it still runs (its process group). */
  running(): boolean;
  /** Interrupts it (SIGINT to its process group, as Ctrl-C would) and waits for its end. */
  stop(): Promise<void>;
}

function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export class ShellSession {
  readonly #bash: ChildProcessWithoutNullStreams;
  readonly #dir: string;
  /** Who waits for the reply line of each script, by the id the line starts with. */
  readonly #waiting = new Map<number, (reply: string) => void>();
  #next = 0;

  private constructor(bash: ChildProcessWithoutNullStreams, dir: string) {
    this.#bash = bash;
    this.#dir = dir;
    createInterface({ input: bash.stdout }).on('line', (line) => {
      const [id, ...reply] = line.split(' ');
      this.#waiting.get(Number(id))?.(reply.join(' '));
    });
  }

  static async start(env: NodeJS.ProcessEnv, cwd: string): Promise<ShellSession> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-readme-'));
    const bash = spawn('bash', ['--norc', '--noprofile'], { cwd, env, stdio: 'pipe' });
    const session = new ShellSession(bash, dir);
    const prelude = await session.run(PRELUDE);
    if (prelude.exit !== 0) throw new Error(`the shell prelude failed: ${prelude.err}`);
    return session;
  }

  /**
   * Sends a script that ends by printing `<id> <reply>` and waits for that line. Scripts
   * run one after another (bash reads them in order); a late reply to one that timed out
   * is dropped.
   */
  #send(id: number, script: string, timeoutMs: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no answer within ${timeoutMs} ms to:\n${script}`));
      }, timeoutMs);
      this.#waiting.set(id, (reply) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(reply);
      });
      this.#bash.stdin.write(script);
    });
  }

  async #read(id: number, exit: number): Promise<CommandOutcome> {
    const [out, err] = await Promise.all(
      ['out', 'err'].map((f) => readFile(path.join(this.#dir, `${id}.${f}`), 'utf8')),
    );
    const errLines = (err ?? '').split('\n');
    const statuses = errLines
      .filter((l) => l.startsWith(STATUS))
      .map((l) => Number(l.slice(STATUS.length)));
    const tidy = (text: string) =>
      text
        .replaceAll('\r', '')
        .split('\n')
        .map((l) => l.trimEnd())
        .join('\n')
        .trim();
    return {
      out: tidy(out ?? ''),
      err: tidy(errLines.filter((l) => !l.startsWith(STATUS)).join('\n')),
      exit,
      statuses,
    };
  }

  #redirect(id: number): string {
    const file = (f: string) => quote(path.join(this.#dir, `${id}.${f}`));
    return `</dev/null >${file('out')} 2>${file('err')}`;
  }

  /** Runs `text` (one command or setup line) to its end. */
  async run(text: string, timeoutMs = 60_000): Promise<CommandOutcome> {
    const id = this.#next++;
    const reply = await this.#send(
      id,
      `{ ${text}\n} ${this.#redirect(id)}\nprintf '${id} %d\\n' "$?"\n`,
      timeoutMs,
    );
    return this.#read(id, Number(reply));
  }

  /** Starts `text` as a job of its own, as in a second terminal with the same variables. */
  async background(text: string): Promise<BackgroundCommand> {
    const id = this.#next++;
    const pid = Number(
      await this.#send(
        id,
        `{ ${text}\n} ${this.#redirect(id)} &\nprintf '${id} %d\\n' "$!"\n`,
        10_000,
      ),
    );
    let exit = -1;
    return {
      outcome: () => this.#read(id, exit),
      running: () => {
        try {
          process.kill(-pid, 0);
          return true;
        } catch {
          return false;
        }
      },
      stop: async () => {
        try {
          process.kill(-pid, 'SIGINT');
        } catch {
          // Already ended.
        }
        const waited = this.#next++;
        const end = await this.#send(
          waited,
          `wait ${pid}; printf '${waited} %d\\n' "$?"\n`,
          10_000,
        ).catch(() => {
          process.kill(-pid, 'SIGKILL');
          return '-1';
        });
        exit = Number(end);
      },
    };
  }

  /** `export NAME=value` in the session, for the commands after it. */
  async export(vars: Readonly<Record<string, string>>): Promise<void> {
    const line = Object.entries(vars)
      .map(([k, v]) => `export ${k}=${quote(v)}`)
      .join('; ');
    const outcome = await this.run(line);
    if (outcome.exit !== 0) throw new Error(`export failed: ${outcome.err}`);
  }

  async close(): Promise<void> {
    this.#bash.stdin.end();
    if (this.#bash.exitCode === null) await new Promise((r) => this.#bash.once('exit', r));
    await rm(this.#dir, { recursive: true, force: true });
  }
}
