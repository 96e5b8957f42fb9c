/**
 * The printed, sorted schema — with its access directives — is committed
 * (test/unit/__snapshots__/schema.graphql), so every change to the public API or to who
 * may use it shows up in review. Update with `npx vitest -u`.
 */
import { readFileSync } from 'node:fs';
import { isIntrospectionType, isObjectType, lexicographicSortSchema } from 'graphql';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { describe, expect, it } from 'vitest';
import { buildBaseSchema } from '../../src/graphql/buildSchema.js';
import { AuthorizationSchemaError, readRequirements } from '../../src/authz/directives.js';

const directives = readFileSync('schema/directives.graphql', 'utf8');

function problemsOf(sdl: string): readonly string[] {
  try {
    readRequirements(makeExecutableSchema({ typeDefs: [directives, sdl] }));
    return [];
  } catch (error) {
    if (error instanceof AuthorizationSchemaError) return error.problems;
    throw error;
  }
}

describe('schema', () => {
  it('matches the reviewed snapshot', async () => {
    await expect(
      printSchemaWithDirectives(lexicographicSortSchema(buildBaseSchema())),
    ).toMatchFileSnapshot('./__snapshots__/schema.graphql');
  });

  it('gives every object field of the real schema an effective rule', () => {
    const schema = buildBaseSchema();
    const requirements = readRequirements(schema);
    const fields = Object.values(schema.getTypeMap())
      .filter((t) => isObjectType(t) && !isIntrospectionType(t))
      .flatMap((t) =>
        isObjectType(t) ? Object.keys(t.getFields()).map((f) => `${t.name}.${f}`) : [],
      );
    expect([...requirements.keys()].sort()).toEqual(fields.sort());
  });
});

describe('authorization coverage (deny by default)', () => {
  it.each([
    [
      'a root field without a directive',
      'type Query { open: String @public forgotten: String }',
      ['Query.forgotten: no authorization rule'],
    ],
    [
      'an object field whose type has no directive',
      'type Query { thing: Thing @authenticated } type Thing { name: String }',
      ['Thing.name: no authorization rule'],
    ],
    [
      '@public combined with another directive',
      'type Query { both: String @public @authenticated }',
      ['Query.both: @public cannot be combined'],
    ],
    [
      '@permission on a type without @resource',
      'type Query { thing: Thing @authenticated } type Thing @permission(name: "view") { name: String }',
      ['Thing: @permission on a type without @resource'],
    ],
    [
      'an ID argument nobody checks',
      'type Query { thing(id: ID!): String @authenticated }',
      ['Query.thing(id:): an ID that names an object must be checked'],
    ],
    [
      'an ID input field nobody checks',
      'input In { teamId: ID } type Query { thing(input: In): String @authenticated }',
      ['Query.thing(input.teamId:): an ID that names an object must be checked'],
    ],
    [
      'on: naming no ID argument',
      'type Query { thing(id: ID!): Thing @permission(name: "view", on: "nope") } type Thing @resource(type: "thing") @authenticated { id: ID! }',
      [
        'Query.thing: @permission(on: "nope") names no ID argument',
        'Query.thing(id:): an ID that names an object must be checked',
      ],
    ],
  ])('refuses %s, naming the coordinate', (_label, sdl, expected) => {
    const problems = problemsOf(sdl);
    expect(problems).toHaveLength(expected.length);
    for (const prefix of expected) expect(problems.some((p) => p.startsWith(prefix))).toBe(true);
  });

  it('accepts a fully annotated schema', () => {
    expect(
      problemsOf(`
        type Query { thing(id: ID!): Thing @permission(name: "view", on: "id") }
        type Mutation { move(id: ID!, to: ID! @permission(name: "view", type: "place")): Thing @permission(name: "edit", on: "id") }
        type Thing @resource(type: "thing") @permission(name: "view") { id: ID! secret: String @permission(name: "admin") }
      `),
    ).toEqual([]);
  });
});
