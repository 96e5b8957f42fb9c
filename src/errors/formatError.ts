/**
 * The one normalisation point for errors sent to clients (Apollo `formatError`). It never
 * throws. Errors with a stable code pass through; database errors are mapped to the code a
 * client can act on; anything else becomes INTERNAL_SERVER_ERROR with a generic message,
 * and the original is logged with the request id. Outside development no stack trace, SQL
 * or Prisma text reaches a client.
 */
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ErrorCode, isErrorCode } from './ErrorCode.js';
import type { Logger } from '../observability/logger.js';
import { requestLogger } from '../observability/requestLogger.js';

interface PrismaLikeError {
  code: string;
  meta?: unknown;
}

function isPrismaKnownError(error: unknown): error is PrismaLikeError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'PrismaClientKnownRequestError' &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}

/** Maps a database error to a client error, or undefined when it is a server fault. */
export function fromDatabaseError(error: unknown): GraphQLError | undefined {
  if (!isPrismaKnownError(error)) return undefined;
  switch (error.code) {
    case 'P2002': // unique constraint: uniqueness is per tenant, so this reveals nothing of another tenant
      return new GraphQLError('An object with this value already exists', {
        extensions: { code: ErrorCode.CONFLICT },
      });
    case 'P2003': // foreign key: composite (tenant_id, id) keys make another tenant's id look absent
    case 'P2025':
      return new GraphQLError('Referenced object not found', {
        extensions: { code: ErrorCode.NOT_FOUND },
      });
    default:
      return undefined;
  }
}

export interface FormatErrorOptions {
  readonly development: boolean;
  /**
   * Without introspection, no message may name what the schema holds: graphql-js's
   * "Did you mean …?" (enum values, input field names, in variable errors too) is removed.
   */
  readonly hideSuggestions: boolean;
  readonly logger: Logger;
}

/** `message` without graphql-js's suggestions ("Did you mean "title"?"). */
export function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean [^?]*\?/g, '');
}

export function createFormatError(options: FormatErrorOptions) {
  return function formatError(
    formatted: GraphQLFormattedError,
    error: unknown,
  ): GraphQLFormattedError {
    try {
      const original = unwrapResolverError(error);
      const code = formatted.extensions?.['code'];
      if (isErrorCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
        const answer = stripHttp(formatted);
        return options.hideSuggestions
          ? { ...answer, message: withoutSuggestions(answer.message) }
          : answer;
      }
      const mapped = fromDatabaseError(original);
      if (mapped) {
        return {
          message: mapped.message,
          ...(formatted.locations ? { locations: formatted.locations } : {}),
          ...(formatted.path ? { path: formatted.path } : {}),
          extensions: { code: mapped.extensions['code'] },
        };
      }
      requestLogger(options.logger).error('unexpected error', {
        error: original,
        path: formatted.path,
      });
      return {
        message:
          options.development && original instanceof Error
            ? original.message
            : 'Internal server error',
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: {
          code: ErrorCode.INTERNAL_SERVER_ERROR,
          ...(options.development && original instanceof Error && original.stack
            ? { stacktrace: original.stack.split('\n') }
            : {}),
        },
      };
    } catch {
      return {
        message: 'Internal server error',
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      };
    }
  };
}

/**
 * `extensions.http` steers the HTTP status; it is not for clients. A coded error is an
 * answer, not a fault: its stack trace says nothing useful, even in development.
 */
function stripHttp(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (!formatted.extensions) return formatted;
  const { http: _http, stacktrace: _stacktrace, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}
