/**
 * Apollo Server's side of the operation pipeline: an operation over a query limit is
 * answered 400 with its limits' errors before anything executes (the token limit is
 * Apollo's parse option; its error gets the limit's code here); every HTTP operation ends
 * through {@link Operation.complete} (REJECT_OPERATION, closing its transactions, its audit
 * events) before the response is sent; a commit that fails answers 500. A subscription
 * sent over HTTP is refused with 400 (subscriptions are served over WebSocket).
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import type { Logger } from '../observability/logger.js';
import type { OperationPipeline } from '../operation/OperationPipeline.js';
import { tokenLimitError } from '../operation/limits/QueryLimits.js';

export function operationPlugin(options: {
  readonly pipeline: OperationPipeline;
  readonly format: (error: GraphQLError) => GraphQLFormattedError;
  readonly logger: Logger;
}): ApolloServerPlugin<GatehouseContext> {
  const { pipeline, format, logger } = options;
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ operation }) {
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
        responseForOperation({ document, operationName, request }) {
          const errors = pipeline.checkLimits(document, operationName, request.variables);
          if (errors.length === 0) return Promise.resolve(null);
          return Promise.resolve({
            http: { status: 400, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: { errors: errors.map(format) } },
          });
        },
        async willSendResponse({ response, contextValue }) {
          const operation = pipeline.operationOf(contextValue);
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
            } else {
              await operation.complete({}, format);
            }
          } catch (error) {
            logger.error('commit failed', { requestId: contextValue.requestId, error });
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
        },
      });
    },
  };
}
