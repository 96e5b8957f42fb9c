/** Runs bench/loadGenerator.ts in its own process and returns what it measured. */
import { spawn } from 'node:child_process';

export interface LoadRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Read its answers and count those with GraphQL errors (LoadResult.graphqlErrors). */
  readonly checked?: boolean;
}

export interface LoadResult {
  readonly requests: { readonly average: number; readonly total: number };
  /** How long the run took, in seconds. */
  readonly duration: number;
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly errors: number;
  readonly non2xx: number;
  /** Answers to `checked` requests that carried GraphQL errors. */
  readonly graphqlErrors: number;
}

export function runLoad(options: {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  /** Instead of `seconds`: this many requests, each answered (none abandoned). */
  readonly amount?: number;
  /** Each connection starts at another point of `requests` (bench/loadGenerator.ts). */
  readonly stagger?: boolean;
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
