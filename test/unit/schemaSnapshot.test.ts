/**
 * The printed, sorted schema — with its access directives — is committed (test/unit/__snapshots__/schema.graphql), so
 * every change to the public API shows up in review. Update with `npx vitest -u`.
 */
import { lexicographicSortSchema } from 'graphql';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { describe, expect, it } from 'vitest';
import {
  UnprotectedFieldsError,
  applyAuthenticationDirectives,
} from '../../src/graphql/authenticationDirectives.js';
import { buildSchema } from '../../src/graphql/buildSchema.js';
import { makeExecutableSchema } from '@graphql-tools/schema';

describe('schema', () => {
  it('matches the reviewed snapshot', async () => {
    await expect(
      printSchemaWithDirectives(lexicographicSortSchema(buildSchema())),
    ).toMatchFileSnapshot('./__snapshots__/schema.graphql');
  });

  it('refuses to build when a root field has no access directive (deny by default)', () => {
    const schema = makeExecutableSchema({
      typeDefs: /* GraphQL */ `
        directive @public on FIELD_DEFINITION | OBJECT
        directive @authenticated on FIELD_DEFINITION | OBJECT
        type Query {
          open: String @public
          guarded: String @authenticated
          forgotten: String
        }
        type Mutation {
          alsoForgotten: String
          both: String @public @authenticated
        }
      `,
    });
    expect(() => applyAuthenticationDirectives(schema)).toThrow(UnprotectedFieldsError);
    try {
      applyAuthenticationDirectives(schema);
    } catch (error) {
      expect((error as UnprotectedFieldsError).coordinates).toEqual([
        'Mutation.alsoForgotten',
        'Mutation.both',
        'Query.forgotten',
      ]);
    }
  });
});
