/**
 * Trusted documents without a server: both manifest formats, as GraphQL Code Generator's
 * client preset and Apollo's generate-persisted-query-manifest write them; manifests that
 * are neither, or whose ids are not their texts' SHA-256, refused with the file and the
 * entry; and the table of what a request runs, with trusted documents and without.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/authn/Principal.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { sha256Hex, type DocumentRequest } from '../../src/operation/persistedQuery.js';
import {
  resolveDocument,
  TrustedDocuments,
  type DocumentResolution,
} from '../../src/operation/TrustedDocuments.js';
import { apolloManifest, codegenManifest } from '../support/clientManifests.js';

const SCOPE = 'graphql:any-document';
const ME = 'query Me { me { subject } }';
const ME_ID = sha256Hex(ME);
const AD_HOC = '{ health }';
const OTHER_ID = sha256Hex('query Other { health }');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-trusted-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function principal(scopes: readonly string[]): Principal {
  return {
    kind: 'user',
    subject: 'user-1',
    tenantId: '00000000-0000-4000-8000-000000000001',
    roles: [],
    scopes,
    amr: ['pwd'],
    expiresAt: Math.floor(Date.now() / 1000) + 600,
    tokenId: undefined,
  };
}

/** A resolution as the table writes it: the text that runs, or the refusal's code. */
function outcome(resolution: DocumentResolution): string {
  switch (resolution.kind) {
    case 'as-sent':
      return 'as sent';
    case 'trusted':
      return `runs ${resolution.query}`;
    case 'refused':
      return String(resolution.error.extensions['code']);
  }
}

/** The ConfigError message of loading `manifest` (written as JSON unless a string). */
async function refusal(manifest: unknown): Promise<string> {
  const file = path.join(dir, `manifest-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  const error = await TrustedDocuments.load(file, SCOPE).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).message.replace(file, '<file>');
}

describe('manifests', () => {
  it('loads the client preset’s persisted-documents.json, ids prefixed sha256:', async () => {
    const file = await codegenManifest(path.join(dir, 'codegen'));
    const trusted = await TrustedDocuments.load(file, SCOPE);
    expect(trusted.size).toBe(2);
    const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    const [[id, text]] = Object.entries(manifest) as [[string, string]];
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    // As the client sends it (the generated document's hash), and as bare hex.
    for (const documentId of [id, id.slice('sha256:'.length)]) {
      expect(outcome(trusted.resolve({ documentId }, null))).toBe(`runs ${text}`);
    }
  });

  it('loads Apollo’s persisted query manifest', async () => {
    const file = await apolloManifest(path.join(dir, 'apollo'));
    const trusted = await TrustedDocuments.load(file, SCOPE);
    expect(trusted.size).toBe(2);
    const manifest = JSON.parse(await readFile(file, 'utf8')) as {
      operations: Array<{ id: string; body: string }>;
    };
    const [operation] = manifest.operations;
    const extensions = { persistedQuery: { version: 1, sha256Hash: operation!.id } };
    expect(outcome(trusted.resolve({ extensions }, null))).toBe(`runs ${operation!.body}`);
  });

  it('loads bare hex keys too', () => {
    const trusted = TrustedDocuments.fromManifest({ [ME_ID]: ME }, 'm.json', SCOPE);
    expect(outcome(trusted.resolve({ documentId: `sha256:${ME_ID}` }, null))).toBe(`runs ${ME}`);
  });

  it('refuses a manifest of SHA-1 ids (the preset’s hashAlgorithm: sha1)', async () => {
    const file = await codegenManifest(path.join(dir, 'sha1'), undefined, 'sha1');
    const error = await TrustedDocuments.load(file, SCOPE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^TRUSTED_DOCUMENTS_FILE ${file}: entry "[0-9a-f]{40}": a SHA-1 id; ids must be SHA-256 \\(the client preset's persistedDocuments.hashAlgorithm: 'sha256'\\)$`,
      ),
    );
  });

  it.each([
    [
      'an entry whose id is not its text’s hash',
      { [`sha256:${ME_ID}`]: ME, [`sha256:${OTHER_ID}`]: AD_HOC },
      `TRUSTED_DOCUMENTS_FILE <file>: entry "sha256:${OTHER_ID}": the id is not the SHA-256 of its text, which is ${sha256Hex(AD_HOC)}`,
    ],
    [
      'an Apollo operation whose id is not its body’s hash',
      {
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [
          { id: ME_ID, name: 'Me', type: 'query', body: ME },
          { id: OTHER_ID, name: 'Health', type: 'query', body: AD_HOC },
        ],
      },
      `TRUSTED_DOCUMENTS_FILE <file>: operations[1] (Health, id ${OTHER_ID}): the id is not the SHA-256 of its text, which is ${sha256Hex(AD_HOC)}`,
    ],
    [
      'an id that is no hash',
      { 'query-1': ME },
      'TRUSTED_DOCUMENTS_FILE <file>: entry "query-1": the id is not a SHA-256 ("sha256:<64 hex digits>" or the hex)',
    ],
    [
      'another JSON file (not document text)',
      { name: 'web-client', version: 3 },
      'TRUSTED_DOCUMENTS_FILE <file>: entry "version": not document text (expected GraphQL Code Generator\'s persisted-documents.json ({ "<id>": "<text>" }) or an Apollo persisted query manifest)',
    ],
    [
      'a JSON array',
      [ME],
      'TRUSTED_DOCUMENTS_FILE <file>: not a manifest: expected GraphQL Code Generator\'s persisted-documents.json ({ "<id>": "<text>" }) or an Apollo persisted query manifest',
    ],
    [
      'another version of Apollo’s format',
      { format: 'apollo-persisted-query-manifest', version: 2, operations: [] },
      'TRUSTED_DOCUMENTS_FILE <file>: not a manifest: expected GraphQL Code Generator\'s persisted-documents.json ({ "<id>": "<text>" }) or an Apollo persisted query manifest (format "apollo-persisted-query-manifest", version 1, operations)',
    ],
    [
      'an Apollo operation without a body',
      { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: ME_ID }] },
      `TRUSTED_DOCUMENTS_FILE <file>: operations[0] (id ${ME_ID}): expected a string body`,
    ],
    [
      'an Apollo operation that is not an object',
      { format: 'apollo-persisted-query-manifest', version: 1, operations: [ME] },
      'TRUSTED_DOCUMENTS_FILE <file>: operations[0]: expected { id, name, type, body } with a string id and body',
    ],
    ['no documents', {}, 'TRUSTED_DOCUMENTS_FILE <file>: lists no documents'],
    ['text that is not JSON', `${ME}\n`, 'TRUSTED_DOCUMENTS_FILE <file>: not JSON'],
  ])('refuses %s, naming the file and the entry', async (_name, manifest, message) => {
    expect(await refusal(manifest)).toBe(message);
  });

  it('refuses a file it cannot read', async () => {
    const file = path.join(dir, 'missing.json');
    await expect(TrustedDocuments.load(file, SCOPE)).rejects.toThrow(
      new ConfigError(`TRUSTED_DOCUMENTS_FILE ${file}: cannot be read (ENOENT)`),
    );
  });
});

describe('what a request runs', () => {
  const trusted = TrustedDocuments.fromManifest({ [`sha256:${ME_ID}`]: ME }, 'm.json', SCOPE);
  const pq = (sha256Hash: unknown, version: unknown = 1) => ({
    persistedQuery: { version, sha256Hash },
  });
  const anonymous = null;
  const user = principal(['workflows:read']);
  const anyDocument = principal(['workflows:read', SCOPE]);

  it.each<[string, DocumentRequest, Principal | null, string]>([
    ['a listed documentId (sha256:)', { documentId: `sha256:${ME_ID}` }, anonymous, `runs ${ME}`],
    ['a listed documentId (hex)', { documentId: ME_ID }, user, `runs ${ME}`],
    ['a listed persistedQuery hash', { extensions: pq(ME_ID) }, user, `runs ${ME}`],
    [
      'a documentId with query "" (graphql-ws)',
      { query: '', documentId: ME_ID },
      user,
      `runs ${ME}`,
    ],
    [
      'documentId and the same hash',
      { documentId: ME_ID, extensions: pq(ME_ID) },
      user,
      `runs ${ME}`,
    ],
    [
      'an unknown documentId',
      { documentId: `sha256:${OTHER_ID}` },
      anyDocument,
      'PERSISTED_QUERY_NOT_FOUND',
    ],
    [
      'an unknown persistedQuery hash',
      { extensions: pq(OTHER_ID) },
      user,
      'PERSISTED_QUERY_NOT_FOUND',
    ],
    ['a documentId that is no hash', { documentId: 'Me' }, user, 'PERSISTED_QUERY_NOT_FOUND'],
    ['a listed document as its exact text', { query: ME }, anonymous, `runs ${ME}`],
    ['the listed text with its hash', { query: ME, extensions: pq(ME_ID) }, user, `runs ${ME}`],
    ['ad-hoc text', { query: AD_HOC }, anonymous, 'TRUSTED_DOCUMENT_REQUIRED'],
    ['ad-hoc text from a user', { query: AD_HOC }, user, 'TRUSTED_DOCUMENT_REQUIRED'],
    ['the listed text, reformatted', { query: `${ME}\n` }, user, 'TRUSTED_DOCUMENT_REQUIRED'],
    [
      'APQ registration (text and its hash)',
      { query: AD_HOC, extensions: pq(sha256Hex(AD_HOC)) },
      user,
      'TRUSTED_DOCUMENT_REQUIRED',
    ],
    [
      'ad-hoc text under a listed id',
      { query: AD_HOC, documentId: ME_ID },
      user,
      'PERSISTED_QUERY_HASH_MISMATCH',
    ],
    ['ad-hoc text with the any-document scope', { query: AD_HOC }, anyDocument, `runs ${AD_HOC}`],
    [
      'ad-hoc text and its hash, with the scope',
      { query: AD_HOC, extensions: pq(sha256Hex(AD_HOC)) },
      anyDocument,
      `runs ${AD_HOC}`,
    ],
    [
      'text with another hash, with the scope',
      { query: AD_HOC, extensions: pq(ME_ID) },
      anyDocument,
      'PERSISTED_QUERY_HASH_MISMATCH',
    ],
    [
      'documentId and another hash',
      { documentId: ME_ID, extensions: pq(OTHER_ID) },
      user,
      'BAD_REQUEST',
    ],
    ['a documentId that is not a string', { documentId: 7 }, user, 'BAD_REQUEST'],
    ['no document at all', { query: '' }, anyDocument, 'BAD_REQUEST'],
    ['a query that is not text', { query: { kind: 'Document' } }, anyDocument, 'BAD_REQUEST'],
    [
      'persistedQuery version 2',
      { extensions: pq(ME_ID, 2) },
      user,
      'PERSISTED_QUERY_UNSUPPORTED_VERSION',
    ],
    [
      'a persistedQuery that is not an object',
      { extensions: { persistedQuery: ME_ID } },
      user,
      'BAD_REQUEST',
    ],
    ['a hash in capitals', { extensions: pq(ME_ID.toUpperCase()) }, user, 'BAD_REQUEST'],
  ])('with trusted documents: %s', (_name, request, who, expected) => {
    expect(outcome(resolveDocument(request, who, trusted))).toBe(expected);
  });

  it('takes the any-document scope from the configuration', () => {
    const strict = TrustedDocuments.fromManifest({ [ME_ID]: ME }, 'm.json', 'gatehouse:adhoc');
    expect(outcome(strict.resolve({ query: AD_HOC }, anyDocument))).toBe(
      'TRUSTED_DOCUMENT_REQUIRED',
    );
    expect(outcome(strict.resolve({ query: AD_HOC }, principal(['gatehouse:adhoc'])))).toBe(
      `runs ${AD_HOC}`,
    );
  });

  it.each<[string, DocumentRequest, string]>([
    ['text', { query: AD_HOC }, 'as sent'],
    ['a hash (APQ looks it up)', { extensions: pq(ME_ID) }, 'as sent'],
    ['text and its hash (APQ registers it)', { query: ME, extensions: pq(ME_ID) }, 'as sent'],
    ['a documentId (not served: Apollo answers)', { documentId: ME_ID }, 'as sent'],
    ['persistedQuery null', { query: ME, extensions: { persistedQuery: null } }, 'as sent'],
    [
      'text and another hash',
      { query: AD_HOC, extensions: pq(ME_ID) },
      'PERSISTED_QUERY_HASH_MISMATCH',
    ],
    ['"" and a hash', { query: '', extensions: pq(ME_ID) }, 'PERSISTED_QUERY_HASH_MISMATCH'],
    ['version 2', { extensions: pq(ME_ID, 2) }, 'PERSISTED_QUERY_UNSUPPORTED_VERSION'],
    [
      'no version',
      { extensions: { persistedQuery: { sha256Hash: ME_ID } } },
      'PERSISTED_QUERY_UNSUPPORTED_VERSION',
    ],
    [
      'version "1"',
      { query: ME, extensions: pq(ME_ID, '1') },
      'PERSISTED_QUERY_UNSUPPORTED_VERSION',
    ],
    ['a persistedQuery that is a string', { extensions: { persistedQuery: ME_ID } }, 'BAD_REQUEST'],
    [
      'a persistedQuery that is an array',
      { extensions: { persistedQuery: [1, ME_ID] } },
      'BAD_REQUEST',
    ],
    ['a short hash', { extensions: pq(ME_ID.slice(0, 40)) }, 'BAD_REQUEST'],
    ['no hash', { extensions: pq(undefined) }, 'BAD_REQUEST'],
  ])('without trusted documents: %s', (_name, request, expected) => {
    expect(outcome(resolveDocument(request, null, undefined))).toBe(expected);
  });
});

describe('configuration', () => {
  it('is off by default, with the default any-document scope', () => {
    expect(loadConfig({}).trustedDocuments).toEqual({
      file: undefined,
      anyDocumentScope: 'graphql:any-document',
    });
  });

  it('reads TRUSTED_DOCUMENTS_FILE (resolved) and TRUSTED_DOCUMENTS_ANY_DOCUMENT_SCOPE', () => {
    const config = loadConfig({
      TRUSTED_DOCUMENTS_FILE: 'web/persisted-documents.json',
      TRUSTED_DOCUMENTS_ANY_DOCUMENT_SCOPE: 'gatehouse:adhoc',
    });
    expect(config.trustedDocuments).toEqual({
      file: path.resolve('web/persisted-documents.json'),
      anyDocumentScope: 'gatehouse:adhoc',
    });
  });

  it('refuses a scope with spaces (scopes are space-separated)', () => {
    expect(() => loadConfig({ TRUSTED_DOCUMENTS_ANY_DOCUMENT_SCOPE: 'a b' })).toThrow(
      'TRUSTED_DOCUMENTS_ANY_DOCUMENT_SCOPE: one scope: printable characters, no spaces',
    );
  });
});
