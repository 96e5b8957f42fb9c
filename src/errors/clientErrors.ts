/**
 * Constructors for the errors clients may see. Each is a GraphQLError whose
 * `extensions.code` is a stable {@link ErrorCode}; anything else that escapes a resolver
 * is replaced by INTERNAL_SERVER_ERROR in {@link formatError}.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from './ErrorCode.js';

export function unauthenticated(): GraphQLError {
  // One message whatever the reason, so a caller learns nothing about why a token failed.
  return new GraphQLError('Authentication required', {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
  });
}

export function forbidden(
  message = 'Not allowed',
  extra: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN, ...extra } });
}

export function badUserInput(message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, ...extra } });
}

/** The answer for both a missing object and another tenant's object: they must look the same. */
export function notFound(kind: string): GraphQLError {
  return new GraphQLError(`${kind} not found`, { extensions: { code: ErrorCode.NOT_FOUND } });
}

export function conflict(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.CONFLICT } });
}
