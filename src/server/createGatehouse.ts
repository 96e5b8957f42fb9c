/**
 * Assembles a Gatehouse server from a validated configuration: database (gate 4),
 * token verification (gate 1), the GraphQL schema, Apollo Server for HTTP and graphql-ws
 * for WebSocket on the same port, health endpoints and graceful shutdown.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { WebSocketServer } from 'ws';
import type { Config } from '../config.js';
import { authenticate } from '../authn/authenticateRequest.js';
import { createTokenVerifier, type TokenVerifier } from '../authn/TokenVerifier.js';
import type { Principal } from '../authn/Principal.js';
import { openDatabase, type OpenDatabase } from '../data/openDatabase.js';
import { connectPostgres, type SqlClient } from '../data/SqlClient.js';
import { DecisionCache } from '../authz/DecisionCache.js';
import { POLICY_WASM_FILE, PolicyEngine } from '../authz/opa/PolicyEngine.js';
import { PolicyData } from '../authz/opa/PolicyData.js';
import { PolicySource, readPolicyDataFile, type ReloadResult } from '../authz/opa/PolicySource.js';
import { openSecretBox } from '../domain/secretBox.js';
import { OutboxRelay } from '../authz/outbox/OutboxRelay.js';
import { RequestAuthorizer } from '../authz/RequestAuthorizer.js';
import { AUTHZ_SCHEMA_FILE } from '../authz/spicedb/authzSchemaFile.js';
import {
  connectSpiceDb,
  ensureSchema,
  type SpiceDbConnection,
} from '../authz/spicedb/SpiceDbConnection.js';
import { RequestUnitOfWork } from '../data/RequestUnitOfWork.js';
import { seedDemoData } from '../demo/seedDemoData.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import { createFormatError } from '../errors/formatError.js';
import { buildBaseSchema, buildSchema } from '../graphql/buildSchema.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import { RequestData } from '../graphql/RequestData.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { BodyTooLargeError, readBody } from './readBody.js';
import { setSecurityHeaders } from './securityHeaders.js';
import { rejectOperationPlugin } from './rejectOperationPlugin.js';
import { attachWebSocketServer } from './websocket.js';

export interface Gatehouse {
  /** `http://host:port` once listening. */
  readonly url: string;
  readonly database: OpenDatabase;
  readonly metrics: GatehouseMetrics;
  /** The relationship outbox relay (tests drive it; it also runs on its own). */
  readonly relay: OutboxRelay;
  /** Gate 3: the policies in force and their data. */
  readonly policies: PolicyEngine;
  /**
   * Re-reads the compiled bundle and POLICY_DATA_FILE and swaps them in (SIGHUP; file
   * changes in development). A bad bundle or bad data is refused and the old ones stay.
   */
  reloadPolicies(reason: string): Promise<ReloadResult>;
  listen(): Promise<void>;
  /** Graceful stop: refuse new work, finish in-flight requests, close connections. */
  stop(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function jsonError(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/** Counters for benchmarks and tests (process-wide). */
export interface GatehouseMetrics {
  spicedbRpcs: number;
  checkedItems: number;
}

const EMBEDDED_SPICEDB_LOCK = 720_394_120;

/**
 * The embedded SpiceDB lives in this process's memory, and its ZedTokens and applied
 * outbox entries mean nothing to another process's. So with an embedded SpiceDB only one
 * Gatehouse may serve a database: this session-level advisory lock, held for the server's
 * lifetime, makes a second one refuse to start. Replicas share a SpiceDB cluster instead.
 */
async function claimEmbeddedSpiceDb(databaseUrl: string): Promise<SqlClient> {
  const lock = await connectPostgres(databaseUrl);
  const rows = await lock.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
    EMBEDDED_SPICEDB_LOCK,
  ]);
  if (rows[0]?.locked !== true) {
    await lock.close();
    throw new Error(
      'another Gatehouse instance with an embedded SpiceDB already serves this database; ' +
        'run replicas against a shared SpiceDB cluster (set SPICEDB_ENDPOINT)',
    );
  }
  return lock;
}

export interface GatehouseOptions {
  readonly logger?: Logger;
  /**
   * Use this SpiceDB connection instead of connecting per the configuration (tests wrap a
   * real one to kill or stall it). Gatehouse still writes the schema and closes it on stop.
   */
  readonly spicedb?: SpiceDbConnection;
  /**
   * Benchmark baselines, settable only in code (bench/), never from the environment:
   * `off` serves without authorization; `naive` checks every field with its own
   * CheckPermission call (no batching, no memo); `no-policy` is `on` without gate 3 (to
   * measure what the policies add).
   */
  readonly benchmarkAuthorization?: 'off' | 'naive' | 'no-policy';
}

export async function createGatehouse(
  config: Config,
  options: GatehouseOptions = {},
): Promise<Gatehouse> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const schema =
    options.benchmarkAuthorization === 'off' ? buildBaseSchema() : buildSchema().schema;
  const verifier: TokenVerifier = await createTokenVerifier(config.auth);
  // Gate 3: the compiled policies load once; no valid bundle (or data), no server.
  const policies = await PolicyEngine.loadFile(POLICY_WASM_FILE);
  const policyData = new PolicyData(
    policies,
    { ttlMs: config.authz.policyDataTtlMs },
    await readPolicyDataFile(config.authz.policyDataFile),
  );
  const policySource = new PolicySource(
    policies,
    policyData,
    { bundle: POLICY_WASM_FILE, data: config.authz.policyDataFile },
    logger,
  );
  const secrets = await openSecretBox(config.credentialKeys);
  const db = await openDatabase(config.database, {
    transactionTimeoutMs: config.transactionTimeoutMs,
  });
  let spicedb: SpiceDbConnection | undefined;
  let instanceLock: SqlClient | undefined;
  const decisions = new DecisionCache({
    ttlMs: config.authz.cacheTtlMs,
    maxEntries: config.authz.cacheMaxEntries,
  });
  let relay: OutboxRelay;
  try {
    if (config.seedDemoData) {
      const seeded = await db.asOwner((_sql, prisma) => seedDemoData(prisma, secrets));
      if (seeded.created.length > 0)
        logger.info('seeded demo tenants', { tenants: seeded.created });
    }
    spicedb = options.spicedb ?? (await connectSpiceDb(config.authz.spicedb));
    if (spicedb.kind === 'embedded' && config.database.kind === 'postgres') {
      instanceLock = await claimEmbeddedSpiceDb(config.database.url);
    }
    await ensureSchema(spicedb, await readFile(AUTHZ_SCHEMA_FILE, 'utf8'));
    relay = new OutboxRelay({
      onWrite: () => decisions.invalidate(),
      prisma: db.prisma,
      spicedb,
      logger,
      deadlineMs: Math.max(config.authz.deadlineMs, 5_000),
      sweepIntervalMs: config.authz.outboxSweepIntervalMs,
    });
    if (spicedb.kind === 'embedded') {
      // The embedded SpiceDB starts empty: rebuild it from PostgreSQL, the source of truth.
      const replayed = await relay.replay();
      logger.info('replayed relationships into embedded SpiceDB', { relationships: replayed });
    } else {
      await relay.drain().catch((error: unknown) => {
        logger.warn('outbox relay could not reach SpiceDB at start; will retry', { error });
      });
    }
    relay.start();
  } catch (error) {
    spicedb?.close();
    await instanceLock?.close();
    await db.close();
    throw error;
  }
  const spice = spicedb;
  if (config.authz.watchPolicies) policySource.watch();
  const metrics: GatehouseMetrics = { spicedbRpcs: 0, checkedItems: 0 };
  // The embedded SpiceDB has one writer, this relay (one instance per database): what it
  // wrote is known here, so no request looks recorded writes up in the database.
  const noWriteTimes = new Map<string, number>();
  const localWrites =
    spice.kind === 'embedded'
      ? () => ({ token: relay.latestToken, writtenAt: noWriteTimes })
      : undefined;

  /** Builds the per-operation context for an authenticated or anonymous caller. */
  const contextFor = (
    requestId: string,
    principal: Principal | null,
    clientIp: string,
  ): GatehouseContext => {
    const data = principal
      ? new RequestData(
          new RequestUnitOfWork(
            db.tenants,
            { tenantId: principal.tenantId, subject: principal.subject },
            {
              // Apply the mutation's relationships before its payload is authorised.
              afterCommit: () =>
                relay.drain().then(
                  () => undefined,
                  (error: unknown) =>
                    logger.warn('outbox relay failed after commit', { requestId, error }),
                ),
            },
          ),
        )
      : null;
    const authz = new RequestAuthorizer(principal, data, {
      spicedb: spice,
      deadlineMs: config.authz.deadlineMs,
      explain: config.authz.explain,
      cache: decisions,
      ...(localWrites ? { localWrites } : {}),
      policies,
      policyData,
      logger,
      ...(options.benchmarkAuthorization ? { benchmark: options.benchmarkAuthorization } : {}),
      onRpc: (items) => {
        metrics.spicedbRpcs += 1;
        metrics.checkedItems += items;
      },
    });
    return { requestId, clientIp, principal, data, authz, logger, secrets, policyData };
  };

  const formatError = createFormatError({ development: config.env === 'development', logger });
  const httpServer = http.createServer();
  const apollo = new ApolloServer<GatehouseContext>({
    schema,
    introspection: config.introspection,
    hideSchemaDetailsFromClientErrors: !config.introspection,
    csrfPrevention: true,
    // main.ts owns signal handling (graceful stop, then exit); Apollo must not re-raise.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: config.env === 'development',
    formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: config.shutdownGraceMs,
      }),
      ApolloServerPluginLandingPageDisabled(),
      // Answers depend on who asks: no HTTP cache hints. (The plugin also costs a hook
      // per resolved field, ~3% of a list-100 request.)
      ApolloServerPluginCacheControlDisabled(),
      rejectOperationPlugin((e) => formatError(e.toJSON(), e)),
    ],
  });
  const ws = attachWebSocketServer({
    wss: new WebSocketServer({
      server: httpServer,
      path: '/graphql',
      maxPayload: config.maxBodyBytes,
    }),
    schema,
    verifier,
    introspection: config.introspection,
    formatError,
    contextFor,
    logger,
  });
  await apollo.start();

  let accepting = true;
  const inFlight = new Set<Promise<void>>();
  const allowedOrigins = new Set(config.corsOrigins.map((o) => new URL(o).origin));

  async function handleGraphQL(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
  ): Promise<void> {
    const auth = await authenticate(verifier, req.headers.authorization);
    if (auth.kind === 'rejected') {
      logger.info('authentication rejected', { requestId, reason: auth.reason });
      jsonError(res, 401, ErrorCode.UNAUTHENTICATED, 'Authentication required', {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
      return;
    }
    const principal = auth.kind === 'authenticated' ? auth.principal : null;

    let body: unknown;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, config.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          jsonError(
            res,
            413,
            ErrorCode.BAD_REQUEST,
            `Request body exceeds ${config.maxBodyBytes} bytes`,
          );
          return;
        }
        throw error;
      }
      if ((req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
        try {
          body = JSON.parse(text);
        } catch {
          jsonError(res, 400, ErrorCode.BAD_REQUEST, 'Request body is not valid JSON');
          return;
        }
      }
    }

    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const context = contextFor(requestId, principal, req.socket.remoteAddress ?? '');
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => Promise.resolve(context),
    });
    try {
      await context.data?.uow.finish();
    } catch (error) {
      logger.error('commit failed', { requestId, error });
      jsonError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      return;
    }
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }

  async function ready(): Promise<boolean> {
    if (!accepting) return false;
    try {
      await Promise.race([
        db.tenants.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('readiness timeout')), 2_000).unref(),
        ),
      ]);
      return true;
    } catch (error) {
      logger.warn('readiness check failed', { error });
      return false;
    }
  }

  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const incoming = req.headers['x-request-id'];
    const requestId =
      typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    setSecurityHeaders(res, config.env === 'production');
    const origin = req.headers.origin;
    if (origin && allowedOrigins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader(
        'Access-Control-Allow-Headers',
        'Authorization, Content-Type, Apollo-Require-Preflight, X-Request-Id',
      );
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    const path = (req.url ?? '/').split('?')[0];
    const route = async (): Promise<void> => {
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
      } else if (path === '/healthz' && req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      } else if (path === '/readyz' && req.method === 'GET') {
        const ok = await ready();
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ready' : 'unavailable' }));
      } else if (path === '/graphql') {
        if (!accepting) {
          jsonError(res, 503, ErrorCode.INTERNAL_SERVER_ERROR, 'Server is shutting down', {
            Connection: 'close',
          });
          return;
        }
        await handleGraphQL(req, res, requestId);
      } else {
        jsonError(res, 404, ErrorCode.NOT_FOUND, 'Not found');
      }
    };
    const handled = route().catch((error: unknown) => {
      // The client went away mid-request (closed its connection): nothing failed here.
      if (req.destroyed && (error as NodeJS.ErrnoException | null)?.code === 'ECONNRESET') {
        logger.info('client closed the connection mid-request', { requestId });
        res.destroy();
        return;
      }
      logger.error('request failed', { requestId, error });
      if (!res.headersSent)
        jsonError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      else res.destroy();
    });
    // Tracked so a graceful stop waits for handlers whose client already went away.
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });

  let url = '';
  let stopping: Promise<void> | undefined;
  return {
    get url() {
      return url;
    },
    database: db,
    metrics,
    relay,
    policies,
    reloadPolicies: (reason) => policySource.reload(reason),
    listen: () =>
      new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          const address = httpServer.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          url = `http://${host}:${address.port}`;
          resolve();
        });
      }),
    stop() {
      stopping ??= (async () => {
        accepting = false;
        await policySource.close();
        await ws.close();
        await apollo.stop(); // drains the HTTP server within the grace period
        await Promise.race([
          Promise.allSettled(inFlight),
          new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref()),
        ]);
        await relay.stop();
        spice.close();
        await instanceLock?.close();
        await db.close();
      })();
      return stopping;
    },
  };
}
