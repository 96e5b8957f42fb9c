/**
 * GraphQL over WebSocket (graphql-ws protocol) on the HTTP server's port and path.
 * The connection authenticates once, in `connection_init` (`{ authorization: "Bearer …" }`,
 * or the upgrade request's Authorization header); a bad token closes it with 4401, and
 * the connection is closed with 4401 when its token expires. Every operation runs through
 * the same pipeline as an HTTP request (src/operation/); a connection holds at most
 * WS_MAX_SUBSCRIPTIONS_PER_CONNECTION subscriptions.
 */
import { randomUUID } from 'node:crypto';
import {
  GraphQLError,
  type ExecutionArgs,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { authenticate } from '../authn/authenticateRequest.js';
import type { Principal } from '../authn/Principal.js';
import type { TokenVerifier } from '../authn/TokenVerifier.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { Logger } from '../observability/logger.js';
import type { OperationPipeline } from '../operation/OperationPipeline.js';
import { traceIdOf } from '../operation/traceContext.js';

export const CLOSE_UNAUTHORIZED = 4401;

const MAX_TIMER_MS = 2_147_483_647;

export interface WebSocketOptions {
  readonly wss: WebSocketServer;
  readonly pipeline: OperationPipeline;
  readonly verifier: TokenVerifier;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly maxSubscriptionsPerConnection: number;
  readonly logger: Logger;
}

interface Connection {
  principal: Principal | null;
  expiryTimer?: NodeJS.Timeout;
  /** Ids of the subscriptions running on this connection. */
  readonly subscriptions: Set<string>;
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
  const { pipeline } = options;
  const connections = new WeakMap<WebSocket, Connection>();
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => options.formatError(e.toJSON(), e));

  const disposable = useServer(
    {
      schema: pipeline.schema,
      async onConnect(ctx) {
        const fromParams = authorizationParam(ctx.connectionParams);
        const header =
          typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        // Malformed credentials (a number, an object, two spellings…) are rejected, never
        // downgraded.
        const auth =
          fromParams === undefined || fromParams === null || typeof fromParams === 'string'
            ? await authenticate(options.verifier, header)
            : ({ kind: 'rejected', reason: 'malformed_connection_params' } as const);
        if (auth.kind === 'rejected') {
          options.logger.info('websocket authentication rejected', {
            clientIp: ctx.extra.request.socket.remoteAddress ?? '',
            reason: auth.reason,
          });
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
          return false;
        }
        const principal = auth.kind === 'authenticated' ? auth.principal : null;
        const connection: Connection = { principal, subscriptions: new Set() };
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
        const timer = connections.get(ctx.extra.socket)?.expiryTimer;
        if (timer) clearTimeout(timer);
      },
      // Parse, validate and begin the operation here (instead of inside graphql-ws) so that
      // request errors carry the same codes as over HTTP and never close the socket.
      onSubscribe(ctx, id, payload) {
        const prepared = pipeline.prepare(payload.query, payload.operationName, payload.variables);
        if (prepared.kind === 'refused') return [...prepared.errors];
        const connection = connections.get(ctx.extra.socket);
        if (prepared.subscription && connection) {
          const max = options.maxSubscriptionsPerConnection;
          if (connection.subscriptions.size >= max) {
            return [
              new GraphQLError(`This connection already holds ${max} subscriptions (the limit)`, {
                extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS, limit: max },
              }),
            ];
          }
          connection.subscriptions.add(id);
        }
        const request = ctx.extra.request;
        const operation = pipeline.begin({
          requestId: randomUUID(),
          principal: connection?.principal ?? null,
          clientIp: request.socket.remoteAddress ?? '',
          traceId: traceIdOf(request.headers.traceparent),
        });
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
      execute: (args: ExecutionArgs) => pipeline.execute(args),
      subscribe: (args: ExecutionArgs) => pipeline.subscribe(args),
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return undefined;
        return { ...result, errors: format(result.errors) } as FormattedExecutionResult;
      },
    },
    options.wss,
  );

  return {
    async close() {
      for (const client of options.wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
    },
  };
}
