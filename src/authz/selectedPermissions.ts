/**
 * Look-ahead for lists: which relationship permissions the fields selected on the listed
 * objects will ask for, so the list's one bulk check can ask them too and those fields
 * are then decided from the operation's memo, without a second round per level.
 *
 * Only a prefetch: every field is still decided by its own rule. Asking for a permission
 * that no field ends up needing (a field under @skip, say) costs a check, nothing else.
 */
import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type GraphQLNamedType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionNode,
} from 'graphql';
import type { FieldRequirements } from './directives.js';

/** Type name → field name → permissions checked on the parent object, by resource type. */
type PermissionIndex = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string[]>>>;

const indexes = new WeakMap<GraphQLSchema, PermissionIndex>();

/** Records, for `schema`, the permissions each field checks on its parent object. */
export function indexParentPermissions(
  schema: GraphQLSchema,
  requirements: ReadonlyMap<string, FieldRequirements>,
): void {
  const index = new Map<string, Map<string, Map<string, string[]>>>();
  for (const req of requirements.values()) {
    const [typeName, fieldName] = req.coordinate.split('.') as [string, string];
    for (const p of req.permissions) {
      if (p.source.kind !== 'parent') continue;
      let fields = index.get(typeName);
      if (!fields) index.set(typeName, (fields = new Map<string, Map<string, string[]>>()));
      let byResource = fields.get(fieldName);
      if (!byResource) fields.set(fieldName, (byResource = new Map<string, string[]>()));
      const list = byResource.get(p.resourceType) ?? [];
      if (!list.includes(p.permission)) list.push(p.permission);
      byResource.set(p.resourceType, list);
    }
  }
  indexes.set(schema, index);
}

/** The named type of `type.field`, if `type` has fields and that one. */
function fieldType(type: GraphQLNamedType, field: string): GraphQLNamedType | undefined {
  if (!isObjectType(type) && !isInterfaceType(type)) return undefined;
  const definition = type.getFields()[field];
  return definition ? getNamedType(definition.type) : undefined;
}

/** Nesting followed below the list field (connection → edges → node is 2). */
const MAX_DEPTH = 4;

/**
 * The permissions on objects of `resourceType` that the fields selected below the
 * current (list) field check on their parent: the first objects of that resource type
 * met on each path, i.e. the listed ones — not objects of the same type nested deeper.
 */
export function selectedPermissions(info: GraphQLResolveInfo, resourceType: string): string[] {
  const index = indexes.get(info.schema);
  if (!index) return [];
  const found = new Set<string>();
  const visit = (
    selections: readonly SelectionNode[],
    type: GraphQLNamedType | undefined,
    depth: number,
  ): void => {
    if (!type || depth > MAX_DEPTH) return;
    if (isAbstractType(type)) {
      for (const possible of info.schema.getPossibleTypes(type)) visit(selections, possible, depth);
      return;
    }
    const fields = index.get(type.name);
    let listed = false;
    for (const selection of selections) {
      const permissions = fields
        ?.get(selection.kind === Kind.FIELD ? selection.name.value : '')
        ?.get(resourceType);
      if (permissions) {
        listed = true;
        for (const p of permissions) found.add(p);
      }
    }
    for (const selection of selections) {
      switch (selection.kind) {
        case Kind.FIELD: {
          // Below an object of the listed resource type are other objects: not prefetched.
          if (listed || !selection.selectionSet) break;
          visit(
            selection.selectionSet.selections,
            fieldType(type, selection.name.value),
            depth + 1,
          );
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const condition: GraphQLNamedType | undefined = selection.typeCondition
            ? info.schema.getType(selection.typeCondition.name.value)
            : type;
          if (condition === type || (condition && isAbstractType(condition))) {
            visit(selection.selectionSet.selections, type, depth);
          }
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const fragment = info.fragments[selection.name.value];
          if (!fragment) break;
          const condition: GraphQLNamedType | undefined = info.schema.getType(
            fragment.typeCondition.name.value,
          );
          if (condition === type || (condition && isAbstractType(condition))) {
            visit(fragment.selectionSet.selections, type, depth);
          }
          break;
        }
      }
    }
  };
  for (const node of info.fieldNodes) {
    if (node.selectionSet) {
      visit(node.selectionSet.selections, getNamedType(info.returnType), 0);
    }
  }
  return [...found];
}
