/**
 * Manifests of trusted documents made the way client builds make them, from operations
 * written to a directory and checked against schema/*.graphql: GraphQL Code Generator's
 * client preset with `persistedDocuments` (its `persisted-documents.json`) and Apollo's
 * generate-persisted-query-manifest (`persisted-query-manifest.json`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generatePersistedQueryManifest } from '@apollo/generate-persisted-query-manifest';
import { generate } from '@graphql-codegen/cli';
import { preset } from '@graphql-codegen/client-preset';

const SCHEMA = path.resolve(import.meta.dirname, '../../schema/*.graphql');

/** Operations a web client might have, one per file as Apollo's generator wants them. */
export const CLIENT_OPERATIONS = {
  Me: 'query Me {\n  me {\n    subject\n    tenant { slug }\n  }\n}\n',
  Workflows:
    'query Workflows($first: Int) {\n  workflows(first: $first) {\n    totalCount\n    edges { node { id name } }\n  }\n}\n',
} as const;

/** Writes `operations` as `<name>.graphql` files into `dir`/operations. */
async function writeOperations(dir: string, operations: Record<string, string>): Promise<string> {
  const folder = path.join(dir, 'operations');
  await mkdir(folder, { recursive: true });
  for (const [name, text] of Object.entries(operations)) {
    await writeFile(path.join(folder, `${name}.graphql`), text);
  }
  return folder;
}

/**
 * Runs GraphQL Code Generator's client preset with `persistedDocuments` over `operations`
 * into `dir`/gql/; the path of the `persisted-documents.json` it wrote.
 */
export async function codegenManifest(
  dir: string,
  operations: Record<string, string> = CLIENT_OPERATIONS,
  hashAlgorithm: 'sha256' | 'sha1' = 'sha256',
): Promise<string> {
  const folder = await writeOperations(dir, operations);
  const out = `${path.join(dir, 'gql')}/`;
  await generate(
    {
      cwd: dir,
      schema: SCHEMA,
      documents: [path.join(folder, '*.graphql')],
      generates: { [out]: { preset, presetConfig: { persistedDocuments: { hashAlgorithm } } } },
      silent: true,
    },
    true,
  );
  return path.join(out, 'persisted-documents.json');
}

/**
 * Runs Apollo's generate-persisted-query-manifest over `operations` (into `dir`); the path
 * of the manifest written.
 */
export async function apolloManifest(
  dir: string,
  operations: Record<string, string> = CLIENT_OPERATIONS,
): Promise<string> {
  const folder = await writeOperations(dir, operations);
  const manifest = await generatePersistedQueryManifest(
    { documents: [path.join(folder, '*.graphql')] },
    undefined,
  );
  const file = path.join(dir, 'persisted-query-manifest.json');
  await writeFile(file, JSON.stringify(manifest, null, 2));
  return file;
}
