import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';

/**
 * Answers the whole operation with its REJECT_OPERATION denials (no data) when a field
 * declared `onDeny: REJECT_OPERATION` was denied.
 */
export function rejectOperationPlugin(
  format: (e: GraphQLError) => GraphQLFormattedError,
): ApolloServerPlugin<GatehouseContext> {
  return {
    requestDidStart() {
      return Promise.resolve({
        willSendResponse({ response, contextValue }) {
          const rejections = contextValue.authz.rejections;
          if (rejections.length > 0 && response.body.kind === 'single') {
            response.body.singleResult = { errors: rejections.map(format) };
          }
          return Promise.resolve();
        },
      });
    },
  };
}
