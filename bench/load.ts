/** Runs bench/loadGenerator.ts in its own process and returns what it measured. */
import { spawn } from 'node:child_process';

export interface LoadRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface LoadResult {
  readonly requests: { readonly average: number; readonly total: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly errors: number;
  readonly non2xx: number;
}

export function runLoad(options: {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly timeoutSeconds?: number;
  readonly requests: readonly LoadRequest[];
}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // Options on stdin: a request body can be larger than an argument may be.
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/loadGenerator.ts'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.end(JSON.stringify({ timeoutSeconds: 10, ...options }));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the load generator exited with ${String(code)}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}
