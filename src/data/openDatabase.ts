/**
 * Opens the database described by the configuration and returns the handles the server
 * needs: a {@link TenantDatabase} (the only data access path for requests) and a close
 * function. Embedded mode starts PGlite, provisions the two roles, and applies the
 * migrations as the owner role; PostgreSQL mode connects as the app role and refuses to
 * start when that role could bypass RLS.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { ApiKeyLookup } from '../authn/ApiKeyVerifier.js';
import { DEFAULT_POOL, type DatabaseConfig, type PoolSettings } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { DatabaseApiKeyLookup } from './ApiKeyLookup.js';
import { migrate } from './migrator.js';
import { APP_ROLE, AUDIT_SIGNER_ROLE, KEY_READER_ROLE, OWNER_ROLE, RELAY_ROLE } from './roles.js';
import { connectPostgres, pgliteSqlClient, type SqlClient } from './SqlClient.js';
import { lockDataDirectory } from './dataDirectoryLock.js';
import { serialTransactions } from './serialTransactions.js';
import { preparedStatementNames } from './preparedStatements.js';
import { SettingsInBeginClient } from './settingsInBegin.js';
import { TenantDatabase } from './TenantDatabase.js';
import { assertAppRoleIsConfined } from './rlsCheck.js';
import { pgliteListen, postgresListen, type Listen } from './listen.js';
import { createLogger, type Logger } from '../observability/logger.js';

export interface OpenDatabase {
  readonly kind: DatabaseConfig['kind'];
  readonly tenants: TenantDatabase;
  /**
   * The API key lookup, as the app role: the only path to a key (and its tenant) before a
   * tenant is known (data/ApiKeyLookup.ts).
   */
  readonly apiKeys: ApiKeyLookup;
  /**
   * The underlying client, for infrastructure that is not a request (the outbox relay,
   * which switches to its own role). Request code only ever gets `tenants`.
   */
  readonly prisma: PrismaClient;
  /**
   * Runs `work` with a raw connection as the owner role (migrations, seeding). Embedded:
   * the PGlite connection switched to the owner role; PostgreSQL: DATABASE_OWNER_URL.
   */
  asOwner<T>(work: (sql: SqlClient, prisma: PrismaClient) => Promise<T>): Promise<T>;
  /** PostgreSQL notifications (the audit feed), on a connection of their own. */
  readonly listen: Listen;
  /** The request connections now (PostgreSQL; the embedded database has one connection). */
  readonly pool: (() => PoolState) | undefined;
  close(): Promise<void>;
}

export interface PoolState {
  /** Connections open, in use or idle. */
  readonly total: number;
  readonly idle: number;
  /** Requests waiting for a connection. */
  readonly waiting: number;
}

export interface OpenDatabaseOptions {
  readonly transactionTimeoutMs: number;
  /** Embedded only: apply migrations on open (default true). */
  readonly migrate?: boolean;
  /** Where the notification connection reports drops (default: silent). */
  readonly logger?: Logger;
}

/**
 * Creates the owner and app roles, and the roles they may assume, on an embedded
 * (superuser) connection, as `npm run db:setup` does on PostgreSQL. Idempotent.
 */
export async function provisionRoles(sql: SqlClient): Promise<void> {
  await sql.exec(`
    do $$ begin
      if not exists (select from pg_roles where rolname = '${OWNER_ROLE}') then
        create role ${OWNER_ROLE} nologin nosuperuser nobypassrls nocreaterole nocreatedb noinherit;
      end if;
      if not exists (select from pg_roles where rolname = '${APP_ROLE}') then
        create role ${APP_ROLE} nologin nosuperuser nobypassrls nocreaterole nocreatedb noinherit;
      end if;
      if not exists (select from pg_roles where rolname = '${RELAY_ROLE}') then
        create role ${RELAY_ROLE} nologin nosuperuser nobypassrls nocreaterole nocreatedb noinherit;
      end if;
      if not exists (select from pg_roles where rolname = '${AUDIT_SIGNER_ROLE}') then
        create role ${AUDIT_SIGNER_ROLE} nologin nosuperuser nobypassrls nocreaterole nocreatedb noinherit;
      end if;
      if not exists (select from pg_roles where rolname = '${KEY_READER_ROLE}') then
        create role ${KEY_READER_ROLE} nologin nosuperuser nobypassrls nocreaterole nocreatedb noinherit;
      end if;
    end $$;
    do $$ begin
      execute format('grant create on database %I to ${OWNER_ROLE}', current_database());
    end $$;
    grant usage, create on schema public to ${OWNER_ROLE};
    -- As db:setup: the owner role owns \`public\`, so a migration may grant on it (the
    -- service accounts migration lends CREATE to the key reader for ALTER … OWNER).
    alter schema public owner to ${OWNER_ROLE};
    -- (Data directories made before the audit signer role existed.)
    alter role ${OWNER_ROLE} noinherit;
    grant ${RELAY_ROLE} to ${APP_ROLE};
    grant ${AUDIT_SIGNER_ROLE} to ${APP_ROLE};
    grant ${AUDIT_SIGNER_ROLE} to ${OWNER_ROLE};
    -- The owner hands the key lookup functions to the key reader (ALTER … OWNER needs
    -- membership); the app role is not a member: it may only execute them.
    grant ${KEY_READER_ROLE} to ${OWNER_ROLE};`);
}

export async function openDatabase(
  config: DatabaseConfig,
  options: OpenDatabaseOptions,
): Promise<OpenDatabase> {
  return config.kind === 'embedded'
    ? openEmbedded(config.dataDir, options)
    : openPostgres(config, options);
}

async function openEmbedded(dataDir: string, options: OpenDatabaseOptions): Promise<OpenDatabase> {
  const inMemory = dataDir === 'memory://';
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  // One process at a time on a directory (a second one would lose data): see dataDirectoryLock.
  const lock = inMemory ? undefined : await lockDataDirectory(dataDir);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(inMemory ? undefined : dataDir);
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const sql = pgliteSqlClient(pglite);
  const asOwnerRaw = async <T>(work: (s: SqlClient) => Promise<T>): Promise<T> => {
    await sql.exec(`set role ${OWNER_ROLE}`);
    try {
      return await work(sql);
    } finally {
      await sql.exec('reset role');
    }
  };
  try {
    await provisionRoles(sql);
    if (options.migrate ?? true) await asOwnerRaw((s) => migrate(s));
  } catch (error) {
    await pglite.close();
    await lock?.release();
    throw error;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    kind: 'embedded',
    prisma,
    tenants: new TenantDatabase(prisma, {
      assumeRole: APP_ROLE,
      timeoutMs: options.transactionTimeoutMs,
    }),
    apiKeys: new DatabaseApiKeyLookup(prisma, { assumeRole: APP_ROLE }),
    asOwner: (work) => asOwnerRaw((s) => work(s, prisma)),
    listen: pgliteListen(pglite),
    pool: undefined,
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      await lock?.release();
    },
  };
}

/** The first delay between attempts at the first connection; it doubles up to {@link MAX_RETRY_DELAY_MS}. */
const FIRST_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 5_000;

/**
 * The first connection, retried with backoff (doubling, with jitter) for up to
 * `startupRetryMs`: a server started beside its database (a compose file, a restart of
 * both) waits for it instead of dying. Each failed attempt is logged (without the URL);
 * after the deadline the last error is thrown.
 */
async function firstConnection(
  url: string,
  settings: PoolSettings,
  logger: Logger | undefined,
): Promise<SqlClient> {
  const deadline = Date.now() + settings.startupRetryMs;
  let delay = FIRST_RETRY_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectPostgres(url, {
        connectTimeoutMs: settings.connectTimeoutMs,
        applicationName: settings.applicationName,
      });
    } catch (error) {
      // A refused login is a configuration error: retrying would not mend it.
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('28')) throw error;
      const wait = Math.min(delay, deadline - Date.now());
      if (wait <= 0) throw error;
      logger?.warn('PostgreSQL not reachable yet; retrying', {
        attempt,
        retryInMs: Math.round(wait),
        error: error instanceof Error ? error.message : String(error),
      });
      await new Promise((resolve) => setTimeout(resolve, wait * (0.8 + Math.random() * 0.4)));
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    }
  }
}

/** `user@host:port/database` of a PostgreSQL URL, never its password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${decodeURIComponent(u.username) || '(no user)'}@${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the PostgreSQL server';
  }
}

async function openPostgres(
  config: Extract<DatabaseConfig, { kind: 'postgres' }>,
  options: OpenDatabaseOptions,
): Promise<OpenDatabase> {
  const settings = config.pool ?? DEFAULT_POOL;
  const check = await firstConnection(config.url, settings, options.logger).catch(
    (error: unknown) => {
      throw new Error(
        `DATABASE_URL: cannot connect to ${describeUrl(config.url)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    },
  );
  try {
    await assertAppRoleIsConfined(check);
  } finally {
    await check.close();
  }
  // The pool is ours (its figures are metrics); the adapter ends it on disconnect.
  const pool = new pg.Pool({
    // Each transaction's tenant settings go with its BEGIN (settingsInBegin.ts).
    Client: SettingsInBeginClient,
    connectionString: config.url,
    max: settings.max,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    idleTimeoutMillis: settings.idleTimeoutMs,
    application_name: settings.applicationName,
    ...(settings.statementTimeoutMs > 0 ? { statement_timeout: settings.statementTimeoutMs } : {}),
  });
  const prisma = new PrismaClient({
    // One statement at a time on a transaction's connection (serialTransactions); the hot
    // statements prepared once per connection (preparedStatements).
    adapter: serialTransactions(
      new PrismaPg(pool, {
        disposeExternalPool: true,
        statementNameGenerator: preparedStatementNames(settings.preparedStatements),
      }),
    ),
  });
  return {
    kind: 'postgres',
    pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    prisma,
    tenants: new TenantDatabase(prisma, { timeoutMs: options.transactionTimeoutMs }),
    apiKeys: new DatabaseApiKeyLookup(prisma),
    async asOwner(work) {
      if (!config.ownerUrl) throw new Error('DATABASE_OWNER_URL is required for owner operations');
      const sql = await connectPostgres(config.ownerUrl);
      const ownerPrisma = new PrismaClient({
        adapter: serialTransactions(new PrismaPg({ connectionString: config.ownerUrl })),
      });
      try {
        return await work(sql, ownerPrisma);
      } finally {
        await ownerPrisma.$disconnect();
        await sql.close();
      }
    },
    listen: postgresListen(config.url, options.logger ?? createLogger('silent')),
    async close() {
      await prisma.$disconnect();
    },
  };
}
