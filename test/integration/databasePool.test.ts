/**
 * The PostgreSQL connection settings (DB_POOL_MAX, DB_CONNECT_TIMEOUT_MS,
 * DB_STATEMENT_TIMEOUT_MS, DB_APPLICATION_NAME, DB_STARTUP_RETRY_MS), against the real
 * PostgreSQL of the run: what every request connection carries, and a first connection
 * that waits for a database that is not up yet instead of dying.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POOL, type DatabaseConfig } from '../../src/config.js';
import { openDatabase } from '../../src/data/openDatabase.js';
import { freePort } from '../../tools/ports.js';
import { recordingLogger } from '../support/recordingLogger.js';
import { testDatabaseConfig, usingPostgres } from '../support/testDatabase.js';

type Postgres = Extract<DatabaseConfig, { kind: 'postgres' }>;

/** The run's database, reached through 127.0.0.1:`port` instead of its own port. */
function through(port: number, pool: Partial<typeof DEFAULT_POOL>): Postgres {
  const config = testDatabaseConfig() as Postgres;
  const url = new URL(config.url);
  const target = { host: url.hostname, port: Number(url.port || 5432) };
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { ...config, url: url.toString(), pool: { ...DEFAULT_POOL, ...pool }, target } as Postgres;
}

/** A TCP relay on `port` to the database, started after `delayMs`. */
function relayLater(port: number, target: { host: string; port: number }, delayMs: number) {
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  const started = new Promise<void>((resolve) =>
    setTimeout(() => server.listen(port, '127.0.0.1', resolve), delayMs),
  );
  return { started, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe.runIf(usingPostgres)('PostgreSQL connection settings', () => {
  it('gives every request connection its application name and statement timeout', async () => {
    const config = testDatabaseConfig() as Postgres;
    const db = await openDatabase(
      {
        ...config,
        pool: {
          ...DEFAULT_POOL,
          applicationName: 'gatehouse-test',
          statementTimeoutMs: 1234,
          max: 3,
        },
      },
      { transactionTimeoutMs: 10_000 },
    );
    try {
      const rows = await db.prisma.$queryRawUnsafe<Array<{ app: string; timeout: string }>>(
        "select current_setting('application_name') as app, current_setting('statement_timeout') as timeout",
      );
      expect(rows).toEqual([{ app: 'gatehouse-test', timeout: '1234ms' }]);
      // The timeout holds: a statement longer than it is cancelled.
      await expect(db.prisma.$queryRawUnsafe('select pg_sleep(3)::text')).rejects.toThrow(
        /statement timeout/,
      );
      // Never more connections than DB_POOL_MAX, however many queries wait.
      await Promise.all(
        Array.from({ length: 12 }, () => db.prisma.$queryRawUnsafe('select pg_sleep(0.05)::text')),
      );
      expect(db.pool?.().total).toBeLessThanOrEqual(3);
    } finally {
      await db.close();
    }
  });

  it('waits for a database that comes up after the server started', async () => {
    const port = await freePort();
    const config = through(port, { startupRetryMs: 20_000, connectTimeoutMs: 1_000 });
    const relay = relayLater(
      port,
      (config as unknown as { target: { host: string; port: number } }).target,
      1_500,
    );
    const { logger, lines } = recordingLogger();
    try {
      const db = await openDatabase(config, { transactionTimeoutMs: 10_000, logger });
      await relay.started;
      expect(await db.prisma.$queryRawUnsafe('select 1 as one')).toEqual([{ one: 1 }]);
      await db.close();
      const retries = lines.filter((l) => l.message === 'PostgreSQL not reachable yet; retrying');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      // The log names the attempt and the wait, never the URL (it holds the password).
      expect(JSON.stringify(retries)).not.toContain(config.url);
    } finally {
      await relay.close();
    }
  });

  it('gives up after DB_STARTUP_RETRY_MS, and at once on a refused login', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(
      openDatabase(through(port, { startupRetryMs: 1_000, connectTimeoutMs: 500 }), {
        transactionTimeoutMs: 10_000,
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const config = testDatabaseConfig() as Postgres;
    const wrong = new URL(config.url);
    // (This machine's PostgreSQL trusts local logins: a role that does not exist is refused.)
    wrong.username = 'no_such_gatehouse_role';
    const refusedAt = Date.now();
    await expect(
      openDatabase(
        { ...config, url: wrong.toString(), pool: { ...DEFAULT_POOL, startupRetryMs: 30_000 } },
        {
          transactionTimeoutMs: 10_000,
        },
      ),
    ).rejects.toThrow(/no_such_gatehouse_role/);
    expect(Date.now() - refusedAt).toBeLessThan(10_000);
  });
});
