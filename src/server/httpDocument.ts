/**
 * Which document an HTTP request runs, decided before Apollo Server sees it (see
 * operation/TrustedDocuments.ts): `query`, `documentId` and `extensions` are read from the
 * GET parameters or the JSON body and resolved by the pipeline. When trusted documents
 * resolved them, the request is rewritten to carry the document's text as `query`,
 * without `documentId` or `extensions.persistedQuery` (Apollo's APQ is off then).
 */
import type { GraphQLError } from 'graphql';
import type { Principal } from '../authn/Principal.js';
import { codedError } from '../errors/clientErrors.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { OperationPipeline } from '../operation/OperationPipeline.js';
import { isObject } from '../operation/persistedQuery.js';

/** The request for Apollo (its body; a GET's parameters are rewritten in its URL), or why not. */
export type HttpDocument =
  | { readonly kind: 'ok'; readonly body: unknown }
  | { readonly kind: 'refused'; readonly error: GraphQLError };

/** `extensions` without `persistedQuery` (undefined when nothing else is left). */
function withoutPersistedQuery(extensions: unknown): unknown {
  if (!isObject(extensions)) return extensions;
  const { persistedQuery: _persistedQuery, ...rest } = extensions;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/**
 * Resolves the document of a GET (`url`'s parameters, rewritten in place) or POST (`body`)
 * request to /graphql for `principal`.
 */
export function resolveHttpDocument(
  pipeline: OperationPipeline,
  method: string | undefined,
  url: URL,
  body: unknown,
  principal: Principal | null,
): HttpDocument {
  if (method === 'GET') {
    const params = url.searchParams;
    const extensionsParam = params.get('extensions');
    let extensions: unknown;
    try {
      extensions = extensionsParam === null ? undefined : JSON.parse(extensionsParam);
    } catch {
      return {
        kind: 'refused',
        error: codedError(ErrorCode.BAD_REQUEST, 'The extensions parameter is not valid JSON'),
      };
    }
    const request = {
      query: params.get('query'),
      documentId: params.get('documentId'),
      extensions,
    };
    const resolved = pipeline.resolveDocument(request, principal);
    if (resolved.kind === 'refused') return resolved;
    if (resolved.kind === 'trusted') {
      params.set('query', resolved.query);
      params.delete('documentId');
      const rest = withoutPersistedQuery(extensions);
      if (rest === undefined) params.delete('extensions');
      else params.set('extensions', JSON.stringify(rest));
    }
    return { kind: 'ok', body };
  }
  const fields = isObject(body) ? body : {};
  const resolved = pipeline.resolveDocument(fields, principal);
  if (resolved.kind === 'refused') return resolved;
  if (resolved.kind === 'as-sent') return { kind: 'ok', body };
  const { documentId: _documentId, extensions, ...rest } = fields;
  const kept = withoutPersistedQuery(extensions);
  return {
    kind: 'ok',
    body: { ...rest, query: resolved.query, ...(kept === undefined ? {} : { extensions: kept }) },
  };
}
