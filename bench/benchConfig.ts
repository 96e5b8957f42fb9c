/**
 * The configuration every benchmark server starts from: the environment (DATABASE_URL and
 * DATABASE_OWNER_URL when set, else a throwaway embedded database), loopback on a free
 * port, quiet logs, no demo data, no checkpoint timer, keys in `keysDir`, rate-limit
 * budgets that a load run never exhausts (the limiter runs on every request and never
 * refuses); `overrides` last.
 */
import { loadConfig, type Config } from '../src/config.js';

export const UNREACHED_BUDGETS = Object.fromEntries(
  ['USER', 'PREMIUM', 'ANONYMOUS'].flatMap((kind) => [
    [`RATE_LIMIT_${kind}_PER_HOUR`, '1000000000'],
    [`RATE_LIMIT_${kind}_BURST`, '100000000'],
  ]),
);

/** The environment of a benchmark server (in process, or a process of its own). */
export function benchEnvironment(keysDir: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    PORT: '0',
    PGLITE_DATA_DIR: 'memory://',
    DEV_KEYS_DIR: keysDir,
    SEED_DEMO_DATA: 'false',
    AUDIT_CHECKPOINT_INTERVAL: '0',
    ...UNREACHED_BUDGETS,
    WS_MAX_CONNECTIONS_PER_PRINCIPAL: '10000',
    WS_MAX_OPERATIONS_PER_SECOND: '10000',
  };
}

export function benchConfig(keysDir: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...benchEnvironment(keysDir), ...overrides });
}
