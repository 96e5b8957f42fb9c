/**
 * Trusted documents (TRUSTED_DOCUMENTS_FILE): the manifest of the documents this server
 * runs, produced by its clients' builds — GraphQL Code Generator's client preset with
 * `persistedDocuments: true` (`persisted-documents.json`: `{ "sha256:<hex>": "<text>" }`,
 * or bare `<hex>` keys) or Apollo's generate-persisted-query-manifest (`{ "format":
 * "apollo-persisted-query-manifest", "version": 1, "operations": [{ id, name, type, body }] }`).
 * Every id must be the SHA-256 of its text: a manifest in neither format, or with an entry
 * whose id is not, stops the start with a message naming the file and the entry.
 *
 * With a manifest a request runs a listed document, named by `documentId` (`sha256:<hex>`
 * or `<hex>`) or `extensions.persistedQuery.sha256Hash`, or sent as its exact text; other
 * text runs only for a token with TRUSTED_DOCUMENTS_ANY_DOCUMENT_SCOPE. Anything else is
 * refused (HTTP 400; over WebSocket an error for that operation) before anything runs.
 * Without one, Apollo's automatic persisted queries work as Apollo does, after the checks
 * of persistedQuery.ts. Both transports resolve a request with {@link resolveDocument}.
 */
import { readFile } from 'node:fs/promises';
import { GraphQLError } from 'graphql';
import type { Principal } from '../authn/Principal.js';
import { ConfigError } from '../config.js';
import { codedError } from '../errors/clientErrors.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import {
  checkPersistedQuery,
  hashMismatch,
  isObject,
  isSha256Hex,
  persistedQueryHash,
  sha256Hex,
  type DocumentRequest,
} from './persistedQuery.js';

/** What a request runs. */
export type DocumentResolution =
  /** Trusted documents are off: the request goes on as it was sent (APQ included). */
  | { readonly kind: 'as-sent' }
  /** Run this text in place of what was sent (a persistedQuery is dropped: APQ is off). */
  | { readonly kind: 'trusted'; readonly query: string }
  /** Refused before anything ran (HTTP 400). */
  | { readonly kind: 'refused'; readonly error: GraphQLError };

const APOLLO_FORMAT = 'apollo-persisted-query-manifest';
const ID_PREFIX = 'sha256:';

/** One document of a manifest, as the file has it; `label` names it in errors. */
interface ManifestEntry {
  readonly label: string;
  readonly id: string;
  readonly text: string;
}

/** `sha256:<hex>` or `<hex>`: the hex. */
function withoutPrefix(id: string): string {
  return id.startsWith(ID_PREFIX) ? id.slice(ID_PREFIX.length) : id;
}

export class TrustedDocuments {
  /** Document text by the SHA-256 of it, in hex. */
  readonly #documents: ReadonlyMap<string, string>;
  /** The texts themselves: text sent as it is is looked up without hashing it. */
  readonly #texts: ReadonlySet<string>;
  readonly #anyDocumentScope: string;

  private constructor(documents: ReadonlyMap<string, string>, anyDocumentScope: string) {
    this.#documents = documents;
    this.#texts = new Set(documents.values());
    this.#anyDocumentScope = anyDocumentScope;
  }

  /**
   * Reads and checks the manifest at `file`; throws {@link ConfigError} naming the file
   * (and the entry) when it cannot be read, is not a manifest or an id is not its hash.
   */
  static async load(file: string, anyDocumentScope: string): Promise<TrustedDocuments> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(`TRUSTED_DOCUMENTS_FILE ${file}: cannot be read (${reason})`);
    }
    let manifest: unknown;
    try {
      manifest = JSON.parse(text);
    } catch {
      throw new ConfigError(`TRUSTED_DOCUMENTS_FILE ${file}: not JSON`);
    }
    return TrustedDocuments.fromManifest(manifest, file, anyDocumentScope);
  }

  /** The documents of a parsed manifest (`file` names it in errors), checked as `load` does. */
  static fromManifest(manifest: unknown, file: string, anyDocumentScope: string): TrustedDocuments {
    const refuse = (why: string): ConfigError =>
      new ConfigError(`TRUSTED_DOCUMENTS_FILE ${file}: ${why}`);
    const documents = new Map<string, string>();
    for (const { label, id, text } of manifestEntries(manifest, refuse)) {
      const hex = withoutPrefix(id);
      if (/^[0-9a-f]{40}$/.test(hex)) {
        throw refuse(
          `${label}: a SHA-1 id; ids must be SHA-256 (the client preset's persistedDocuments.hashAlgorithm: 'sha256')`,
        );
      }
      if (!isSha256Hex(hex)) {
        throw refuse(`${label}: the id is not a SHA-256 ("sha256:<64 hex digits>" or the hex)`);
      }
      const actual = sha256Hex(text);
      if (actual !== hex) {
        throw refuse(`${label}: the id is not the SHA-256 of its text, which is ${actual}`);
      }
      documents.set(hex, text);
    }
    if (documents.size === 0) throw refuse('lists no documents');
    return new TrustedDocuments(documents, anyDocumentScope);
  }

  /** How many documents the manifest lists. */
  get size(): number {
    return this.#documents.size;
  }

  /**
   * What `request` runs: the listed document its id names (PERSISTED_QUERY_NOT_FOUND when
   * none), text sent with an id only when the id is its hash (PERSISTED_QUERY_HASH_MISMATCH),
   * then text only when listed or `principal` has the any-document scope
   * (TRUSTED_DOCUMENT_REQUIRED).
   */
  resolve(request: DocumentRequest, principal: Principal | null): DocumentResolution {
    const id = requestedId(request);
    if (id instanceof GraphQLError) return refused(id);
    // Over graphql-ws a document named by id comes with `query: ""` (the protocol needs a string).
    const query =
      typeof request.query === 'string' && request.query !== '' ? request.query : undefined;
    if (query === undefined) {
      if (id === undefined) {
        return refused(
          codedError(
            ErrorCode.BAD_REQUEST,
            'The request names no document: send documentId, extensions.persistedQuery or query',
          ),
        );
      }
      const text = this.#documents.get(id);
      if (text !== undefined) return { kind: 'trusted', query: text };
      return refused(
        codedError(
          ErrorCode.PERSISTED_QUERY_NOT_FOUND,
          'No trusted document has this id: this server runs only the documents of its manifest',
        ),
      );
    }
    // Text with an id: the id must be its hash (hashed only when it is not the listed text).
    if (id !== undefined && this.#documents.get(id) !== query && sha256Hex(query) !== id)
      return refused(hashMismatch('The document id'));
    if (this.#texts.has(query) || principal?.scopes.includes(this.#anyDocumentScope)) {
      return { kind: 'trusted', query };
    }
    return refused(
      codedError(
        ErrorCode.TRUSTED_DOCUMENT_REQUIRED,
        'This server runs only trusted documents: send the documentId (or persistedQuery hash) of a document in its manifest',
      ),
    );
  }
}

function refused(error: GraphQLError): DocumentResolution {
  return { kind: 'refused', error };
}

/**
 * What the request resolves to, with `trusted` documents (TrustedDocuments.resolve) or
 * without them (Apollo's APQ, after the checks of persistedQuery.ts). HTTP calls it before
 * Apollo sees the request, WebSocket before the operation is prepared.
 */
export function resolveDocument(
  request: DocumentRequest,
  principal: Principal | null,
  trusted: TrustedDocuments | undefined,
): DocumentResolution {
  if (trusted) return trusted.resolve(request, principal);
  const error = checkPersistedQuery(request);
  return error ? { kind: 'refused', error } : { kind: 'as-sent' };
}

/**
 * The id (hex) that `documentId` or `extensions.persistedQuery` names, undefined when
 * neither is sent, or the error when one is malformed or they name different documents.
 */
function requestedId(request: DocumentRequest): string | undefined | GraphQLError {
  const hash = persistedQueryHash(request.extensions);
  const documentId = request.documentId;
  if (hash instanceof GraphQLError || documentId === undefined || documentId === null) return hash;
  if (typeof documentId !== 'string') {
    return codedError(
      ErrorCode.BAD_REQUEST,
      'documentId must be a string: "sha256:<hex>" or the hex',
    );
  }
  const id = withoutPrefix(documentId);
  if (hash !== undefined && hash !== id) {
    return codedError(
      ErrorCode.BAD_REQUEST,
      'documentId and extensions.persistedQuery name different documents',
    );
  }
  return id;
}

/** The entries of a manifest in either format; `refuse` words the error when it is neither. */
function manifestEntries(manifest: unknown, refuse: (why: string) => ConfigError): ManifestEntry[] {
  const formats =
    'expected GraphQL Code Generator\'s persisted-documents.json ({ "<id>": "<text>" }) or an Apollo persisted query manifest';
  if (!isObject(manifest)) throw refuse(`not a manifest: ${formats}`);
  if (!('format' in manifest)) {
    return Object.entries(manifest).map(([id, text]) => {
      const label = `entry "${id}"`;
      if (typeof text !== 'string') throw refuse(`${label}: not document text (${formats})`);
      return { label, id, text };
    });
  }
  const { format, version, operations } = manifest;
  if (format !== APOLLO_FORMAT || version !== 1 || !Array.isArray(operations)) {
    throw refuse(`not a manifest: ${formats} (format "${APOLLO_FORMAT}", version 1, operations)`);
  }
  return operations.map((operation: unknown, i) => {
    const at = `operations[${i}]`;
    if (!isObject(operation) || typeof operation['id'] !== 'string') {
      throw refuse(`${at}: expected { id, name, type, body } with a string id and body`);
    }
    const { id, name, body } = operation;
    const label = `${at} (${typeof name === 'string' ? `${name}, ` : ''}id ${id})`;
    if (typeof body !== 'string') throw refuse(`${label}: expected a string body`);
    return { label, id, text: body };
  });
}
