/**
 * Apollo Server's side of the operation pipeline: an operation over a query limit is
 * answered 400 with its limits' errors before anything executes (the token limit is
 * Apollo's parse option; its error gets the limit's code here); one within them takes its
 * cost from the caller's rate-limit budget, or is answered 429 (a request refused before
 * it had a cost — it did not parse or validate — takes one point); every HTTP operation ends
 * through {@link Operation.complete} (REJECT_OPERATION, closing its transactions, its audit
 * events) before the response is sent; a commit that fails answers 500. An operation of
 * which nothing could be answered for want of a valid identity is the one 401
 * (unauthorized.ts). A subscription sent over HTTP is refused with 400 (subscriptions are
 * served over WebSocket).
 */
import { HeaderMap, type ApolloServerPlugin, type HTTPGraphQLHead } from '@apollo/server';
import { GraphQLError, OperationTypeNode, type GraphQLFormattedError } from 'graphql';
import { trace } from '@opentelemetry/api';
import { ErrorCode } from '../errors/ErrorCode.js';
import { isUnauthenticatedReason, UnauthenticatedReason } from '../errors/UnauthenticatedReason.js';
import { withTraceId } from '../errors/withTraceId.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import type { Operation } from '../operation/Operation.js';
import type { OperationPipeline } from '../operation/OperationPipeline.js';
import { tokenLimitError } from '../operation/limits/QueryLimits.js';
import type { RateLimiter } from '../edge/RateLimiter.js';
import { rateLimitedError, rateLimitHeaders } from '../edge/rateLimitHeaders.js';
import { unauthorized } from './unauthorized.js';

export function operationPlugin(options: {
  readonly pipeline: OperationPipeline;
  readonly rateLimiter: RateLimiter;
  readonly format: (error: GraphQLError) => GraphQLFormattedError;
}): ApolloServerPlugin<GatehouseContext> {
  const { pipeline, rateLimiter, format } = options;
  const charged = new WeakSet<Operation>();

  /** Takes `cost` from the operation's budget; its headers, and its error when refused. */
  async function charge(
    operation: Operation,
    cost: number,
    http: HTTPGraphQLHead,
  ): Promise<GraphQLError | undefined> {
    charged.add(operation);
    const decision = await rateLimiter.charge(operation.identity, cost);
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) {
      http.headers.set(name.toLowerCase(), value);
    }
    return decision.allowed ? undefined : rateLimitedError(decision);
  }

  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ operation }) {
          // The HTTP server span (when tracing) names the operation (GraphQL semconv).
          trace.getActiveSpan()?.setAttributes({
            'graphql.operation.type': operation?.operation ?? 'unknown',
            ...(operation?.name ? { 'graphql.operation.name': operation.name.value } : {}),
          });
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
            throw new GraphQLError(
              'Subscriptions are served over WebSocket (graphql-ws) on this path, not over HTTP',
              {
                extensions: {
                  code: ErrorCode.SUBSCRIPTION_REQUIRES_WEBSOCKET,
                  http: { status: 400 },
                },
              },
            );
          }
          return Promise.resolve();
        },
        async responseForOperation({ document, operationName, request, contextValue, response }) {
          const verdict = pipeline.checkOperation(document, operationName, request.variables);
          if (verdict.errors.length > 0) {
            return {
              http: { status: 400, headers: new HeaderMap() },
              body: { kind: 'single', singleResult: { errors: verdict.errors.map(format) } },
            };
          }
          const operation = pipeline.operationOf(contextValue);
          const limited = await charge(operation, verdict.cost, response.http);
          if (!limited) return null;
          return {
            http: { status: 429, headers: response.http.headers },
            body: { kind: 'single', singleResult: { errors: [format(limited)] } },
          };
        },
        async willSendResponse({ response, contextValue }) {
          const operation = pipeline.operationOf(contextValue);
          if (!charged.has(operation)) {
            // Refused before it had a cost: one point, so a flood of bad documents is limited too.
            const limited = await charge(operation, 1, response.http);
            if (limited) {
              response.http.status = 429;
              response.body = { kind: 'single', singleResult: { errors: [format(limited)] } };
            }
          }
          const body = response.body;
          if (body.kind === 'single') {
            // graphql-js stopped parsing at the token limit: say so with the limit's code.
            const [first, ...rest] = body.singleResult.errors ?? [];
            const tooLong =
              first?.extensions?.['code'] === ErrorCode.GRAPHQL_PARSE_FAILED && rest.length === 0
                ? tokenLimitError(first.message)
                : undefined;
            if (tooLong) body.singleResult = { errors: [format(tooLong)] };
          }
          try {
            if (body.kind === 'single') {
              body.singleResult = await operation.complete(body.singleResult, format);
              const refused = refusedAs(body.singleResult);
              if (refused) {
                // Nothing could be answered to an anonymous caller or a deactivated account:
                // the one 401 body (with data beside an UNAUTHENTICATED field it stays 200).
                const answer = unauthorized(refused);
                body.singleResult = { errors: [format(answer.error)] };
                response.http.status = 401;
                response.http.headers.set('www-authenticate', answer.wwwAuthenticate);
              }
            } else {
              await operation.complete({}, format);
            }
          } catch (error) {
            contextValue.logger.error('commit failed', { error });
            response.http.status = 500;
            response.body = {
              kind: 'single',
              singleResult: {
                errors: [
                  {
                    message: 'Internal server error',
                    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
                  },
                ],
              },
            };
          }
          const sent = response.body;
          if (sent.kind === 'single' && sent.singleResult.errors) {
            sent.singleResult.errors = withTraceId(
              sent.singleResult.errors,
              operation.identity.traceId,
            );
          }
        },
      });
    },
  };
}

/**
 * Why a result is refused as a whole, or undefined when it is not: no data and every error
 * UNAUTHENTICATED — an anonymous caller, or a deactivated account (its operation rejected
 * as a whole, no `data` at all). The errors' own reason says which.
 */
function refusedAs(result: {
  readonly data?: unknown;
  readonly errors?: readonly GraphQLFormattedError[];
}): UnauthenticatedReason | undefined {
  const errors = result.errors ?? [];
  const nothing =
    (result.data === null || result.data === undefined) &&
    errors.length > 0 &&
    errors.every((e) => e.extensions?.['code'] === ErrorCode.UNAUTHENTICATED);
  if (!nothing) return undefined;
  const reason = errors.find((e) => isUnauthenticatedReason(e.extensions?.['reason']))
    ?.extensions?.['reason'];
  return isUnauthenticatedReason(reason) ? reason : UnauthenticatedReason.CREDENTIALS_REQUIRED;
}
