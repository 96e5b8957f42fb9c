/**
 * GraphQL over WebSocket (graphql-ws protocol) on the HTTP server's port and path.
 *
 * The upgrade is refused (403) when its `Origin` is neither one of CORS_ORIGINS nor the
 * server's own (cross-site WebSocket hijacking); clients that send no Origin (not a
 * browser) are let through. The connection authenticates once, in `connection_init`
 * (`{ authorization: "Bearer …" }`, or the upgrade request's Authorization header), which
 * must come within WS_CONNECTION_INIT_TIMEOUT_MS (else graphql-ws closes with 4408); a bad
 * token closes it with 4401 and counts towards the address's lockout, and the connection
 * is closed with 4401 when its token expires.
 *
 * Limits: messages of at most MAX_BODY_BYTES (larger: closed with 1009), connections per
 * principal (per address when anonymous), subscriptions per connection, operations per
 * second per connection — over it an operation gets RATE_LIMITED, at twice it the
 * connection is closed — and, as over HTTP, each operation's cost taken from the caller's
 * rate-limit budget (RATE_LIMITED for that operation; the socket stays open). A locked
 * address or too many connections closes with 4429.
 *
 * Every operation runs through the same pipeline as an HTTP request (src/operation/).
 */
import { randomUUID } from 'node:crypto';
import {
  GraphQLError,
  type ExecutionArgs,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { context, isSpanContextValid, trace, type Span } from '@opentelemetry/api';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { authenticate } from '../authn/authenticateRequest.js';
import type { Principal } from '../authn/Principal.js';
import type { CredentialVerifier } from '../authn/credentialVerifier.js';
import type { WebSocketConfig } from '../config.js';
import type { Edge } from '../edge/Edge.js';
import { lockedOutError, rateLimitedError } from '../edge/rateLimitHeaders.js';
import { subjectKey } from '../edge/RateLimiter.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { Logger } from '../observability/logger.js';
import type { OperationPipeline, Prepared } from '../operation/OperationPipeline.js';
import { traceIdOf } from '../operation/traceContext.js';
import { withTraceId } from '../errors/withTraceId.js';
import { withRequestLogger } from '../observability/requestLogger.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import { failed } from '../observability/spans.js';
import { nameOperationSpan, startOperationSpan } from './websocketSpan.js';

export const CLOSE_UNAUTHORIZED = 4401;
/** A locked address, too many connections, or a flood of operations. */
export const CLOSE_TOO_MANY = 4429;

const MAX_TIMER_MS = 2_147_483_647;

export interface WebSocketOptions {
  readonly server: Server;
  readonly path: string;
  readonly pipeline: OperationPipeline;
  readonly verifier: CredentialVerifier;
  readonly edge: Edge;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly corsOrigins: readonly string[];
  readonly maxMessageBytes: number;
  readonly maxSubscriptionsPerConnection: number;
  readonly limits: WebSocketConfig;
  readonly logger: Logger;
}

interface Connection {
  principal: Principal | null;
  readonly clientIp: string;
  /** Whose connection count it is in. */
  readonly owner: string;
  expiryTimer?: NodeJS.Timeout;
  /** Ids of the subscriptions running on this connection. */
  readonly subscriptions: Set<string>;
  /** Operations begun in the current second (since `windowStart`). */
  windowStart: number;
  operations: number;
}

/**
 * Whether a browser page at `origin` may open a socket: no Origin (not a browser), one of
 * CORS_ORIGINS, or the server's own origin (the Host it was reached at).
 */
function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

const AMBIGUOUS = Symbol('ambiguous');

/**
 * The `authorization` connection parameter, whatever its case (clients send
 * `Authorization` as often as `authorization`, as HTTP headers are case-insensitive).
 * Two spellings at once are ambiguous: AMBIGUOUS, which is rejected.
 */
function authorizationParam(params: Record<string, unknown> | undefined): unknown {
  if (!params) return undefined;
  const keys = Object.keys(params).filter((k) => k.toLowerCase() === 'authorization');
  if (keys.length > 1) return AMBIGUOUS;
  return keys[0] === undefined ? undefined : params[keys[0]];
}

export function attachWebSocketServer(options: WebSocketOptions): { close(): Promise<void> } {
  const { pipeline, edge, limits, logger } = options;
  const allowedOrigins = new Set(options.corsOrigins.map((o) => new URL(o).origin));
  // `noServer`: the HTTP server's upgrades are handed over below. (With `server`, ws would
  // re-emit the HTTP server's own errors — a port already taken — as WebSocket server
  // errors, which graphql-ws prints with a stack trace.) handleUpgrade still answers 400
  // to an upgrade of another path.
  const wss = new WebSocketServer({
    noServer: true,
    path: options.path,
    maxPayload: options.maxMessageBytes,
    verifyClient: ({ req }, done) => {
      if (originAllowed(req, allowedOrigins)) return done(true);
      logger.info('websocket upgrade refused: origin not allowed', {
        origin: req.headers.origin,
        clientIp: edge.clientIp(req),
      });
      done(false, 403, 'Origin not allowed');
    },
  });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.server.on('upgrade', onUpgrade);
  const connections = new WeakMap<WebSocket, Connection>();
  /**
   * Whether an operation of `connection` may run: its document resolved (trusted documents,
   * persisted-query checks: TrustedDocuments.ts), parsed and validated within the limits,
   * a subscription within the connection's count, its cost taken from the budget.
   */
  async function admit(
    connection: Connection,
    id: string,
    payload: SubscribePayload,
  ): Promise<
    | { readonly kind: 'refused'; readonly errors: readonly GraphQLError[] }
    | { readonly kind: 'admitted'; readonly prepared: Extract<Prepared, { kind: 'ok' }> }
  > {
    const named = pipeline.resolveDocument(payload, connection.principal);
    if (named.kind === 'refused') return { kind: 'refused', errors: [named.error] };
    const query = named.kind === 'trusted' ? named.query : payload.query;
    const prepared = pipeline.prepare(query, payload.operationName, payload.variables);
    if (prepared.kind === 'refused') return { kind: 'refused', errors: prepared.errors };
    if (prepared.subscription) {
      const max = options.maxSubscriptionsPerConnection;
      if (connection.subscriptions.size >= max) {
        const error = new GraphQLError(
          `This connection already holds ${max} subscriptions (the limit)`,
          { extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS, limit: max } },
        );
        return { kind: 'refused', errors: [error] };
      }
      connection.subscriptions.add(id);
    }
    const identity = { principal: connection.principal, clientIp: connection.clientIp };
    const decision = await edge.rateLimiter.charge(identity, prepared.cost);
    if (!decision.allowed) {
      connection.subscriptions.delete(id);
      return { kind: 'refused', errors: [rateLimitedError(decision)] };
    }
    return { kind: 'admitted', prepared };
  }

  /** Each operation's span (its context is the key), ended when it has run or subscribed. */
  const spans = new WeakMap<object, Span>();

  /**
   * Runs `work` (graphql-ws's execute or subscribe) in its operation's span, then ends it:
   * a subscription's span covers subscribing; its events are resolved in their own
   * operations (observability: their SQL and checks are spans of their own traces).
   */
  async function inOperationSpan<T>(args: ExecutionArgs, work: () => T | Promise<T>): Promise<T> {
    const span = spans.get(args.contextValue as object);
    if (!span) return work();
    try {
      return await context.with(trace.setSpan(context.active(), span), work);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }
  /** Open connections per principal (or anonymous address). */
  const perOwner = new Map<string, number>();
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => options.formatError(e.toJSON(), e));

  const disposable = useServer(
    {
      schema: pipeline.schema,
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      async onConnect(ctx) {
        const clientIp = edge.clientIp(ctx.extra.request);
        const lockedMs = await edge.lockout.lockedForMs(clientIp);
        if (lockedMs > 0) {
          ctx.extra.socket.close(CLOSE_TOO_MANY, lockedOutError(lockedMs).message.slice(0, 120));
          return false;
        }
        const fromParams = authorizationParam(ctx.connectionParams);
        const header =
          typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        // Malformed credentials (a number, an object, two spellings…) are rejected, never
        // downgraded.
        const auth =
          fromParams === undefined || fromParams === null || typeof fromParams === 'string'
            ? await authenticate(options.verifier, { authorization: header })
            : ({ kind: 'rejected', reason: 'malformed_connection_params' } as const);
        if (auth.kind === 'rejected') {
          logger.debug('websocket authentication rejected', { clientIp, reason: auth.reason });
          await edge.lockout.recordFailure(clientIp);
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
          return false;
        }
        const principal = auth.kind === 'authenticated' ? auth.principal : null;
        const owner = subjectKey({ principal, clientIp });
        const open = perOwner.get(owner) ?? 0;
        if (open >= limits.maxConnectionsPerPrincipal) {
          logger.info('websocket refused: too many connections', { clientIp, open });
          ctx.extra.socket.close(
            CLOSE_TOO_MANY,
            `Too many connections (WS_MAX_CONNECTIONS_PER_PRINCIPAL is ${limits.maxConnectionsPerPrincipal})`,
          );
          return false;
        }
        perOwner.set(owner, open + 1);
        const connection: Connection = {
          principal,
          clientIp,
          owner,
          subscriptions: new Set(),
          windowStart: Date.now(),
          operations: 0,
        };
        if (principal) {
          const ms = Math.min(principal.expiresAt * 1000 - Date.now(), MAX_TIMER_MS);
          connection.expiryTimer = setTimeout(
            () => ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Token expired'),
            ms,
          );
          connection.expiryTimer.unref();
        }
        connections.set(ctx.extra.socket, connection);
        return true;
      },
      onClose(ctx) {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return;
        connections.delete(ctx.extra.socket);
        if (connection.expiryTimer) clearTimeout(connection.expiryTimer);
        const open = (perOwner.get(connection.owner) ?? 1) - 1;
        if (open > 0) perOwner.set(connection.owner, open);
        else perOwner.delete(connection.owner);
      },
      // Parse, validate and begin the operation here (instead of inside graphql-ws) so that
      // request errors carry the same codes as over HTTP and never close the socket.
      async onSubscribe(ctx, id, payload) {
        const connection = connections.get(ctx.extra.socket);
        // graphql-ws subscribes only on acknowledged connections, which onConnect recorded.
        if (!connection) throw new Error('websocket: an operation on an unrecorded connection');
        const flooding = countOperation(connection, limits.maxOperationsPerSecond);
        if (flooding !== 'ok') {
          const max = limits.maxOperationsPerSecond;
          // Past twice the rate the client ignores the refusals: the connection goes.
          if (flooding === 'close')
            ctx.extra.socket.close(CLOSE_TOO_MANY, 'Too many operations a second');
          return [
            new GraphQLError(
              `More than ${max} operations a second on this connection (WS_MAX_OPERATIONS_PER_SECOND)`,
              { extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: 1, limit: max } },
            ),
          ];
        }
        const span = startOperationSpan(ctx.extra.request.headers);
        const admitted = await context.with(trace.setSpan(context.active(), span), () =>
          admit(connection, id, payload),
        );
        if (admitted.kind === 'refused') {
          if (span.isRecording()) {
            span.setAttribute('gatehouse.refused', String(admitted.errors[0]?.extensions['code']));
          }
          span.end();
          return admitted.errors;
        }
        const { prepared } = admitted;
        nameOperationSpan(span, prepared.document, payload.operationName);
        const operation = pipeline.begin({
          requestId: randomUUID(),
          principal: connection.principal,
          clientIp: connection.clientIp,
          traceId: isSpanContextValid(span.spanContext())
            ? span.spanContext().traceId
            : traceIdOf(ctx.extra.request.headers.traceparent),
        });
        spans.set(operation.context, span);
        return {
          schema: pipeline.schema,
          document: prepared.document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: operation.context,
        };
      },
      onComplete(ctx, id) {
        connections.get(ctx.extra.socket)?.subscriptions.delete(id);
      },
      execute: (args: ExecutionArgs) => inOperationSpan(args, () => pipeline.execute(args)),
      subscribe: (args: ExecutionArgs) => inOperationSpan(args, () => pipeline.subscribe(args)),
      onError: (ctx, _id, _payload, errors) =>
        withTraceId(format(errors), traceIdOf(ctx.extra.request.headers.traceparent)),
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors) return undefined;
        const { errors } = result;
        const operation = pipeline.operationOf(args.contextValue as GatehouseContext);
        const formatted = withRequestLogger(operation.context.logger, () => format(errors));
        return {
          ...result,
          errors: withTraceId(formatted, operation.identity.traceId),
        } as FormattedExecutionResult;
      },
    },
    wss,
  );

  return {
    async close() {
      options.server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
    },
  };
}

/**
 * Counts an operation in its connection's current second: `ok`, `refuse` past the limit,
 * `close` past twice the limit (a client that ignores the refusals is flooding).
 */
function countOperation(connection: Connection, max: number): 'ok' | 'refuse' | 'close' {
  const now = Date.now();
  if (now - connection.windowStart >= 1_000) {
    connection.windowStart = now;
    connection.operations = 0;
  }
  connection.operations += 1;
  if (connection.operations > 2 * max) return 'close';
  return connection.operations > max ? 'refuse' : 'ok';
}
