/**
 * Apollo Server's side of the operation pipeline: every HTTP operation ends through
 * {@link Operation.complete} (REJECT_OPERATION, closing its transactions, its audit events)
 * before the response is sent; a commit that fails answers 500. A subscription sent over
 * HTTP is refused with 400 (subscriptions are served over WebSocket on the same path).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import type { Logger } from '../observability/logger.js';
import type { OperationPipeline } from '../operation/OperationPipeline.js';

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
        async willSendResponse({ response, contextValue }) {
          const operation = pipeline.operationOf(contextValue);
          const body = response.body;
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
