/**
 * GraphQL over WebSocket (graphql-ws protocol) on the HTTP server's port and path.
 * The connection authenticates once, in `connection_init` (`{ authorization: "Bearer …" }`,
 * or the upgrade request's Authorization header); a bad token closes it with 4401, and
 * the connection is closed with 4401 when its token expires. Every operation gets its own
 * context and unit of work, exactly like an HTTP request.
 */
import { randomUUID } from 'node:crypto';
import {
  execute as graphqlExecute,
  getOperationAST,
  GraphQLError,
  parse,
  type DocumentNode,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  validate as graphqlValidate,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { authenticate } from '../authn/authenticateRequest.js';
import type { Principal } from '../authn/Principal.js';
import type { TokenVerifier } from '../authn/TokenVerifier.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import type { Logger } from '../observability/logger.js';

export const CLOSE_UNAUTHORIZED = 4401;

function withCode(
  error: GraphQLError,
  code: ErrorCode,
  message: string = error.message,
): GraphQLError {
  return new GraphQLError(message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    extensions: { ...error.extensions, code },
  });
}

/** Without introspection, validation messages must not suggest field names. */
function hideSuggestions(message: string): string {
  return message.replace(/ Did you mean .+\?$/, '');
}
const MAX_TIMER_MS = 2_147_483_647;

export interface WebSocketOptions {
  readonly wss: WebSocketServer;
  readonly schema: GraphQLSchema;
  readonly verifier: TokenVerifier;
  readonly introspection: boolean;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly contextFor: (
    requestId: string,
    principal: Principal | null,
    clientIp: string,
  ) => GatehouseContext;
  readonly logger: Logger;
}

interface Connection {
  principal: Principal | null;
  expiryTimer?: NodeJS.Timeout;
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
  const connections = new WeakMap<WebSocket, Connection>();
  const rules = options.introspection
    ? specifiedRules
    : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => options.formatError(e.toJSON(), e));

  const disposable = useServer(
    {
      schema: options.schema,
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
          options.logger.info('websocket authentication rejected', { reason: auth.reason });
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
          return false;
        }
        const principal = auth.kind === 'authenticated' ? auth.principal : null;
        const connection: Connection = { principal };
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
      // Parse, validate and pick the operation here (instead of inside graphql-ws) so that
      // request errors carry the same codes as over HTTP and never close the socket.
      onSubscribe(ctx, _id, payload) {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError)
            return [withCode(error, ErrorCode.GRAPHQL_PARSE_FAILED)];
          throw error;
        }
        const invalid = graphqlValidate(options.schema, document, rules);
        if (invalid.length > 0) {
          return invalid.map((e) =>
            withCode(
              e,
              ErrorCode.GRAPHQL_VALIDATION_FAILED,
              options.introspection ? e.message : hideSuggestions(e.message),
            ),
          );
        }
        if (!getOperationAST(document, payload.operationName)) {
          return [
            new GraphQLError(
              'Could not determine which operation to run (name it with operationName)',
              {
                extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE },
              },
            ),
          ];
        }
        const principal = connections.get(ctx.extra.socket)?.principal ?? null;
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: options.contextFor(
            randomUUID(),
            principal,
            ctx.extra.request.socket.remoteAddress ?? '',
          ),
        };
      },
      async execute(args: ExecutionArgs): Promise<ExecutionResult> {
        const context = args.contextValue as GatehouseContext;
        try {
          const result = await graphqlExecute(args);
          // A field declared onDeny: REJECT_OPERATION was denied: no data, only its errors.
          if (context.authz.rejections.length > 0) return { errors: [...context.authz.rejections] };
          // Errors without data are request errors: variables that do not coerce.
          if (!('data' in result) && result.errors) {
            return { errors: result.errors.map((e) => withCode(e, ErrorCode.BAD_USER_INPUT)) };
          }
          return result;
        } finally {
          await context.data?.uow.finish();
        }
      },
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
