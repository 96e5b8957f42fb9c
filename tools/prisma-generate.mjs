// Runs `prisma generate` without Prisma's schema engine. The engine is a downloaded binary
// that these machines cannot fetch; generating the client (Prisma 7, driver adapters)
// never executes it, but the CLI insists the variable points at an existing file.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync(
  process.execPath,
  [`${root}/node_modules/prisma/build/index.js`, 'generate'],
  {
    cwd: root,
    env,
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
