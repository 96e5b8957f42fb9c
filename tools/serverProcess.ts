/**
 * `npm start`'s entry point (src/main.ts) as a process of its own, for tests of several
 * instances: started with `env` over this process's environment (`undefined` removes a
 * variable), resolved with its URL once it says it is listening, stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerProcess {
  /** `http://host:port`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** What it wrote to stdout and stderr so far. */
  output(): string;
}

export async function startServerProcess(
  env: Record<string, string | undefined>,
  /** `entry`: a built `dist/main.js`, run with plain node (default: src/main.ts through tsx). */
  options: { readonly entry?: string; readonly nodeArgs?: readonly string[] } = {},
): Promise<ServerProcess> {
  const merged = Object.entries({ ...process.env, ...env }).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  const args = options.entry
    ? [...(options.nodeArgs ?? []), options.entry]
    : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    env: Object.fromEntries(merged),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)\/graphql/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)}: ${output}`)));
  });
  return { url, child, output: () => output };
}

/** Stops it (SIGTERM) and waits for it to exit; nothing when it already has. */
export async function stopServerProcess(server: ServerProcess | undefined): Promise<void> {
  // (Killed by a signal: exitCode stays null, signalCode says which.)
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/**
 * The environment of a server process on an embedded database of its own (in memory
 * unless `overrides` names a directory), quiet, on a port of its choosing: nothing of the
 * caller's PostgreSQL settings reaches it.
 */
export function embeddedProcessEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    DATABASE_URL: undefined,
    DATABASE_OWNER_URL: undefined,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    PORT: '0',
    PGLITE_DATA_DIR: 'memory://',
    SEED_DEMO_DATA: 'false',
    AUDIT_CHECKPOINT_INTERVAL: '0',
    ...overrides,
  };
}
