/**
 * The real SpiceDB server (tools/spicedb.ts) as a process of the test's own, on a port of
 * its own choosing, with the in-memory datastore; stopped by pid.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SPICEDB_BIN, serveArgs } from '../../tools/spicedb.js';
import { accepting, freePort } from './ports.js';

export interface SpiceDbServer {
  /** `127.0.0.1:<port>` (SPICEDB_ENDPOINT). */
  readonly endpoint: string;
  readonly presharedKey: string;
  stop(): Promise<void>;
}

export async function startSpiceDbServer(): Promise<SpiceDbServer> {
  const port = await freePort();
  const presharedKey = randomBytes(16).toString('hex');
  const endpoint = `127.0.0.1:${port}`;
  const child = spawn(SPICEDB_BIN, serveArgs({ grpcAddr: endpoint, presharedKey }), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`SpiceDB did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    presharedKey,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
