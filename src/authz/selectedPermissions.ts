/**
 * Look-ahead for lists: which relationship permissions the fields selected on the listed
 * objects will ask for, so the list's one bulk check can ask them too and those fields
 * are then decided from the operation's memo, without a second round per level; and which
 * `@classified` decisions they need, so those are made once before the objects' fields
 * run and each field finds its decision known, synchronously.
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
import type { FieldRequirements, PolicyRequirement } from './directives.js';

/** Type name → field name → permissions checked on the parent object, by resource type. */
type PermissionIndex = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string[]>>>;

/** A `@classified` decision a field needs: the same for every object it is read on. */
export interface ClassifiedField {
  /** The field's schema coordinate, e.g. `Workflow.amount`. */
  readonly field: string;
  readonly policy: PolicyRequirement & { readonly target: { readonly kind: 'class' } };
}

interface LookaheadIndex {
  readonly permissions: PermissionIndex;
  /** Type name → field name → the field's `@classified` decisions. */
  readonly classified: ReadonlyMap<string, ReadonlyMap<string, readonly ClassifiedField[]>>;
}

const indexes = new WeakMap<GraphQLSchema, LookaheadIndex>();

/**
 * Records, for `schema`, the permissions each field checks on its parent object and the
 * `@classified` decisions it needs.
 */
export function indexParentPermissions(
  schema: GraphQLSchema,
  requirements: ReadonlyMap<string, FieldRequirements>,
): void {
  const index = new Map<string, Map<string, Map<string, string[]>>>();
  const classified = new Map<string, Map<string, ClassifiedField[]>>();
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
    const policies = req.policies.flatMap((policy) =>
      policy.target.kind === 'class'
        ? [{ field: req.coordinate, policy: policy as ClassifiedField['policy'] }]
        : [],
    );
    if (policies.length > 0) {
      let fields = classified.get(typeName);
      if (!fields) classified.set(typeName, (fields = new Map<string, ClassifiedField[]>()));
      fields.set(fieldName, policies);
    }
  }
  indexes.set(schema, { permissions: index, classified });
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
 * Calls `onListed` with the fields selected on each listed object below the current (list)
 * field: the first objects of type `resourceType` met on each path (an object is listed when
 * a field selected on it checks a permission on it as its parent) — not objects of the same
 * type nested deeper.
 */
function forEachListed(
  info: GraphQLResolveInfo,
  resourceType: string,
  index: LookaheadIndex,
  onListed: (typeName: string, fieldNames: readonly string[]) => void,
): void {
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
    const fields = index.permissions.get(type.name);
    const names: string[] = [];
    let listed = false;
    for (const selection of selections) {
      if (selection.kind !== Kind.FIELD) continue;
      names.push(selection.name.value);
      if (fields?.get(selection.name.value)?.get(resourceType)) listed = true;
    }
    if (listed) onListed(type.name, names);
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
}

/**
 * The permissions on objects of `resourceType` that the fields selected below the
 * current (list) field check on their parent (the listed objects, see forEachListed).
 */
export function selectedPermissions(info: GraphQLResolveInfo, resourceType: string): string[] {
  const index = indexes.get(info.schema);
  if (!index) return [];
  const found = new Set<string>();
  forEachListed(info, resourceType, index, (typeName, fieldNames) => {
    const fields = index.permissions.get(typeName);
    for (const name of fieldNames) {
      for (const p of fields?.get(name)?.get(resourceType) ?? []) found.add(p);
    }
  });
  return [...found];
}

/** The `@classified` decisions the fields selected on the listed objects need. */
export function selectedClassified(
  info: GraphQLResolveInfo,
  resourceType: string,
): ClassifiedField[] {
  const index = indexes.get(info.schema);
  if (!index) return [];
  const found = new Map<string, ClassifiedField>();
  forEachListed(info, resourceType, index, (typeName, fieldNames) => {
    for (const name of fieldNames) {
      for (const c of index.classified.get(typeName)?.get(name) ?? []) {
        found.set(`${c.field} ${c.policy.decision}`, c);
      }
    }
  });
  return [...found.values()];
}

/** What a list's bulk check prepares for the fields selected on its objects. */
export interface ListLookahead {
  /** Permissions asked with the list's own (see selectedPermissions). */
  readonly permissions: readonly string[];
  /** `@classified` decisions made with it (see selectedClassified). */
  readonly classified: readonly ClassifiedField[];
  /** The request's context for those decisions, as the fields' own rules give it. */
  readonly context: { readonly ip: string; readonly requestId: string };
}

/** The look-ahead of the current list field for its objects of `resourceType`. */
export function listLookahead(
  info: GraphQLResolveInfo,
  resourceType: string,
  ctx: { readonly clientIp: string; readonly requestId: string },
): ListLookahead {
  return {
    permissions: selectedPermissions(info, resourceType),
    classified: selectedClassified(info, resourceType),
    context: { ip: ctx.clientIp, requestId: ctx.requestId },
  };
}
