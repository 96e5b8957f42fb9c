/**
 * The configuration every benchmark server starts from: the environment (DATABASE_URL and
 * DATABASE_OWNER_URL when set, else a throwaway embedded database), loopback on a free
 * port, quiet logs, no demo data, no checkpoint timer, keys in `keysDir`; `overrides` last.
 */
import { loadConfig, type Config } from '../src/config.js';

export function benchConfig(keysDir: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    PORT: '0',
    PGLITE_DATA_DIR: 'memory://',
    DEV_KEYS_DIR: keysDir,
    SEED_DEMO_DATA: 'false',
    AUDIT_CHECKPOINT_INTERVAL: '0',
    ...overrides,
  });
}
