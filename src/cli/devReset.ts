/**
 * `npm run dev:reset`: starts the embedded development database over — its directory
 * (PGLITE_DATA_DIR, default `.gatehouse/pgdata`) is deleted, and the next `npm start`
 * creates, migrates and seeds it again, so the README walkthrough can be repeated. The
 * development keys stay (tokens minted before still verify). Refused while a server or a
 * CLI holds the directory (its lock names the process), and on PostgreSQL, whose data
 * this never touches (`npm run db:setup -- --recreate` is the PostgreSQL way).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadConfig } from '../config.js';
import { lockDataDirectory } from '../data/dataDirectoryLock.js';
import { runCli } from './runCli.js';

runCli(async () => {
  const config = loadConfig();
  if (config.database.kind !== 'embedded') {
    throw new Error(
      'dev:reset resets the embedded development database only; DATABASE_URL is set (PostgreSQL: npm run db:setup -- --recreate)',
    );
  }
  const dir = config.database.dataDir;
  if (dir === 'memory://' || !existsSync(dir)) {
    process.stdout.write(`dev:reset: nothing to reset (${dir} holds no database)\n`);
    return 0;
  }
  // Refused, naming the holder, while anything has the directory open.
  const lock = await lockDataDirectory(dir);
  try {
    await rm(dir, { recursive: true, force: true });
  } finally {
    await lock.release();
  }
  process.stdout.write(
    `dev:reset: removed ${dir}; the next npm start creates and seeds it again\n`,
  );
  return 0;
});
