/**
 * GraphQL Code Generator for the web client: the operations written with `graphql()` in
 * src/ become typed documents in src/gql/ (git-ignored: generated before every type-check,
 * so it cannot drift from the schema). Run from this directory (`npx graphql-codegen`);
 * paths are relative to it.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  // What Gatehouse serves is the SDL in its schema/ directory (the scalars included). In a
  // project of its own, point this at a Gatehouse checkout or at the server's URL (with
  // introspection on, as in development): `schema: 'http://localhost:4000/graphql'`.
  schema: '../../schema/*.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  // An operation that names a field the schema does not have fails the generation.
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      // No fragments are masked here; with fragments, see Apollo's data masking docs.
      presetConfig: { fragmentMasking: false },
      config: {
        // Every scalar must be mapped: a new scalar in the schema fails the generation
        // instead of silently becoming `any`. The mapping the Gatehouse README documents.
        strictScalars: true,
        scalars: { DateTime: 'string', Decimal: 'string', JSON: 'unknown' },
        useTypeImports: true,
        enumsAsTypes: true,
        // `./graphql.js` rather than `./graphql`: resolves under NodeNext and bundlers alike.
        emitLegacyCommonJSImports: false,
      },
    },
  },
};

export default config;
