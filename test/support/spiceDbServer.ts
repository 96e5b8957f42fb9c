/**
 * The real SpiceDB server (tools/spicedb.ts) as a process of the test's own, on a port of
 * its own choosing, with the in-memory datastore; stopped by pid.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { SPICEDB_BIN, serveArgs } from '../../tools/spicedb.js';

export interface SpiceDbServer {
  /** `127.0.0.1:<port>` (SPICEDB_ENDPOINT). */
  readonly endpoint: string;
  readonly presharedKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
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
