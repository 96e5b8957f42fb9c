import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module). Node resolves `graphql` to the CJS
    // build for every package; make Vite do the same so there is one graphql realm.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    setupFiles: ['test/support/noConcurrentQueries.ts'],
    pool: 'forks',
    // Against a shared PostgreSQL, test files run one after another: each starts Gatehouse
    // with an embedded SpiceDB, and only one such instance may serve a database at a time.
    fileParallelism: !process.env['DATABASE_URL'],
    maxWorkers: 2,
    // Each file may start an embedded PostgreSQL (PGlite); that takes a few seconds.
    testTimeout: 30_000,
    hookTimeout: 90_000,
    env: { NODE_ENV: 'test' },
  },
});
