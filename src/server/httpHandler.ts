/**
 * The HTTP side of the server: security headers, CORS allowlist, request ids, `/healthz`,
 * `/readyz`, and `/graphql` — authentication (gate 1), the body limit, then Apollo Server,
 * whose operations run through the operation pipeline (operationPlugin.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { authenticate } from '../authn/authenticateRequest.js';
import type { TokenVerifier } from '../authn/TokenVerifier.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import type { Logger } from '../observability/logger.js';
import type { OperationPipeline } from '../operation/OperationPipeline.js';
import { traceIdOf } from '../operation/traceContext.js';
import { BodyTooLargeError, readBody } from './readBody.js';
import { setSecurityHeaders } from './securityHeaders.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

function jsonError(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

export interface HttpHandlerOptions {
  readonly apollo: ApolloServer<GatehouseContext>;
  readonly pipeline: OperationPipeline;
  readonly verifier: TokenVerifier;
  readonly maxBodyBytes: number;
  readonly corsOrigins: readonly string[];
  readonly production: boolean;
  /** Whether every dependency answers (`/readyz`). */
  readonly ready: () => Promise<boolean>;
  /** The one normalisation point (errors/formatError.ts) for errors sent from here. */
  readonly format: (error: GraphQLError) => GraphQLFormattedError;
  readonly logger: Logger;
}

export interface HttpHandler {
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Refuse new GraphQL requests (a graceful stop has begun). */
  stopAccepting(): void;
  /** Settles when the handlers in flight have finished. */
  settled(): Promise<unknown>;
}

export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const { apollo, pipeline, verifier, logger } = options;
  const allowedOrigins = new Set(options.corsOrigins.map((o) => new URL(o).origin));
  const inFlight = new Set<Promise<void>>();
  let accepting = true;

  async function handleGraphQL(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
  ): Promise<void> {
    const auth = await authenticate(verifier, req.headers.authorization);
    if (auth.kind === 'rejected') {
      // No verified tenant, so no tenant's audit chain: the log has it (request id, client IP).
      logger.info('authentication rejected', {
        requestId,
        clientIp: req.socket.remoteAddress ?? '',
        reason: auth.reason,
      });
      jsonError(res, 401, ErrorCode.UNAUTHENTICATED, 'Authentication required', {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
      return;
    }
    let body: unknown;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, options.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          const limit = options.maxBodyBytes;
          jsonError(res, 413, ErrorCode.BAD_REQUEST, `Request body exceeds ${limit} bytes`);
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

    const url = new URL(req.url ?? '/', 'http://localhost');
    // Before Apollo hashes and parses it: a document over the token or nesting limits.
    const source =
      req.method === 'GET'
        ? url.searchParams.get('query')
        : (body as { query?: unknown } | undefined)?.query;
    const tooLarge = typeof source === 'string' ? pipeline.checkSource(source) : undefined;
    if (tooLarge) {
      res.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ errors: [options.format(tooLarge)] }));
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const operation = pipeline.begin({
      requestId,
      principal: auth.kind === 'authenticated' ? auth.principal : null,
      clientIp: req.socket.remoteAddress ?? '',
      traceId: traceIdOf(req.headers.traceparent),
    });
    let result;
    try {
      result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
        context: () => Promise.resolve(operation.context),
      });
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
        'Authorization, Content-Type, Apollo-Require-Preflight, X-Request-Id, traceparent',
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
        const ok = accepting && (await options.ready());
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
  }

  return {
    handle,
    stopAccepting() {
      accepting = false;
    },
    settled: () => Promise.allSettled(inFlight),
  };
}
