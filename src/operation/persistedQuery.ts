/**
 * How a request names its document, read before Apollo Server sees it: `query` text, a
 * `documentId` (the GraphQL over HTTP persisted-documents appendix, which GraphQL Code
 * Generator's client preset follows), or Apollo's `extensions.persistedQuery: { version:
 * 1, sha256Hash }`. Mistakes in the latter are client errors with stable codes (HTTP 400)
 * found here, whatever the mode: Apollo answers a wrong version or a hash that is not the
 * query's with errors of no code, which the normalisation point (errors/formatError.ts)
 * would log as server faults and answer INTERNAL_SERVER_ERROR.
 */
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { codedError } from '../errors/clientErrors.js';
import { ErrorCode } from '../errors/ErrorCode.js';

/**
 * The fields of a request that name its document: an HTTP body or GET parameters, or a
 * graphql-ws subscribe payload. Unchecked: they are what the client sent.
 */
export interface DocumentRequest {
  readonly query?: unknown;
  readonly documentId?: unknown;
  readonly extensions?: unknown;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The SHA-256 of `text` (UTF-8) in lowercase hex: a document's id in APQ and both manifests. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Whether `value` is a SHA-256 in lowercase hex (64 digits). */
export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

/** A plain JSON object (not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `query` and the hash sent with it (named by `what`) disagree. */
export function hashMismatch(what: string): GraphQLError {
  return codedError(ErrorCode.PERSISTED_QUERY_HASH_MISMATCH, `${what} is not the SHA-256 of query`);
}

/**
 * The hash that `extensions.persistedQuery` names: undefined when there is none, an error
 * when it is not an object (BAD_REQUEST), not version 1 (PERSISTED_QUERY_UNSUPPORTED_VERSION)
 * or its hash is not 64 lowercase hex digits (BAD_REQUEST).
 */
export function persistedQueryHash(extensions: unknown): string | undefined | GraphQLError {
  if (!isObject(extensions)) return undefined;
  const persisted = extensions['persistedQuery'];
  if (persisted === undefined || persisted === null) return undefined;
  if (!isObject(persisted)) {
    return codedError(
      ErrorCode.BAD_REQUEST,
      'extensions.persistedQuery must be an object: { version: 1, sha256Hash }',
    );
  }
  if (persisted['version'] !== 1) {
    return codedError(
      ErrorCode.PERSISTED_QUERY_UNSUPPORTED_VERSION,
      'Unsupported persisted query version: extensions.persistedQuery.version must be 1',
    );
  }
  const hash = persisted['sha256Hash'];
  if (typeof hash !== 'string' || !isSha256Hex(hash)) {
    return codedError(
      ErrorCode.BAD_REQUEST,
      'extensions.persistedQuery.sha256Hash must be the SHA-256 of the document, in 64 lowercase hex digits',
    );
  }
  return hash;
}

/**
 * The checks of Apollo's automatic persisted queries (trusted documents off): a
 * well-formed extension of version 1 whose hash, when `query` is sent with it (APQ's
 * registration), is that of `query`. Undefined when Apollo may take the request as sent.
 */
export function checkPersistedQuery(request: DocumentRequest): GraphQLError | undefined {
  const hash = persistedQueryHash(request.extensions);
  if (hash instanceof GraphQLError) return hash;
  // Apollo hashes any string query, the empty one too.
  if (hash !== undefined && typeof request.query === 'string' && sha256Hex(request.query) !== hash)
    return hashMismatch('extensions.persistedQuery.sha256Hash');
  return undefined;
}
