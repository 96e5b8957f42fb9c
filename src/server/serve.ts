/**
 * The server process (main.ts starts tracing first, then this): validates the
 * configuration, starts Gatehouse, and stops it gracefully on SIGTERM/SIGINT (a second
 * signal exits at once), flushing the spans still buffered. SIGHUP reloads the policies.
 */
import { ConfigError, loadConfig } from '../config.js';
import { DEMO_USERS } from '../demo/demoData.js';
import { createLogger } from '../observability/logger.js';
import type { Tracing } from '../observability/tracing.js';
import { createGatehouse } from './createGatehouse.js';
import { offersDevTokens } from './graphiql/devTokens.js';

export async function serve(tracing: Tracing): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const gatehouse = await createGatehouse(config, { logger });
  await gatehouse.listen();
  const lines = [
    '',
    `Gatehouse is listening on ${gatehouse.url}/graphql  (WebSocket: ${gatehouse.url.replace('http', 'ws')}/graphql)`,
    `  process:  pid ${process.pid} (SIGHUP reloads the policies, SIGTERM stops gracefully)`,
    `  database: ${config.database.kind === 'embedded' ? `embedded PGlite at ${config.database.dataDir}` : 'PostgreSQL'}`,
  ];
  if (config.graphiql) {
    const tokens = offersDevTokens(config) ? ', a tab per demo user with its token' : '';
    lines.push(`  graphiql: open ${gatehouse.url}/graphql in a browser${tokens}`);
  }
  if (config.auth.jwks.kind === 'dev') {
    lines.push(
      '  tokens:   development issuer; mint one per demo user with `npm run -s token -- <user>`:',
    );
    for (const u of DEMO_USERS) lines.push(`              ${u.key.padEnd(8)} ${u.description}`);
    lines.push(
      `  try:      curl -s ${gatehouse.url}/graphql -H "Authorization: Bearer $(npm run -s token -- alice)" \\`,
      `              -H 'Content-Type: application/json' -d '{"query":"{ me { subject tenant { slug } user { displayName } } }"}'`,
      `  audit:    npm run -s audit:tail -- --url ${gatehouse.url.replace('http', 'ws')}/graphql --token "$(npm run -s token -- dave)"`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);

  let signals = 0;
  const shutdown = (signal: string): void => {
    signals += 1;
    if (signals > 1) process.exit(1);
    logger.info('shutting down', { signal });
    gatehouse
      .stop()
      .then(() => tracing.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          process.exit(1);
        },
      );
  };
  // SIGHUP: re-read the compiled policies and POLICY_DATA_FILE (refused if invalid; the
  // policies in force then stay).
  process.on('SIGHUP', () => void gatehouse.reloadPolicies('SIGHUP'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
