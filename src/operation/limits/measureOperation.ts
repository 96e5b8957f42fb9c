/**
 * What an operation will cost before it runs, in one walk of its selection set (fragments
 * expanded where they are used, introspection left out — tooling's introspection query is
 * deep by nature and reads no tenant data):
 *
 * - depth: the deepest nesting of fields;
 * - aliases and directives: how many the operation uses;
 * - cost: every field costs 1 plus what its selection costs; a field with a `first`
 *   argument (a page) multiplies its selection by that page size (its default, or the
 *   largest page when a variable cannot be read; at most the largest page, since a larger
 *   one is refused as BAD_USER_INPUT when it runs), the lists inside that page (`edges`) by
 *   nothing more, and any other list of objects by `listSize` — so
 *   `workflows(first: 100) { edges { node { owner { teams { … } } } } }` costs what it does.
 *
 * Runs after validation (so fragments exist and do not cycle).
 */
import {
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

export interface OperationMeasure {
  readonly depth: number;
  readonly aliases: number;
  readonly directives: number;
  readonly cost: number;
}

export interface MeasureOptions {
  /** Assumed length of a list that is not paged. */
  readonly listSize: number;
  /** The largest page a `first` argument may ask for (used when its value is unknown). */
  readonly maxPage: number;
  /** Stop counting past these (the answer is then "more than"). */
  readonly stopAt: { readonly depth: number; readonly cost: number };
}

function pageSize(
  value: ValueNode | undefined,
  fallback: number | undefined,
  variables: Readonly<Record<string, unknown>>,
  maxPage: number,
): number {
  if (!value) return fallback ?? maxPage;
  if (value.kind === Kind.INT) return Math.max(0, Number(value.value));
  if (value.kind === Kind.VARIABLE) {
    const given = variables[value.name.value];
    return typeof given === 'number' && Number.isFinite(given) ? Math.max(0, given) : maxPage;
  }
  return maxPage;
}

function fieldOf(type: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

export function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Readonly<Record<string, unknown>>,
  options: MeasureOptions,
): OperationMeasure {
  let depth = 0;
  let aliases = 0;
  let directives = operation.directives?.length ?? 0;
  const root = schema.getRootType(operation.operation);

  /** Cost of `selections` on `type` at `level`; `inPage`: the enclosing field was a page. */
  const walk = (
    selections: SelectionSetNode,
    type: GraphQLNamedType | null | undefined,
    level: number,
    inPage: boolean,
  ): number => {
    let cost = 0;
    for (const selection of selections.selections) {
      directives += selection.directives?.length ?? 0;
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) continue;
        directives += fragment.directives?.length ?? 0;
        const on = schema.getType(fragment.typeCondition.name.value);
        cost += walk(fragment.selectionSet, on, level, inPage);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : type;
        cost += walk(selection.selectionSet, on, level, inPage);
      } else {
        cost += field(selection, type, level, inPage);
      }
      // Past a limit the answer is known: stop walking (a huge document stays cheap).
      if (depth > options.stopAt.depth || cost > options.stopAt.cost) return cost;
    }
    return cost;
  };

  const field = (
    node: FieldNode,
    parent: GraphQLNamedType | null | undefined,
    level: number,
    inPage: boolean,
  ): number => {
    if (node.alias) aliases += 1;
    if (node.name.value.startsWith('__')) return 0; // introspection and __typename
    if (level > depth) depth = level;
    const definition = parent ? fieldOf(parent, node.name.value) : undefined;
    if (!node.selectionSet) return 1;
    const type = definition ? getNamedType(definition.type) : undefined;
    const first = definition?.args.find((a) => a.name === 'first');
    let factor = 1;
    if (first) {
      const given = node.arguments?.find((a) => a.name.value === 'first')?.value;
      const fallback = typeof first.defaultValue === 'number' ? first.defaultValue : undefined;
      // A page above the largest is refused by its resolver (BAD_USER_INPUT, never
      // clamped); here it costs what the largest page would.
      factor = Math.min(pageSize(given, fallback, variables, options.maxPage), options.maxPage);
    } else if (definition && isListType(getNullableType(definition.type)) && !inPage) {
      factor = options.listSize;
    }
    return 1 + factor * walk(node.selectionSet, type, level + 1, first !== undefined);
  };

  const cost = root ? walk(operation.selectionSet, root, 1, false) : 0;
  return { depth, aliases, directives, cost };
}
