/**
 * Assembles a Gatehouse server from a validated configuration: wiring only. The database
 * (gate 4), token verification (gate 1), SpiceDB and its outbox relay (gate 2), the
 * policies (gate 3), the audit trail's signer and live feed (gate 5), the operation
 * pipeline both transports share, Apollo Server for HTTP and graphql-ws for WebSocket on
 * the same port, and graceful shutdown.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { v1 } from '@authzed/authzed-node';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { Config } from '../config.js';
import { AuditCheckpointer } from '../audit/AuditCheckpointer.js';
import { AuditFeed } from '../audit/AuditFeed.js';
import { countedAppender, observeAuditFeed } from '../audit/auditMetrics.js';
import { appendAuditEvents, type AuditAppender } from '../audit/appendAuditEvents.js';
import { AuditGroupCommit } from '../audit/AuditGroupCommit.js';
import { loadAuditSigner } from '../audit/loadAuditSigner.js';
import { loadApiKeyPepper } from '../authn/apiKeyPepper.js';
import { ApiKeyVerifier } from '../authn/ApiKeyVerifier.js';
import { credentialVerifier } from '../authn/credentialVerifier.js';
import { createTokenVerifier } from '../authn/TokenVerifier.js';
import { cachingTokenVerifier } from '../authn/VerifiedTokenCache.js';
import { DecisionCache } from '../authz/DecisionCache.js';
import { DecisionRefresher } from '../authz/DecisionRefresher.js';
import { POLICY_WASM_FILE, PolicyEngine } from '../authz/opa/PolicyEngine.js';
import { PolicyData } from '../authz/opa/PolicyData.js';
import { PolicySource, readPolicyDataFile, type ReloadResult } from '../authz/opa/PolicySource.js';
import { OutboxRelay } from '../authz/outbox/OutboxRelay.js';
import { observeOutbox } from '../authz/outbox/outboxMetrics.js';
import { AuthzMetrics } from '../authz/authzMetrics.js';
import type { RecordedWrites } from '../authz/PermissionChecker.js';
import type { AuthorizerFactory } from '../authz/RequestAuthorizer.js';
import { AUTHZ_SCHEMA_FILE } from '../authz/spicedb/authzSchemaFile.js';
import { selfContainedTypes } from '../authz/spicedb/selfContainedTypes.js';
import {
  connectSpiceDb,
  deadlineArgs,
  ensureSchema,
  type SpiceDbConnection,
} from '../authz/spicedb/SpiceDbConnection.js';
import { observePool } from '../data/databaseMetrics.js';
import { openDatabase, type OpenDatabase } from '../data/openDatabase.js';
import type { SqlClient } from '../data/SqlClient.js';
import { seedDemoData } from '../demo/seedDemoData.js';
import { openSecretBox } from '../domain/secretBox.js';
import { Edge } from '../edge/Edge.js';
import { observeEdge } from '../edge/edgeMetrics.js';
import { createFormatError } from '../errors/formatError.js';
import { buildBaseSchema, buildSchema } from '../graphql/buildSchema.js';
import { readAuditedFields } from '../graphql/auditedFields.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import { DEFAULT_PAGE, MAX_PAGE } from '../graphql/resolvers/paging.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/Metrics.js';
import { OperationPipeline } from '../operation/OperationPipeline.js';
import { TrustedDocuments } from '../operation/TrustedDocuments.js';
import { parseOptionsFor } from '../operation/limits/QueryLimits.js';
import { claimEmbeddedSpiceDb } from './embeddedSpiceDbLock.js';
import { loadGraphiQL } from './graphiql/graphiqlRoutes.js';
import { createHttpHandler } from './httpHandler.js';
import { operationPlugin } from './operationPlugin.js';
import { readinessProbe } from './readiness.js';
import { attachWebSocketServer } from './websocket.js';

export interface Gatehouse {
  /** `http://host:port` once listening. */
  readonly url: string;
  readonly database: OpenDatabase;
  /**
   * This instance's OpenTelemetry meters (observability/Metrics.ts): read in process by
   * tests and benchmarks, scraped on METRICS_PORT, pushed by OTLP when configured.
   */
  readonly metrics: Metrics;
  /** The relationship outbox relay (tests drive it; it also runs on its own). */
  readonly relay: OutboxRelay;
  /** Gate 3: the policies in force and their data. */
  readonly policies: PolicyEngine;
  /** Gate 5: this instance's live audit feed and checkpoint signing. */
  readonly auditFeed: AuditFeed;
  readonly auditCheckpoints: AuditCheckpointer;
  /** Client addresses, lockouts and rate limits (src/edge/). */
  readonly edge: Edge;
  /**
   * Re-reads the compiled bundle and POLICY_DATA_FILE and swaps them in (SIGHUP; file
   * changes in development). A bad bundle or bad data is refused and the old ones stay.
   */
  reloadPolicies(reason: string): Promise<ReloadResult>;
  listen(): Promise<void>;
  /** Graceful stop: refuse new work, finish in-flight requests, close connections. */
  stop(): Promise<void>;
}

export interface GatehouseOptions {
  readonly logger?: Logger;
  /**
   * Use this SpiceDB connection instead of connecting per the configuration (tests wrap a
   * real one to kill or stall it). Gatehouse still writes the schema and closes it on stop.
   */
  readonly spicedb?: SpiceDbConnection;
  /**
   * Replaces how operations are authorised: benchmarks inject their baselines
   * (bench/authorizationBaselines.ts); never from the environment. Absent: as shipped.
   */
  readonly authorization?: {
    /** False serves the schema without graphql-shield's rules (no authorization). */
    readonly shieldRules: boolean;
    /** Builds each operation's authorizer (a RequestAuthorizer subclass). */
    readonly createAuthorizer: AuthorizerFactory;
  };
  /**
   * Appends audit events instead of audit/appendAuditEvents: benchmarks inject their
   * baseline (no audit), tests inject faults. Never from the environment.
   */
  readonly auditAppender?: AuditAppender;
  /**
   * False sends every field through graphql-shield's rule, also when the operation already
   * knows its decision (authz/authorizationMiddleware.ts): tests prove both paths answer
   * alike. Absent: the known allows resolve at once, as shipped.
   */
  readonly resolveKnownAllows?: boolean;
}

const defaultAppender: AuditAppender = { append: appendAuditEvents };

export async function createGatehouse(
  config: Config,
  options: GatehouseOptions = {},
): Promise<Gatehouse> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = await Metrics.open({ prometheus: config.metrics, env: process.env, logger });
  const authzMetrics = new AuthzMetrics(metrics.meter);
  // Parsing the SDL is not a request: no spans for it (the GraphQL instrumentation would
  // make a root trace per schema file).
  const { built, schema } = context.with(suppressTracing(context.active()), () => {
    const shielded =
      options.authorization?.shieldRules === false
        ? undefined
        : buildSchema({ resolveKnownAllows: options.resolveKnownAllows ?? true });
    return { built: shielded, schema: shielded?.schema ?? buildBaseSchema() };
  });
  const audited = built?.audited ?? readAuditedFields(schema);
  const jwtVerifier = cachingTokenVerifier(await createTokenVerifier(config.auth));
  const apiKeyPepper = await loadApiKeyPepper(config.apiKeyPepper);
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
  const auditSigner = await loadAuditSigner(config.audit.signingKey);
  // GRAPHIQL_ENABLED: the IDE's files are read now, before anything needs closing; off,
  // nothing of it exists.
  const graphiql = await loadGraphiQL(config);
  // No valid manifest, no server (a ConfigError naming the file and the entry).
  const trustedDocuments = config.trustedDocuments.file
    ? await TrustedDocuments.load(
        config.trustedDocuments.file,
        config.trustedDocuments.anyDocumentScope,
      )
    : undefined;
  if (trustedDocuments) {
    logger.info('only trusted documents run', {
      file: config.trustedDocuments.file,
      documents: trustedDocuments.size,
    });
  }
  const db = await openDatabase(config.database, {
    transactionTimeoutMs: config.transactionTimeoutMs,
    logger,
  });
  let spicedb: SpiceDbConnection | undefined;
  let instanceLock: SqlClient | undefined;
  let decisions: DecisionCache;
  const auditFeed = new AuditFeed({ tenants: db.tenants, listen: db.listen, logger });
  let relay: OutboxRelay;
  let refresher: DecisionRefresher | undefined;
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
    const authzSchema = await readFile(AUTHZ_SCHEMA_FILE, 'utf8');
    await ensureSchema(spicedb, authzSchema);
    decisions = new DecisionCache({
      ttlMs: config.authz.cacheTtlMs,
      maxEntries: config.authz.cacheMaxEntries,
      // A write on a workflow forgets that workflow's decisions, not every decision — when
      // this process is SpiceDB's only writer (the embedded SpiceDB: one instance per
      // database), so every write passes its relay. With a SpiceDB server other instances
      // write too, and a denial cached here while another instance's write lands would
      // outlive this instance's next write: there every write forgets everything.
      ...(spicedb.kind === 'embedded'
        ? { selfContainedTypes: selfContainedTypes(authzSchema) }
        : {}),
    });
    // The embedded SpiceDB's writes forget per object: what a write forgot is asked again
    // in one check once it is applied. (With a server a write forgets everything.)
    refresher =
      spicedb.kind === 'embedded'
        ? new DecisionRefresher({
            cache: decisions,
            spicedb,
            deadlineMs: config.authz.deadlineMs,
            logger,
            metrics: authzMetrics,
          })
        : undefined;
    relay = new OutboxRelay({
      onWrite: (written, phase) =>
        refresher ? refresher.onWrite(written, phase) : void decisions.invalidate(written),
      prisma: db.prisma,
      spicedb,
      logger,
      deadlineMs: Math.max(config.authz.deadlineMs, 5_000),
      sweepIntervalMs: config.authz.outboxSweepIntervalMs,
      metrics: authzMetrics,
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
    await auditFeed.start();
  } catch (error) {
    spicedb?.close();
    await instanceLock?.close();
    await db.close();
    await metrics.close();
    throw error;
  }
  const spice = spicedb;
  // Gate 1 for service accounts: every request looks its key up (a revocation holds on
  // the next request, on every instance); last use is written in batches.
  const apiKeys = new ApiKeyVerifier({ lookup: db.apiKeys, pepper: apiKeyPepper, logger });
  const verifier = credentialVerifier({ jwt: jwtVerifier, apiKey: apiKeys });
  const checkpoints = new AuditCheckpointer({
    prisma: db.prisma,
    signer: auditSigner,
    intervalMs: config.audit.checkpointIntervalMs,
    logger,
  });
  checkpoints.start();
  if (config.authz.watchPolicies) policySource.watch();
  // The embedded SpiceDB has one writer, this relay (one instance per database): what it
  // wrote is known here, so no request looks recorded writes up in the database.
  const noWriteTimes = new Map<string, number>();
  const localWrites =
    spice.kind === 'embedded'
      ? (): RecordedWrites => ({ token: relay.latestToken, writtenAt: noWriteTimes })
      : undefined;

  const auditAppender = countedAppender(metrics.meter, options.auditAppender ?? defaultAppender);
  const pipeline = new OperationPipeline({
    schema,
    introspection: config.introspection,
    limits: { ...config.queryLimits, maxPage: MAX_PAGE, defaultPage: DEFAULT_PAGE },
    trustedDocuments,
    services: {
      tenants: db.tenants,
      authorizer: {
        spicedb: spice,
        deadlineMs: config.authz.deadlineMs,
        explain: config.authz.explain,
        userScopes: config.authz.requireUserScopes,
        cache: decisions,
        ...(localWrites ? { localWrites } : {}),
        policies,
        policyData,
        logger,
        metrics: authzMetrics,
      },
      ...(options.authorization
        ? { createAuthorizer: options.authorization.createAuthorizer }
        : {}),
      relay,
      audited,
      auditAppender,
      auditCommits: new AuditGroupCommit({ tenants: db.tenants, appender: auditAppender }),
      secrets,
      apiKeyPepper,
      jitProvisioning: config.auth.jitProvisioning,
      policyData,
      auditSigner,
      auditFeed,
      logger,
    },
  });

  const formatError = createFormatError({
    development: config.env === 'development',
    hideSuggestions: !config.introspection,
    logger,
  });
  const httpServer = http.createServer();
  const edge = new Edge(config, logger);
  observeEdge(metrics.meter, edge);
  observeAuditFeed(metrics.meter, auditFeed);
  observeOutbox(metrics.meter, relay, logger);
  if (db.pool) observePool(metrics.meter, db.pool);
  const apollo = new ApolloServer<GatehouseContext>({
    schema,
    introspection: config.introspection,
    validationRules: [...pipeline.rules.extra],
    // Refused while parsing: a huge document never becomes a tree (see QueryLimits).
    parseOptions: parseOptionsFor(pipeline.limits),
    hideSchemaDetailsFromClientErrors: !config.introspection,
    // With trusted documents the request's id is resolved before Apollo sees it; APQ's
    // registration would let a client run any text it registers.
    ...(trustedDocuments ? { persistedQueries: false as const } : {}),
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
      operationPlugin({
        pipeline,
        rateLimiter: edge.rateLimiter,
        format: (e) => formatError(e.toJSON(), e),
      }),
    ],
  });
  const ws = attachWebSocketServer({
    server: httpServer,
    path: '/graphql',
    pipeline,
    verifier,
    edge,
    formatError,
    corsOrigins: config.corsOrigins,
    maxMessageBytes: config.maxBodyBytes,
    maxSubscriptionsPerConnection: config.audit.maxSubscriptionsPerConnection,
    limits: config.webSocket,
    logger,
  });
  await apollo.start();
  await edge.start();

  const http_ = createHttpHandler({
    apollo,
    pipeline,
    verifier,
    edge,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    production: config.env === 'production',
    format: (e) => formatError(e.toJSON(), e),
    ready: readinessProbe(
      [
        { name: 'database', probe: () => db.tenants.ping() },
        {
          name: 'spicedb',
          probe: () =>
            spice.schema.readSchema(v1.ReadSchemaRequest.create({}), ...deadlineArgs(1_000)),
        },
        { name: 'policies', probe: () => Promise.resolve(policies.evaluates()) },
      ],
      { timeoutMs: 2_000, logger },
    ),
    meter: metrics.meter,
    logger,
    ...(graphiql ? { graphiql } : {}),
  });
  httpServer.on('request', http_.handle);

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
    auditFeed,
    auditCheckpoints: checkpoints,
    edge,
    reloadPolicies: (reason) => policySource.reload(reason),
    listen: () =>
      new Promise<void>((resolve, reject) => {
        httpServer.once('error', (error: NodeJS.ErrnoException) => {
          const where = `${config.host}:${config.port}`;
          if (error.code === 'EADDRINUSE') {
            reject(new Error(`PORT: ${where} is already in use (choose another PORT, or 0)`));
          } else if (error.code === 'EACCES') {
            reject(new Error(`PORT: not allowed to listen on ${where}`));
          } else reject(error);
        });
        httpServer.listen(config.port, config.host, () => {
          const address = httpServer.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          url = `http://${host}:${address.port}`;
          resolve();
        });
      }),
    stop() {
      stopping ??= (async () => {
        http_.stopAccepting();
        await policySource.close();
        await ws.close();
        await apollo.stop(); // drains the HTTP server within the grace period
        await Promise.race([
          http_.settled(),
          new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref()),
        ]);
        await edge.close();
        await apiKeys.close();
        await checkpoints.stop();
        await auditFeed.stop();
        await relay.stop();
        await refresher?.settled();
        spice.close();
        await instanceLock?.close();
        await db.close();
        await metrics.close();
      })();
      return stopping;
    },
  };
}
