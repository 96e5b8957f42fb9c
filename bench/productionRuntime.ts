/**
 * Imported first by the benchmarks that serve in their own process: the process runs with
 * NODE_ENV=production, as the image does (deploy/Dockerfile), so libraries take their
 * production paths — graphql-js, for one, skips its development-only cross-realm
 * `instanceOf` checks, decided when it is first imported. (The server's own configuration
 * is benchConfig's, unchanged.)
 */
process.env['NODE_ENV'] = 'production';
