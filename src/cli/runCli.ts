/** Shared wrapper for the CLI commands: config errors exit 2, other failures exit 1. */
import { ConfigError } from '../config.js';

/** `main` resolves to an exit code, or to anything else for success. */
export function runCli(main: () => Promise<unknown>): void {
  main().then(
    (code) => process.exit(typeof code === 'number' ? code : 0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    },
  );
}
