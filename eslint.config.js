// @ts-check
import js from '@eslint/js';
import graphql from '@graphql-eslint/eslint-plugin';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * Object types that need no `id: ID!` (strict-id-in-types), each with why: a client's
 * normalising cache stores them inside the object that holds them, and none has an
 * identity a client could fetch or update on its own.
 */
const NO_ID_TYPES = {
  PageInfo: 'a page position of one connection answer, not an entity',
  AuditActor: 'a value of its AuditEvent (who acted, as recorded then), cached inside it',
  AuditResource: 'a value of its AuditEvent (what was acted on, as recorded then)',
  AuditChainVerification: 'the result of one verifyAuditChain computation, not stored',
  CreatedApiKey: 'a mutation payload: its apiKey has the id; the key itself is shown once',
  GroupMappingRule: 'one element of RoleMapping.rules, replaced as a whole with the mapping',
};

// The schema lint (graphql-eslint), for schema/*.graphql as one schema. Every schema rule of
// graphql-eslint 4 is decided here, each with its reason. Part of `npm run lint`; on its own:
// `npm run lint:schema`.
const schemaRules = {
  ...graphql.configs['flat/schema-recommended'].rules,
  ...graphql.configs['flat/schema-relay'].rules,

  // Adopted: the issue demands a description on every type, field, argument (and input
  // field), enum value and directive: introspection, IDEs and codegen show them.
  '@graphql-eslint/require-description': [
    'error',
    {
      types: true,
      rootField: true,
      FieldDefinition: true,
      InputValueDefinition: true,
      EnumValueDefinition: true,
      DirectiveDefinition: true,
    },
  ],
  // Off: one-line descriptions are "…", longer ones """…"""; both are the same text to
  // clients, so one style would rewrite every description for no client's benefit.
  '@graphql-eslint/description-style': 'off',
  // Adopted: normalising caches (Apollo, urql graphcache, Relay) key objects by `id: ID!`;
  // exempt are connections, edges (their node has the id) and the types in NO_ID_TYPES.
  '@graphql-eslint/strict-id-in-types': [
    'error',
    {
      acceptedIdNames: ['id'],
      acceptedIdTypes: ['ID'],
      exceptions: { suffixes: ['Connection', 'Edge'], types: Object.keys(NO_ID_TYPES) },
    },
  ],
  // Adopted as the schema follows it: the recommended casing and forbidden affixes, and
  // input types named …Input (mutation arguments) or …Filter (list filters).
  '@graphql-eslint/naming-convention': [
    'error',
    {
      ...graphql.configs['flat/schema-recommended'].rules['@graphql-eslint/naming-convention'][1],
      InputObjectTypeDefinition: { style: 'PascalCase', requiredPattern: /(Input|Filter)$/ },
    },
  ],
  // Adopted (recommended): a type no root field reaches is dead API surface.
  '@graphql-eslint/no-unreachable-types': 'error',
  // Adopted (recommended): `Workflow.workflowName` repeats what the type already says.
  '@graphql-eslint/no-typename-prefix': 'error',
  // Adopted (recommended): a deprecation must tell clients what to use instead.
  '@graphql-eslint/require-deprecation-reason': 'error',
  // Adopted (recommended): a `#` comment above a definition is not a description; the
  // schema's `#` comments are file headers, separated by a blank line.
  '@graphql-eslint/no-hashtag-description': 'error',
  // Adopted (relay): every connection pages both ways (first/after and last/before).
  '@graphql-eslint/relay-arguments': ['error', { includeBoth: true }],
  // Adopted (relay), except listTypeCanWrapOnlyEdgeType: it flags every list field
  // (`roles`, `scopes`, `reasons`), and turning those into connections would break every
  // client for small, bounded lists that need no paging; and shouldImplementNode: audit
  // events, checkpoints and service accounts are reached through their lists only (no
  // by-id lookup, so `node(id:)` could not refetch them: a Node that is not refetchable is
  // worse than none). The edges of the Node types do carry Nodes.
  '@graphql-eslint/relay-edge-types': [
    'error',
    { withEdgeSuffix: true, shouldImplementNode: false, listTypeCanWrapOnlyEdgeType: false },
  ],
  // The recommended graphql-js validations (known-*, unique-*, lone-schema-definition,
  // possible-type-extension, provided-required-arguments) stay adopted: they also fail the
  // build, the lint only names the line. relay-page-info, relay-connection-types: adopted.

  // From schema-all — off, each because it forces a change with no client benefit:
  // alphabetize: fields are ordered by meaning (id first); the printed snapshots are sorted.
  '@graphql-eslint/alphabetize': 'off',
  // input-name: `approveWorkflow(id, comment)` would become `(input: …)`, a breaking change.
  '@graphql-eslint/input-name': 'off',
  // no-root-type: the API has mutations and a subscription (the audit feed) by design.
  '@graphql-eslint/no-root-type': 'off',
  // no-scalar-result-type-on-mutation: `deleteCredential: ID!` returns what a client evicts;
  // a payload type would break its callers.
  '@graphql-eslint/no-scalar-result-type-on-mutation': 'off',
  // require-deprecation-date: needs a `deletionDate` argument on @deprecated, which is not
  // the built-in directive; removal dates are decided at release (schema:breaking).
  '@graphql-eslint/require-deprecation-date': 'off',
  // require-field-of-type-query-in-mutation-result: mutations return the changed object,
  // which is what clients refetch; payload wrappers would break every mutation's callers.
  '@graphql-eslint/require-field-of-type-query-in-mutation-result': 'off',
  // require-nullable-result-in-root: `workflows: WorkflowConnection!` etc. answer or fail the
  // operation; making them nullable changes every client's generated types.
  '@graphql-eslint/require-nullable-result-in-root': 'off',
  // Adopted: @oneOf input fields must be nullable (the spec requires it; none exist yet).
  '@graphql-eslint/require-nullable-fields-with-oneof': 'error',
  // require-type-pattern-with-oneof: an `ok`/`error` result-union convention this API does
  // not use (errors are GraphQL errors with extensions.code).
  '@graphql-eslint/require-type-pattern-with-oneof': 'off',
};

export default defineConfig(
  // Generated code (the example's src/gql/ by `npm run example:codegen`, git-ignored).
  {
    ignores: [
      'node_modules/',
      'src/generated/',
      'examples/web-client/src/gql/',
      '.gatehouse/',
      'coverage/',
      'dist/',
    ],
  },
  {
    // The TypeScript rules need type information: only for code, never for schema/.
    files: ['**/*.{js,mjs,cjs,ts,tsx,mts,cts}'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'tools/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  {
    files: ['tools/*.mjs', '*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // The GraphiQL page's script runs in the browser: plain JavaScript over the UMD globals
    // the page loads before it (src/server/graphiql/graphiqlPage.ts), no type information.
    files: ['src/server/graphiql/static/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        URL: 'readonly',
        React: 'readonly',
        ReactDOM: 'readonly',
        GraphiQL: 'readonly',
      },
    },
  },
  {
    // Not schema/release/: the printed release snapshot is compared, not authored.
    files: ['schema/*.graphql'],
    languageOptions: {
      parser: graphql.parser,
      // One schema from every file: types and the custom directives of
      // schema/directives.graphql are known across files.
      parserOptions: { graphQLConfig: { schema: 'schema/*.graphql' } },
    },
    plugins: { '@graphql-eslint': graphql },
    rules: schemaRules,
  },
);
