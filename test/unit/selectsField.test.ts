/** selectsField: the prefetch look-ahead of the workflows list (graphql/selectsField.ts). */
import {
  Kind,
  parse,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { selectsField } from '../../src/graphql/selectsField.js';

/** The resolve info of the operation's first root field, as far as selectsField reads it. */
function infoOf(document: string): GraphQLResolveInfo {
  const parsed = parse(document);
  const operation = parsed.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  const fragments = Object.fromEntries(
    parsed.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const field = operation.selectionSet.selections[0] as FieldNode;
  return { fieldNodes: [field], fragments } as unknown as GraphQLResolveInfo;
}

describe('selectsField', () => {
  it.each([
    ['directly', '{ workflows { edges { node { id shares { role } } } } }', true],
    ['not at all', '{ workflows { edges { node { id name } } } }', false],
    [
      'through a fragment',
      '{ workflows { edges { node { ...W } } } } fragment W on Workflow { shares { role } }',
      true,
    ],
    [
      'through a fragment in a fragment',
      '{ workflows { ...C } } fragment C on WorkflowConnection { edges { node { ...W } } } fragment W on Workflow { id shares { role } }',
      true,
    ],
    [
      'through an inline fragment',
      '{ workflows { edges { node { ... on Workflow { shares { role } } } } } }',
      true,
    ],
    ['only deeper than asked', '{ workflows { edges { node { team { x { shares } } } } } }', false],
    ['an unknown fragment', '{ workflows { edges { node { ...Missing } } } }', false],
  ])('%s', (_name, document, expected) => {
    expect(selectsField(infoOf(document), 'shares', 3)).toBe(expected);
  });
});
