// What the Go-built tools (tools/spicedb.ts, tools/otelcol.ts) share: finding `go`, and
// running a built binary in the foreground for `npm run …:serve`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** `go`, from PATH or where the Go distribution installs itself; `what` says what needs it. */
export function findGo(what: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'go'))) return path.join(dir, 'go');
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error(`${what} is built with Go (1.26), which is not installed`);
}

/** Runs `bin` with this terminal, passing SIGINT/SIGTERM on, and exits with its code. */
export function serveForeground(bin: string, args: readonly string[]): void {
  const child = spawn(bin, args, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 1));
}
