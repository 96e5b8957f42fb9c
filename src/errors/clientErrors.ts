/**
 * Constructors for the errors clients may see. Each is a GraphQLError whose
 * `extensions.code` is a stable {@link ErrorCode}; anything else that escapes a resolver
 * is replaced by INTERNAL_SERVER_ERROR in {@link formatError}.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from './ErrorCode.js';
import { UnauthenticatedReason } from './UnauthenticatedReason.js';

export function unauthenticated(
  reason: UnauthenticatedReason = UnauthenticatedReason.CREDENTIALS_REQUIRED,
): GraphQLError {
  // One message whatever the reason, so a caller learns nothing about why a token failed.
  // A field's error: the response (with the other fields' data) stays 200; only a request
  // refused as a whole is a 401, with this error alone (server/unauthorized.ts).
  return new GraphQLError('Authentication required', {
    extensions: { code: ErrorCode.UNAUTHENTICATED, reason },
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

/** `extra.reason`, when given, says which rule refused (e.g. LAST_ADMIN), for clients to branch on. */
export function conflict(message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.CONFLICT, ...extra } });
}

/** An error of `code` with `message` and nothing else: a request refused before anything ran. */
export function codedError(
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}
