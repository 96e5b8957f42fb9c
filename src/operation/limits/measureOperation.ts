/**
 * What an operation will cost before it runs, in one walk of its selection set (fragments
 * expanded where they are used, introspection left out — tooling's introspection query is
 * deep by nature and reads no tenant data):
 *
 * - depth: the deepest nesting of fields;
 * - aliases and directives: how many the operation uses;
 * - cost: every field costs 1 plus what its selection costs; a field with a `first` or
 *   `last` argument (a page) multiplies its selection by that page size (the default page
 *   when neither is given or a variable is null, the largest page when a variable cannot
 *   be read; at most the largest page, since a larger one is refused as BAD_USER_INPUT
 *   when it runs), the lists inside that page (`edges`) by
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
  /** The largest page a `first`/`last` argument may ask for (used when its value is unknown). */
  readonly maxPage: number;
  /** The page size of a connection asked without `first` or `last`. */
  readonly defaultPage: number;
  /** Stop counting past these (the answer is then "more than"). */
  readonly stopAt: { readonly depth: number; readonly cost: number };
}

const PAGE_ARGUMENTS = ['first', 'last'];

/** The page a connection field asks for, from its `first` or `last` argument. */
function pageSize(
  node: FieldNode,
  variables: Readonly<Record<string, unknown>>,
  options: MeasureOptions,
): number {
  const value = node.arguments?.find((a) => PAGE_ARGUMENTS.includes(a.name.value))?.value;
  if (!value || value.kind === Kind.NULL) return options.defaultPage;
  if (value.kind === Kind.INT) return Math.max(0, Number(value.value));
  if (value.kind === Kind.VARIABLE) {
    const given = variables[value.name.value];
    if (given === undefined || given === null) return options.defaultPage;
    return typeof given === 'number' && Number.isFinite(given)
      ? Math.max(0, given)
      : options.maxPage;
  }
  return options.maxPage;
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
    const paged = definition?.args.some((a) => PAGE_ARGUMENTS.includes(a.name)) ?? false;
    let factor = 1;
    if (paged) {
      // A page above the largest is refused by its resolver (BAD_USER_INPUT, never
      // clamped); here it costs what the largest page would.
      factor = Math.min(pageSize(node, variables, options), options.maxPage);
    } else if (definition && isListType(getNullableType(definition.type)) && !inPage) {
      factor = options.listSize;
    }
    return 1 + factor * walk(node.selectionSet, type, level + 1, paged);
  };

  const cost = root ? walk(operation.selectionSet, root, 1, false) : 0;
  return { depth, aliases, directives, cost };
}
