/**
 * Errors as sent, each with the request's trace id in `extensions.traceId` (when it has
 * one), so a client's report leads to the trace and the log lines of its request.
 */
import type { GraphQLFormattedError } from 'graphql';

export function withTraceId(
  errors: readonly GraphQLFormattedError[],
  traceId: string | null,
): GraphQLFormattedError[] {
  if (traceId === null) return [...errors];
  return errors.map((e) => ({ ...e, extensions: { ...e.extensions, traceId } }));
}
