/**
 * Request errors (before execution) with the stable codes HTTP gives them: a document
 * that does not parse, one that does not validate, or no operation to run. Over WebSocket
 * they answer the one operation and never close the socket.
 */
import { GraphQLError } from 'graphql';
import type { ErrorCode } from '../errors/ErrorCode.js';

export function withCode(
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
