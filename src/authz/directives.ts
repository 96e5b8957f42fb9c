/**
 * Reads the access directives of schema/directives.graphql into a plain description of
 * what every field requires. This is the single source of truth from which the
 * graphql-shield rule tree (authorizationMiddleware.ts) and `npm run authz:check` are made.
 */
import {
  getNamedType,
  getNullableType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isIntrospectionType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputObjectType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { getDirective } from '@graphql-tools/utils';
import { policyDecision, type PolicyName } from './opa/decisions.js';

/** `on:` value naming the caller's own organization (for e.g. `create_workflow`). */
export const ON_ORGANIZATION = '$organization';

export type DenialMode = 'NULL_WITH_ERROR' | 'REJECT_OPERATION';

export interface PermissionRequirement {
  readonly permission: string;
  /** SpiceDB definition of the object checked. */
  readonly resourceType: string;
  /** Where the object id comes from. */
  readonly source:
    | { readonly kind: 'parent'; readonly idField: string }
    | { readonly kind: 'argument'; readonly path: readonly string[] }
    | { readonly kind: 'organization' };
  readonly onDeny: DenialMode;
  /** Where it was declared, for messages. */
  readonly declaredAt: string;
}

/** An OPA decision a field needs (gate 3). */
export interface PolicyRequirement {
  /** The wasm entrypoint, e.g. `gatehouse/workflow/approval/decision` for `workflow/approval`. */
  readonly decision: PolicyName;
  readonly action: string;
  /**
   * What is judged: the object an argument names (loaded as stored; `resourceType` is a key
   * of RequestData.policyResource), the parent object the field belongs to, or (for
   * `@classified`) the field's class of data on objects of `resourceType` — no object.
   */
  readonly target:
    | { readonly kind: 'argument'; readonly argument: string; readonly resourceType: string }
    | { readonly kind: 'parent' }
    | { readonly kind: 'class'; readonly resourceType: string };
  /** From `@classified`: the field's level, given to the policy as `resource.classification`. */
  readonly classification?: string;
}

/** The decision `@classified` fields ask for. */
const CLASSIFICATION_DECISION: PolicyName = 'gatehouse/classification/decision';

/**
 * `@nodeLookup`: the field fetches `Node` objects by the ids of `argument` (one id, or a
 * `list` of them), each decided by the requirements of its type's lookup field
 * (`lookups`: type name → coordinate of `Query.<type>(id:)`).
 */
export interface NodeLookup {
  readonly argument: string;
  readonly list: boolean;
  readonly lookups: ReadonlyMap<string, string>;
}

export interface FieldRequirements {
  readonly coordinate: string;
  readonly public: boolean;
  readonly authenticated: boolean;
  /** OR of ANDs. Empty: no scope requirement. */
  readonly scopes: ReadonlyArray<readonly string[]>;
  readonly permissions: readonly PermissionRequirement[];
  readonly policies: readonly PolicyRequirement[];
  readonly nodeLookup?: NodeLookup;
}

export class AuthorizationSchemaError extends Error {
  override readonly name = 'AuthorizationSchemaError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Authorization directives are incomplete or invalid:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

type Annotated =
  GraphQLObjectType | GraphQLField<unknown, unknown> | GraphQLArgument | GraphQLInputField;

function first(
  schema: GraphQLSchema,
  node: Annotated,
  name: string,
): Record<string, unknown> | undefined {
  return getDirective(schema, node, name)?.[0];
}

function resourceOf(
  schema: GraphQLSchema,
  type: GraphQLNamedType,
): { type: string; idField: string } | undefined {
  if (!isObjectType(type)) return undefined;
  const d = first(schema, type, 'resource');
  if (!d) return undefined;
  const idField = typeof d['idField'] === 'string' ? d['idField'] : 'id';
  return { type: String(d['type']), idField };
}

function isIdType(type: GraphQLNamedType): boolean {
  return type.name === 'ID';
}

/**
 * Walks the schema once. Returns the requirements of every object field, and throws
 * {@link AuthorizationSchemaError} listing every problem: fields without an effective
 * rule, `@permission` on a type without `@resource`, ID arguments or input fields that
 * name objects without being checked, unknown argument paths.
 */
export function readRequirements(schema: GraphQLSchema): Map<string, FieldRequirements> {
  const problems: string[] = [];
  const result = new Map<string, FieldRequirements>();
  const rootTypes = new Set([
    schema.getQueryType(),
    schema.getMutationType(),
    schema.getSubscriptionType(),
  ]);

  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    const typePublic = first(schema, type, 'public') !== undefined;
    const typeAuthenticated = first(schema, type, 'authenticated') !== undefined;
    const typeScopes =
      (first(schema, type, 'requiresScopes')?.['scopes'] as string[][] | undefined) ?? [];
    const typePermission = first(schema, type, 'permission');
    const resource = resourceOf(schema, type);
    if (typePermission && rootTypes.has(type))
      problems.push(`${type.name}: @permission cannot apply to a root type`);

    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const fieldPermission = first(schema, field, 'permission');
      const permissions: PermissionRequirement[] = [];
      const checkedArgs = new Set<string>();
      const nodeLookup =
        first(schema, field, 'nodeLookup') !== undefined
          ? readNodeLookup(schema, field, coordinate, rootTypes.has(type), problems)
          : undefined;
      // Its id argument is checked object by object, by the lookup field's requirements.
      if (nodeLookup) checkedArgs.add(nodeLookup.argument);

      const toRequirement = (
        d: Record<string, unknown>,
        declaredAt: string,
      ): PermissionRequirement | undefined => {
        const permission = String(d['name']);
        const on = d['on'] as string | undefined;
        const onDeny = (d['onDeny'] as DenialMode | undefined) ?? 'NULL_WITH_ERROR';
        if (on === ON_ORGANIZATION) {
          return {
            permission,
            resourceType: 'organization',
            source: { kind: 'organization' },
            onDeny,
            declaredAt,
          };
        }
        if (on !== undefined) {
          const path = on.split('.');
          if (!validArgumentPath(field, path)) {
            problems.push(
              `${declaredAt}: @permission(on: "${on}") names no ID argument or input field`,
            );
            return undefined;
          }
          checkedArgs.add(on);
          const explicit = d['type'] as string | undefined;
          const target = explicit ?? resourceOf(schema, getNamedType(field.type))?.type;
          if (!target) {
            problems.push(
              `${declaredAt}: @permission(on: "${on}") needs type: (the return type has no @resource)`,
            );
            return undefined;
          }
          return {
            permission,
            resourceType: target,
            source: { kind: 'argument', path },
            onDeny,
            declaredAt,
          };
        }
        if (!resource) {
          problems.push(
            `${declaredAt}: @permission on a type without @resource (add @resource or on:)`,
          );
          return undefined;
        }
        return {
          permission,
          resourceType: resource.type,
          source: { kind: 'parent', idField: resource.idField },
          onDeny,
          declaredAt,
        };
      };

      if (typePermission) {
        const r = toRequirement(typePermission, type.name);
        if (r) permissions.push(r);
      }
      if (fieldPermission) {
        const r = toRequirement(fieldPermission, coordinate);
        if (r) permissions.push(r);
      }
      // Arguments and input fields that name other objects carry their own @permission.
      for (const arg of field.args) {
        collectArgumentPermissions(
          schema,
          arg,
          [arg.name],
          coordinate,
          checkedArgs,
          permissions,
          problems,
        );
      }

      const isPublic = typePublic || first(schema, field, 'public') !== undefined;
      const authenticated =
        typeAuthenticated || first(schema, field, 'authenticated') !== undefined;
      const scopes = [
        ...typeScopes,
        ...((first(schema, field, 'requiresScopes')?.['scopes'] as string[][] | undefined) ?? []),
      ];
      // (A @permission that could not be read is reported on its own above.)
      const declaresPermission = typePermission !== undefined || fieldPermission !== undefined;
      if (
        !isPublic &&
        !authenticated &&
        scopes.length === 0 &&
        permissions.length === 0 &&
        !declaresPermission
      ) {
        problems.push(
          `${coordinate}: no authorization rule (add @public, @authenticated, @requiresScopes or @permission)`,
        );
      }
      if (isPublic && (authenticated || scopes.length > 0 || permissions.length > 0)) {
        problems.push(`${coordinate}: @public cannot be combined with other access directives`);
      }
      const policies = readPolicies(schema, field, coordinate, rootTypes.has(type), problems, {
        classOf: resource?.type ?? type.name,
      });
      result.set(coordinate, {
        coordinate,
        public: isPublic,
        authenticated,
        scopes,
        permissions,
        policies,
        ...(nodeLookup ? { nodeLookup } : {}),
      });
    }
  }
  if (problems.length > 0) throw new AuthorizationSchemaError([...new Set(problems)].sort());
  return result;
}

/**
 * A `@nodeLookup` field: a root field with one argument of type `ID!` or `[ID!]!`,
 * returning the `Node` interface (or a list of it); every `Node` type has its lookup field
 * `Query.<type with a lower-case initial>(id: ID!)` returning that type, and that field
 * must carry an access rule of its own (it is checked as any field is).
 */
function readNodeLookup(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  coordinate: string,
  isRoot: boolean,
  problems: string[],
): NodeLookup | undefined {
  const node = schema.getType('Node');
  const [arg, ...others] = field.args;
  const returned = getNamedType(field.type);
  if (!isRoot || !arg || others.length > 0 || !isInterfaceType(node) || returned !== node) {
    problems.push(
      `${coordinate}: @nodeLookup needs a root field with one id argument returning Node`,
    );
    return undefined;
  }
  const list = isListType(getNullableType(arg.type));
  if (!isIdType(getNamedType(arg.type)) || list !== isListType(getNullableType(field.type))) {
    problems.push(`${coordinate}: @nodeLookup: the argument is ID! (Node) or [ID!]! ([Node]!)`);
    return undefined;
  }
  const query = schema.getQueryType();
  const lookups = new Map<string, string>();
  for (const type of schema.getImplementations(node).objects) {
    const name = type.name.charAt(0).toLowerCase() + type.name.slice(1);
    const lookup = query?.getFields()[name];
    const byId = lookup?.args.length === 1 && lookup.args[0]?.name === 'id';
    if (!lookup || !byId || getNamedType(lookup.type) !== type || isListType(lookup.type)) {
      problems.push(`${type.name}: a Node type needs its lookup field Query.${name}(id: ID!)`);
      continue;
    }
    lookups.set(type.name, `${query.name}.${name}`);
  }
  return { argument: arg.name, list, lookups };
}

function readPolicies(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  coordinate: string,
  isRoot: boolean,
  problems: string[],
  /** `resource.type` of a `@classified` decision: the type's @resource, else its name. */
  { classOf }: { classOf: string },
): PolicyRequirement[] {
  const policies: PolicyRequirement[] = [];
  const policy = first(schema, field, 'policy');
  if (policy) {
    const requirement = readPolicy(policy, field, coordinate, isRoot, problems);
    if (requirement) policies.push(requirement);
  }
  const classified = first(schema, field, 'classified');
  if (classified) {
    if (isRoot) {
      problems.push(`${coordinate}: @classified belongs on fields of objects, not root fields`);
    } else {
      policies.push({
        decision: CLASSIFICATION_DECISION,
        action: 'read',
        target: { kind: 'class', resourceType: classOf },
        classification: String(classified['level']).toLowerCase(),
      });
    }
  }
  return policies;
}

/** One `@policy`: its decision must exist and it must be able to name the object judged. */
function readPolicy(
  policy: Record<string, unknown>,
  field: GraphQLField<unknown, unknown>,
  coordinate: string,
  isRoot: boolean,
  problems: string[],
): PolicyRequirement | undefined {
  const name = String(policy['name']);
  const decision = policyDecision(name);
  const argument = typeof policy['on'] === 'string' ? policy['on'] : undefined;
  const resourceType = typeof policy['type'] === 'string' ? policy['type'] : undefined;
  if (!decision) {
    problems.push(`${coordinate}: @policy(name: "${name}") names no compiled decision`);
    return undefined;
  }
  const action = String(policy['action']);
  if (argument === undefined) {
    if (!isRoot) return { decision, action, target: { kind: 'parent' } };
    problems.push(`${coordinate}: @policy on a root field needs on: (it has no parent object)`);
    return undefined;
  }
  if (!resourceType || !field.args.some((a) => a.name === argument)) {
    problems.push(`${coordinate}: @policy(on:) needs an argument of the field and type:`);
    return undefined;
  }
  return { decision, action, target: { kind: 'argument', argument, resourceType } };
}

function validArgumentPath(
  field: GraphQLField<unknown, unknown>,
  path: readonly string[],
): boolean {
  const [head, ...rest] = path;
  let current: GraphQLArgument | GraphQLInputField | undefined = field.args.find(
    (a) => a.name === head,
  );
  for (const name of rest) {
    const named: GraphQLNamedType | undefined = current ? getNamedType(current.type) : undefined;
    current = named && isInputObjectType(named) ? named.getFields()[name] : undefined;
  }
  return current !== undefined && isIdType(getNamedType(current.type));
}

function collectArgumentPermissions(
  schema: GraphQLSchema,
  node: GraphQLArgument | GraphQLInputField,
  path: readonly string[],
  coordinate: string,
  checked: Set<string>,
  out: PermissionRequirement[],
  problems: string[],
  seen: Set<GraphQLInputObjectType> = new Set(),
): void {
  const named = getNamedType(node.type);
  const where = `${coordinate}(${path.join('.')}:)`;
  const d = first(schema, node, 'permission');
  if (d) {
    const type = d['type'] as string | undefined;
    if (!type || !isIdType(named)) {
      problems.push(`${where}: @permission on an argument needs type: and an ID argument`);
    } else {
      checked.add(path.join('.'));
      out.push({
        permission: String(d['name']),
        resourceType: type,
        source: { kind: 'argument', path },
        onDeny: (d['onDeny'] as DenialMode | undefined) ?? 'NULL_WITH_ERROR',
        declaredAt: where,
      });
    }
  }
  if (isIdType(named) && !checked.has(path.join('.'))) {
    problems.push(
      `${where}: an ID that names an object must be checked (@permission(on:) on the field, or @permission on it)`,
    );
  }
  if (isInputObjectType(named) && !seen.has(named)) {
    seen.add(named);
    for (const f of Object.values(named.getFields())) {
      collectArgumentPermissions(
        schema,
        f,
        [...path, f.name],
        coordinate,
        checked,
        out,
        problems,
        seen,
      );
    }
  }
}
