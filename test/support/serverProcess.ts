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
): Promise<ServerProcess> {
  const merged = Object.entries({ ...process.env, ...env }).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
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
