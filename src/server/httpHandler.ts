/**
 * The HTTP side of the server: security headers, CORS allowlist, request ids, `/healthz`,
 * `/readyz` (GET or HEAD; a trailing slash is the same path), and `/graphql` — the
 * lockout of addresses with too many failed authentications (429), authentication
 * (gate 1; a bad credential is a 401 with `WWW-Authenticate`), the body limit, then
 * Apollo Server, whose operations run through the operation pipeline (operationPlugin.ts).
 * Errors answered here have the body of every other error, in the media type the client
 * accepts (`application/graphql-response+json` or JSON).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import { context, type Meter } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { authenticate } from '../authn/authenticateRequest.js';
import type { CredentialVerifier } from '../authn/credentialVerifier.js';
import type { Edge } from '../edge/Edge.js';
import { lockedOutError, rateLimitedError, rateLimitHeaders } from '../edge/rateLimitHeaders.js';
import { codedError } from '../errors/clientErrors.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import { UnauthenticatedReason } from '../errors/UnauthenticatedReason.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import type { Logger } from '../observability/logger.js';
import type { OperationPipeline } from '../operation/OperationPipeline.js';
import { requestTraceId } from '../operation/traceContext.js';
import { withTraceId } from '../errors/withTraceId.js';
import { withRequestLogger } from '../observability/requestLogger.js';
import type { GraphiQLRoutes } from './graphiql/graphiqlRoutes.js';
import { resolveHttpDocument } from './httpDocument.js';
import { BodyTooLargeError, readBody } from './readBody.js';
import type { Readiness } from './readiness.js';
import { setSecurityHeaders } from './securityHeaders.js';
import { unauthorized } from './unauthorized.js';
import { SECONDS_BUCKETS } from '../observability/buckets.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The routes served (`http.route`); anything else is a 404 without one. */
const ROUTES = new Set(['/graphql', '/healthz', '/readyz']);

/** Methods named as they are in `http.request.method`; any other is `_OTHER` (semconv). */
const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
]);

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

/** The media type of an answer: GraphQL over HTTP's when the client accepts it, else JSON. */
function responseType(accept: string | undefined): string {
  const wanted = (accept ?? '').toLowerCase().includes(GRAPHQL_RESPONSE);
  return `${wanted ? GRAPHQL_RESPONSE : 'application/json'}; charset=utf-8`;
}

export interface HttpHandlerOptions {
  readonly apollo: ApolloServer<GatehouseContext>;
  readonly pipeline: OperationPipeline;
  readonly verifier: CredentialVerifier;
  readonly edge: Edge;
  readonly maxBodyBytes: number;
  readonly corsOrigins: readonly string[];
  readonly production: boolean;
  /** Whether every dependency answers (`/readyz`; server/readiness.ts). */
  readonly ready: () => Promise<Readiness>;
  /** The one normalisation point (errors/formatError.ts) for errors sent from here. */
  readonly format: (error: GraphQLError) => GraphQLFormattedError;
  readonly logger: Logger;
  /** Records `http.server.request.duration`. */
  readonly meter: Meter;
  /** The IDE's page and files (GRAPHIQL_ENABLED); absent: no IDE, every route as before. */
  readonly graphiql?: GraphiQLRoutes;
}

export interface HttpHandler {
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Refuse new GraphQL requests (a graceful stop has begun). */
  stopAccepting(): void;
  /** Settles when the handlers in flight have finished. */
  settled(): Promise<unknown>;
}

export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const { apollo, pipeline, verifier, edge, logger } = options;
  const allowedOrigins = new Set(options.corsOrigins.map((o) => new URL(o).origin));
  const inFlight = new Set<Promise<void>>();
  let accepting = true;
  const duration = options.meter.createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests',
    unit: 's',
    advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  });

  function sendError(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    error: GraphQLError,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'Content-Type': responseType(req.headers.accept), ...headers });
    const traceId = requestTraceId(req.headers.traceparent);
    res.end(JSON.stringify({ errors: withTraceId([options.format(error)], traceId) }));
  }

  async function handleGraphQL(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
  ): Promise<void> {
    const clientIp = edge.clientIp(req);
    const lockedMs = await edge.lockout.lockedForMs(clientIp);
    if (lockedMs > 0) {
      const error = lockedOutError(lockedMs);
      sendError(req, res, 429, error, { 'Retry-After': String(error.extensions['retryAfter']) });
      return;
    }
    const auth = await authenticate(verifier, {
      authorization: req.headers.authorization,
      apiKey: req.headers['x-api-key'],
    });
    if (auth.kind === 'rejected') {
      // No verified tenant, so no tenant's audit chain: the log has it (request id, client IP).
      // Debug only: a flood of bad tokens must not flood the log (gatehouse.authn.failures
      // counts them, and the lockout stops them).
      logger.debug('authentication rejected', {
        requestId,
        traceId: requestTraceId(req.headers.traceparent),
        clientIp,
        reason: auth.reason,
        ...(auth.detail ? { detail: auth.detail } : {}),
      });
      await edge.lockout.recordFailure(clientIp);
      const refused = unauthorized(UnauthenticatedReason.INVALID_CREDENTIALS);
      sendError(req, res, 401, refused.error, { 'WWW-Authenticate': refused.wwwAuthenticate });
      return;
    }
    const principal = auth.kind === 'authenticated' ? auth.principal : null;
    /**
     * Refuses the request before GraphQL sees it — after taking a point of the caller's
     * budget, so a flood of refused requests is limited too (429 once it is spent).
     */
    const refuse = async (status: number, error: GraphQLError): Promise<void> => {
      const decision = await edge.rateLimiter.charge({ principal, clientIp }, 1);
      const headers = rateLimitHeaders(decision);
      if (decision.allowed) sendError(req, res, status, error, headers);
      else sendError(req, res, 429, rateLimitedError(decision), headers);
    };
    let body: unknown;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, options.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          const limit = options.maxBodyBytes;
          await refuse(
            413,
            codedError(ErrorCode.BAD_REQUEST, `Request body exceeds ${limit} bytes`),
          );
          return;
        }
        throw error;
      }
      if ((req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
        try {
          body = JSON.parse(text);
        } catch {
          await refuse(400, codedError(ErrorCode.BAD_REQUEST, 'Request body is not valid JSON'));
          return;
        }
      }
    }

    const url = new URL(req.url ?? '/', 'http://localhost');
    // Which document runs (trusted documents, persisted-query checks): httpDocument.ts.
    const named = resolveHttpDocument(pipeline, req.method, url, body, principal);
    if (named.kind === 'refused') {
      await refuse(400, named.error);
      return;
    }
    body = named.body;
    // Before Apollo hashes and parses it: a document over the token or nesting limits.
    const source =
      req.method === 'GET'
        ? url.searchParams.get('query')
        : (body as { query?: unknown } | undefined)?.query;
    const tooLarge = typeof source === 'string' ? pipeline.checkSource(source) : undefined;
    if (tooLarge) {
      await refuse(400, tooLarge);
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const operation = pipeline.begin({
      requestId,
      principal,
      clientIp,
      traceId: requestTraceId(req.headers.traceparent),
    });
    let result;
    try {
      result = await withRequestLogger(operation.context.logger, () =>
        apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
          context: () => Promise.resolve(operation.context),
        }),
      );
    } finally {
      // Requests Apollo refused before executing never reached the plugin's end.
      await operation.complete({}, (e) => e);
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

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const incoming = req.headers['x-request-id'];
    const requestId =
      typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    setSecurityHeaders(res, options.production);
    const origin = req.headers.origin;
    if (origin && allowedOrigins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader(
        'Access-Control-Allow-Headers',
        'Authorization, X-API-Key, Content-Type, Apollo-Require-Preflight, X-Request-Id, traceparent',
      );
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    // `/graphql/` is `/graphql`.
    const path = (req.url ?? '/').split('?')[0]?.replace(/(.)\/$/, '$1');
    const route = path !== undefined && ROUTES.has(path) ? path : undefined;
    // The HTTP server span (when tracing) is named after its route.
    const rpc = getRPCMetadata(context.active());
    if (route && rpc?.type === RPCType.HTTP) rpc.route = route;
    const started = performance.now();
    res.once('close', () => {
      const method = req.method !== undefined && METHODS.has(req.method) ? req.method : '_OTHER';
      duration.record((performance.now() - started) / 1000, {
        'http.request.method': method,
        'http.response.status_code': res.statusCode,
        'url.scheme': 'http',
        ...(route ? { 'http.route': route } : {}),
      });
    });
    const probe = req.method === 'GET' || req.method === 'HEAD';
    const serve = async (): Promise<void> => {
      if (options.graphiql && path !== undefined && (await options.graphiql.answer(req, res, path)))
        return;
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
      } else if (path === '/healthz' && probe) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : '{"status":"ok"}');
      } else if (path === '/readyz' && probe) {
        // A stopping instance is not ready, whatever its dependencies say.
        const readiness: Readiness = accepting
          ? await options.ready()
          : { ready: false, checks: { serving: 'failed' } };
        res.writeHead(readiness.ready ? 200 : 503, { 'Content-Type': 'application/json' });
        res.end(
          req.method === 'HEAD'
            ? undefined
            : JSON.stringify({
                status: readiness.ready ? 'ready' : 'unavailable',
                checks: readiness.checks,
              }),
        );
      } else if (path === '/healthz' || path === '/readyz') {
        sendError(
          req,
          res,
          405,
          codedError(
            ErrorCode.METHOD_NOT_ALLOWED,
            `${req.method ?? ''} is not allowed here (GET or HEAD)`,
          ),
          {
            Allow: 'GET, HEAD',
          },
        );
      } else if (path === '/graphql') {
        if (req.method !== 'GET' && req.method !== 'POST') {
          const error = codedError(
            ErrorCode.METHOD_NOT_ALLOWED,
            `${req.method ?? ''} is not allowed on /graphql (GET for queries, POST for any operation)`,
          );
          sendError(req, res, 405, error, { Allow: 'GET, POST, OPTIONS' });
          return;
        }
        if (!accepting) {
          const error = codedError(ErrorCode.SHUTTING_DOWN, 'Server is shutting down');
          sendError(req, res, 503, error, { Connection: 'close' });
          return;
        }
        await handleGraphQL(req, res, requestId);
      } else {
        sendError(req, res, 404, codedError(ErrorCode.NOT_FOUND, 'Not found'));
      }
    };
    const handled = serve().catch((error: unknown) => {
      // The client went away mid-request (closed its connection): nothing failed here.
      if (req.destroyed && (error as NodeJS.ErrnoException | null)?.code === 'ECONNRESET') {
        logger.info('client closed the connection mid-request', { requestId });
        res.destroy();
        return;
      }
      logger.error('request failed', {
        requestId,
        traceId: requestTraceId(req.headers.traceparent),
        error,
      });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Already logged: written as it is (the normalisation point would log it again).
      res.writeHead(500, { 'Content-Type': responseType(req.headers.accept) });
      const internal = {
        message: 'Internal server error',
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      };
      const traceId = requestTraceId(req.headers.traceparent);
      res.end(JSON.stringify({ errors: withTraceId([internal], traceId) }));
    });
    // Tracked so a graceful stop waits for handlers whose client already went away.
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  }

  return {
    handle,
    stopAccepting() {
      accepting = false;
    },
    settled: () => Promise.allSettled(inFlight),
  };
}
