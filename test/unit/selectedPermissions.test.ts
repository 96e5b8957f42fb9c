/**
 * The look-ahead a list uses to ask, with its own check, the permissions its selected
 * fields will need, and to make the `@classified` decisions they need
 * (src/authz/selectedPermissions.ts).
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { execute, parse } from 'graphql';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyAuthorization } from '../../src/authz/authorizationMiddleware.js';
import { selectedClassified, selectedPermissions } from '../../src/authz/selectedPermissions.js';

const seen: string[][] = [];
const seenClassified: string[][] = [];
const { schema } = applyAuthorization(
  makeExecutableSchema({
    typeDefs: [
      readFileSync('schema/directives.graphql', 'utf8'),
      /* GraphQL */ `
        interface Node {
          id: ID!
        }
        type Thing implements Node @resource(type: "thing") @permission(name: "view") {
          id: ID!
          price: Int @permission(name: "see_price")
          notes: String @permission(name: "read_notes")
          secret: String @classified(level: CONFIDENTIAL)
          label: String @permission(name: "see_label") @classified(level: INTERNAL)
          parent: Thing
          other: Other
        }
        type Other @resource(type: "other") @permission(name: "peek") {
          id: ID!
          thing: Thing
        }
        type Edge @authenticated {
          node: Thing!
        }
        type Query {
          things: [Edge!]! @authenticated
          nodes: [Node!]! @authenticated
        }
      `,
    ],
    resolvers: {
      Query: {
        things: (_p: unknown, _a: unknown, _c: unknown, info) => {
          seen.push(selectedPermissions(info, 'thing').sort());
          seenClassified.push(
            selectedClassified(info, 'thing')
              .map((c) => `${c.field} ${c.policy.classification} ${c.policy.target.resourceType}`)
              .sort(),
          );
          return [];
        },
        nodes: (_p: unknown, _a: unknown, _c: unknown, info) => {
          seen.push(selectedPermissions(info, 'thing').sort());
          return [];
        },
      },
      Node: { __resolveType: () => 'Thing' },
    },
  }),
);

/** What the root list's resolver saw, run through the generated rules (@authenticated passes). */
async function lookAhead(query: string): Promise<string[]> {
  seen.length = 0;
  seenClassified.length = 0;
  await execute({
    schema,
    document: parse(query),
    contextValue: {
      principal: { tenantId: 't' },
      authz: {
        standing: () => ({ kind: 'allow' }),
        scopes: () => ({ kind: 'allow' }),
        tally: () => undefined,
      },
      logger: { info: () => undefined, error: () => undefined },
    },
  });
  return seen[0] ?? [];
}

describe('selectedPermissions', () => {
  it('collects the type-level and field-level permissions of the selected fields', async () => {
    expect(await lookAhead('{ things { node { id price } } }')).toEqual(['see_price', 'view']);
    expect(await lookAhead('{ things { node { id } } }')).toEqual(['view']);
  });

  it('follows named and inline fragments, and abstract types', async () => {
    expect(
      await lookAhead(`{ things { ...E } } fragment E on Edge { node { ... on Thing { notes } } }`),
    ).toEqual(['read_notes', 'view']);
    expect(await lookAhead('{ nodes { id ... on Thing { price } } }')).toEqual([
      'see_price',
      'view',
    ]);
  });

  it('does not prefetch for objects of the same type nested below the listed ones', async () => {
    expect(await lookAhead('{ things { node { id parent { price notes } } } }')).toEqual(['view']);
    expect(await lookAhead('{ things { node { other { thing { notes } } } } }')).toEqual(['view']);
  });

  it('names the @classified decisions of the listed objects’ selected fields, once each', async () => {
    await lookAhead('{ things { node { id price } } }');
    expect(seenClassified[0]).toEqual([]);
    await lookAhead('{ things { node { id secret label } b: node { secret } } }');
    expect(seenClassified[0]).toEqual([
      'Thing.label internal thing',
      'Thing.secret confidential thing',
    ]);
    expect(seen[0]).toEqual(['see_label', 'view']);
    await lookAhead('{ things { ...E } } fragment E on Edge { node { ... on Thing { secret } } }');
    expect(seenClassified[0]).toEqual(['Thing.secret confidential thing']);
    // Not for objects nested below the listed ones.
    await lookAhead('{ things { node { id parent { secret } } } }');
    expect(seenClassified[0]).toEqual([]);
  });
});
