/**
 * Generates the graphql-shield rule tree from the directive requirements (directives.ts)
 * and applies it. Deny by default: `fallbackRule` is deny.
 * Rules never throw: every failure is logged and becomes a denial with a stable code.
 * graphql-shield's caches are not used (`no_cache`); PermissionChecker memoises per
 * request instead. graphql-shield does not wrap `subscribe`, so the same rule is applied
 * to subscription fields' subscribe step here.
 */
import {
  defaultFieldResolver,
  isObjectType,
  type GraphQLError,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { badUserInput } from '../errors/clientErrors.js';
import { applyMiddleware, deny as shieldDeny, rule, shield, type IRule } from './graphqlShield.js';
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import type { AuthorizationContext } from './AuthorizationContext.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import { UnauthenticatedReason } from '../errors/UnauthenticatedReason.js';
import { ALLOW, denialError, deny, unavailable, type Decision } from './AuthzError.js';
import type { PolicyTarget } from './RequestAuthorizer.js';
import { indexParentPermissions } from './selectedPermissions.js';
import {
  ON_ORGANIZATION,
  readRequirements,
  type FieldRequirements,
  type NodeLookup,
  type PermissionRequirement,
} from './directives.js';

function valueAt(args: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = args;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function decidePermission(
  req: PermissionRequirement,
  parent: unknown,
  args: Record<string, unknown>,
  ctx: AuthorizationContext,
): Decision | Promise<Decision> {
  const authz = ctx.authz;
  let id: unknown;
  switch (req.source.kind) {
    case 'parent':
      id = (parent as Record<string, unknown> | null)?.[req.source.idField];
      break;
    case 'argument':
      id = valueAt(args, req.source.path);
      // An absent optional argument names no object: nothing to check.
      if (id === undefined || id === null) return { kind: 'allow' };
      break;
    case 'organization':
      id = ON_ORGANIZATION;
      break;
  }
  if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
    return deny('relationship', [`${req.declaredAt}: no object id`]);
  }
  return authz.relationship(req.resourceType, id.toLowerCase(), req.permission);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Input validation comes before authorization: an argument that should name an object but
 * is not an id at all is BAD_USER_INPUT (it reveals nothing about any object).
 */
function malformedId(
  req: FieldRequirements,
  args: Record<string, unknown>,
): GraphQLError | undefined {
  for (const p of req.permissions) {
    if (p.source.kind !== 'argument') continue;
    const value = valueAt(args, p.source.path);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !UUID.test(value)) {
      const field = p.source.path.join('.');
      return badUserInput(`${field} must be an id`, { field });
    }
  }
  return undefined;
}

/** At most this many ids in one `@nodeLookup` list (`nodes(ids:)`). */
export const MAX_NODE_IDS = 100;

/** The ids of a `@nodeLookup` field must be ids, and not too many (before any decision). */
function malformedNodeIds(
  req: FieldRequirements,
  args: Record<string, unknown>,
): GraphQLError | undefined {
  const lookup = req.nodeLookup;
  if (!lookup) return undefined;
  const value = args[lookup.argument];
  const ids: unknown[] = Array.isArray(value) ? value : [value];
  const argument = lookup.argument;
  if (ids.length < 1 || ids.length > MAX_NODE_IDS) {
    return badUserInput(`${argument} must hold 1 to ${MAX_NODE_IDS} ids`, { field: argument });
  }
  if (ids.some((id) => typeof id !== 'string' || !UUID.test(id))) {
    return badUserInput(`${argument} must be ${lookup.list ? 'ids' : 'an id'}`, {
      field: argument,
    });
  }
  return undefined;
}

type FieldDecision = Decision & { onDeny?: string };

/**
 * Evaluates every requirement of a field; the first denial wins (all must allow).
 * Synchronous when every answer is already known in this operation — the common case for
 * the fields of a listed object — so most fields cost no promise here.
 */
export function decideField(
  req: FieldRequirements,
  parent: unknown,
  args: Record<string, unknown>,
  ctx: AuthorizationContext,
): FieldDecision | Promise<FieldDecision> {
  if (req.public) return ALLOW;
  if (!ctx.principal) {
    return {
      kind: 'deny',
      gate: 'authentication',
      code: ErrorCode.UNAUTHENTICATED,
      reasons: ['no principal'],
      reason: UnauthenticatedReason.CREDENTIALS_REQUIRED,
    };
  }
  const standing = ctx.authz.standing();
  if (standing instanceof Promise) {
    return standing.then((s) => afterStanding(s, req, parent, args, ctx));
  }
  return afterStanding(standing, req, parent, args, ctx);
}

/**
 * A deactivated account is refused as a whole (no field of the operation answers); an
 * account that could not be read denies each field, as any unavailable gate does.
 */
function afterStanding(
  standing: Decision,
  req: FieldRequirements,
  parent: unknown,
  args: Record<string, unknown>,
  ctx: AuthorizationContext,
): FieldDecision | Promise<FieldDecision> {
  if (standing.kind === 'allow') return decideAuthenticated(req, parent, args, ctx);
  return standing.code === ErrorCode.UNAUTHENTICATED
    ? { ...standing, onDeny: 'REJECT_OPERATION' }
    : standing;
}

function decideAuthenticated(
  req: FieldRequirements,
  parent: unknown,
  args: Record<string, unknown>,
  ctx: AuthorizationContext,
): FieldDecision | Promise<FieldDecision> {
  const scopes = ctx.authz.scopes(req.scopes);
  if (scopes.kind === 'deny') return scopes;
  const decisions: Array<Decision | Promise<Decision>> = [];
  let waiting = false;
  for (const p of req.permissions) {
    const decision = decidePermission(p, parent, args, ctx);
    waiting ||= decision instanceof Promise;
    decisions.push(decision);
  }
  if (waiting) {
    return Promise.all(decisions.map((d) => Promise.resolve(d))).then((settled) =>
      afterPermissions(req, settled, parent, args, ctx),
    );
  }
  return afterPermissions(req, decisions as Decision[], parent, args, ctx);
}

function afterPermissions(
  req: FieldRequirements,
  decisions: readonly Decision[],
  parent: unknown,
  args: Record<string, unknown>,
  ctx: AuthorizationContext,
): FieldDecision | Promise<FieldDecision> {
  const index = decisions.findIndex((d) => d.kind === 'deny');
  const denied = decisions[index];
  if (denied && denied.kind === 'deny') {
    const p = req.permissions[index];
    const argument = p?.source.kind === 'argument' ? p.source.path.join('.') : undefined;
    return { ...namingArgument(denied, argument), onDeny: p?.onDeny ?? 'NULL_WITH_ERROR' };
  }
  if (req.policies.length === 0) return ALLOW;
  return decidePolicies(req, parent, args, ctx);
}

/**
 * A denial about the object an argument names says which argument (`extensions.argument`):
 * taken from the schema, so an id that names nothing is denied with the same one.
 */
function namingArgument<D extends Decision>(decision: D, argument: string | undefined): D {
  return decision.kind === 'deny' && argument !== undefined ? { ...decision, argument } : decision;
}

/**
 * Gate 3 only after gate 2 allowed: policies judge what relationships already permit.
 * Synchronous while the decisions are known (a `@classified` field after its first object).
 */
function decidePolicies(
  req: FieldRequirements,
  parent: unknown,
  args: Record<string, unknown>,
  ctx: AuthorizationContext,
  from = 0,
): Decision | Promise<Decision> {
  for (let i = from; i < req.policies.length; i++) {
    const p = req.policies[i]!;
    const argument = p.target.kind === 'argument' ? p.target.argument : undefined;
    let target: PolicyTarget;
    if (p.target.kind === 'argument') {
      const id = args[p.target.argument];
      if (typeof id !== 'string') return namingArgument(deny('policy', ['no object id']), argument);
      target = { type: p.target.resourceType, id: id.toLowerCase() };
    } else if (p.target.kind === 'class') {
      target = { classOf: p.target.resourceType };
    } else {
      target = { parent };
    }
    const decision = ctx.authz.policy(p, target, {
      args,
      field: req.coordinate,
      ip: ctx.clientIp,
      requestId: ctx.requestId,
    });
    if (decision instanceof Promise) {
      return decision.then((d) =>
        d.kind === 'deny'
          ? namingArgument(d, argument)
          : decidePolicies(req, parent, args, ctx, i + 1),
      );
    }
    if (decision.kind === 'deny') return namingArgument(decision, argument);
  }
  return ALLOW;
}

/** No object there for the caller: the same denial as an object they may not read. */
const NO_NODE = deny('relationship', ['no object of a Node type with this id']);

/**
 * `@nodeLookup`: the object an id names must pass its type's lookup field, as if the client
 * had called `Query.<type>(id:)`. The type comes from the caller's tenant only (RLS). Every
 * denial answers as an id that names nothing does — one gate, no reason — since which
 * gate refused (a missing scope, say) would tell that an object of some type
 * has this id; the log and the audit trail keep the real reasons. (An unavailable gate
 * stays AUTHZ_UNAVAILABLE: fail closed, and say so.)
 */
async function decideNode(
  lookup: NodeLookup,
  id: string,
  ctx: AuthorizationContext,
  requirements: ReadonlyMap<string, FieldRequirements>,
): Promise<FieldDecision> {
  // Every denial names the lookup's argument (`id`, `ids`), from the schema: the same for
  // any id, as for every object an argument names.
  const named = (d: FieldDecision): FieldDecision => namingArgument(d, lookup.argument);
  const type = await ctx.authz.nodeType(id.toLowerCase());
  if (type === null) return named(NO_NODE);
  if (typeof type !== 'string') return named(type);
  const typed = requirements.get(lookup.lookups.get(type) ?? '');
  // A type without a lookup field fails the build; fail closed all the same.
  if (!typed) return named(NO_NODE);
  const decision = await decideField(typed, undefined, { id }, ctx);
  if (decision.kind === 'deny' && decision.code === ErrorCode.FORBIDDEN) {
    return named({ ...NO_NODE, reasons: decision.reasons });
  }
  return named(decision);
}

/**
 * `item`: the decision is of one item of the field's list (a `@nodeLookup` list's id), whose
 * error graphql-js locates at the item's index; otherwise the error is located at the field.
 */
function toRuleResult(
  decision: FieldDecision,
  ctx: AuthorizationContext,
  info: GraphQLResolveInfo,
  args: Record<string, unknown>,
  item = false,
): true | Error {
  ctx.authz.tally(decision);
  if (decision.kind === 'allow') return true;
  const field = `${info.parentType.name}.${info.fieldName}`;
  const rejects = decision.onDeny === 'REJECT_OPERATION';
  const error = denialError(decision, {
    explain: ctx.authz.options.explain,
    coordinate: field,
    // (The answer that a rejecting field replaces names nothing of the request's data.)
    ...(rejects || item ? {} : { at: info }),
  });
  const decisionId = error.extensions['decisionId'] as string;
  // (The operation's logger names the request, trace, tenant and caller.)
  ctx.logger.info('authorization denied', {
    field,
    gate: decision.gate,
    code: decision.code,
    decisionId,
    reasons: decision.reasons,
  });
  ctx.authz.recordDenial({
    id: decisionId,
    gate: decision.gate,
    code: decision.code,
    field,
    reasons: decision.reasons,
    // A refused mutation is audited as that mutation (its arguments name the object).
    ...(info.parentType === info.schema.getMutationType() ? { mutationArgs: args } : {}),
  });
  if (rejects) ctx.authz.rejectOperation(error);
  return error;
}

/** A rule that threw (a bug): logged, and a denial — never an allow. */
function ruleFailed(
  req: FieldRequirements,
  error: unknown,
  ctx: AuthorizationContext,
  info: GraphQLResolveInfo,
  args: Record<string, unknown>,
  item = false,
): true | Error {
  ctx.logger.error('authorization rule failed', { field: req.coordinate, error });
  return toRuleResult(unavailable('relationship', ['internal error']), ctx, info, args, item);
}

/**
 * A field's rule: its own requirements, then — for a single-object `@nodeLookup` — the
 * requirements of the object's type (a list's objects are decided one by one, see
 * {@link decideEachNode}).
 */
function decideRule(
  req: FieldRequirements,
  parent: unknown,
  args: Record<string, unknown>,
  ctx: AuthorizationContext,
  requirements: ReadonlyMap<string, FieldRequirements>,
): FieldDecision | Promise<FieldDecision> {
  const own = decideField(req, parent, args, ctx);
  const lookup = req.nodeLookup;
  if (!lookup || lookup.list) return own;
  const id = args[lookup.argument] as string;
  return Promise.resolve(own).then((d) =>
    d.kind === 'allow' ? decideNode(lookup, id, ctx, requirements) : d,
  );
}

/**
 * The resolver of a `@nodeLookup` list, behind the field's own rule: each id is decided as
 * `node(id:)` decides it; the resolver reads only the allowed ones, and a denied one is its
 * FORBIDDEN error at its index (graphql-js makes an Error list item null with that error).
 */
function decideEachNode(
  schema: GraphQLSchema,
  requirements: ReadonlyMap<string, FieldRequirements>,
): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const req = requirements.get(`${typeName}.${fieldName}`);
      const lookup = req?.nodeLookup;
      const resolve = field.resolve;
      if (!req || !lookup?.list || !resolve) return field;
      return {
        ...field,
        async resolve(parent, args: Record<string, unknown>, ctx: AuthorizationContext, info) {
          const ids = args[lookup.argument] as string[];
          const results = await Promise.all(
            ids.map((id) =>
              decideNode(lookup, id, ctx, requirements).then(
                (d) => toRuleResult(d, ctx, info, args, true),
                (error: unknown) => ruleFailed(req, error, ctx, info, args, true),
              ),
            ),
          );
          const allowed = ids.filter((_, i) => results[i] === true);
          const values = allowed.length
            ? ((await resolve(parent, { ...args, [lookup.argument]: allowed }, ctx, info)) as
                unknown[] | null)
            : [];
          let next = 0;
          return results.map((r) => (r === true ? (values?.[next++] ?? null) : r));
        },
      };
    },
  });
}

export interface AuthorizedSchema {
  readonly schema: GraphQLSchema;
  readonly requirements: ReadonlyMap<string, FieldRequirements>;
}

/**
 * Decisions begun by {@link resolveKnownAllows} that it could not take synchronously, by the
 * field execution's `info` (one object per resolved field): the rule graphql-shield then
 * runs for that field continues with it, so nothing is asked twice.
 */
const undecided = new WeakMap<GraphQLResolveInfo, FieldDecision | Promise<FieldDecision>>();

/**
 * graphql-shield wraps every field in an async function, so every field of every row would
 * resolve through a promise even when the operation already knows the decision (the fields
 * of a listed object, after the list's bulk check). Where the same decision function
 * answers synchronously with an allow, the field's own resolver runs at once; everything
 * else — an unknown decision, any denial, any input to validate — goes through the rule
 * graphql-shield runs. Root fields always do (their arguments, refusals and audit).
 */
function resolveKnownAllows(
  shielded: GraphQLSchema,
  unshielded: GraphQLSchema,
  requirements: ReadonlyMap<string, FieldRequirements>,
): GraphQLSchema {
  const roots = new Set([
    unshielded.getQueryType()?.name,
    unshielded.getMutationType()?.name,
    unshielded.getSubscriptionType()?.name,
  ]);
  return mapSchema(shielded, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const req = requirements.get(`${typeName}.${fieldName}`);
      const own = unshielded.getType(typeName);
      const original = isObjectType(own) ? own.getFields()[fieldName] : undefined;
      const viaShield = field.resolve;
      if (!req || !original || !viaShield || roots.has(typeName) || req.nodeLookup) return field;
      if (req.permissions.some((p) => p.source.kind === 'argument')) return field;
      const resolveOwn = original.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve(parent, args: Record<string, unknown>, ctx: AuthorizationContext, info) {
          const decision = decideField(req, parent, args, ctx);
          if (!(decision instanceof Promise) && decision.kind === 'allow') {
            ctx.authz.tally(decision);
            return resolveOwn(parent, args, ctx, info);
          }
          // The rule takes this decision over instead of asking again.
          undecided.set(info, decision);
          return viaShield(parent, args, ctx, info);
        },
      };
    },
  });
}

export interface AuthorizationOptions {
  /**
   * False sends every field through graphql-shield's rule, even one whose decision the
   * operation already knows (tests prove the two paths answer alike). Default true.
   */
  readonly resolveKnownAllows?: boolean;
}

export function applyAuthorization(
  schema: GraphQLSchema,
  options: AuthorizationOptions = {},
): AuthorizedSchema {
  const requirements = readRequirements(schema);
  const tree: Record<string, Record<string, IRule>> = {};
  for (const req of requirements.values()) {
    const [typeName, fieldName] = req.coordinate.split('.') as [string, string];
    tree[typeName] ??= {};
    tree[typeName][fieldName] = rule(`authz:${req.coordinate}`, { cache: 'no_cache' })(
      (
        parent: unknown,
        args: Record<string, unknown>,
        ctx: AuthorizationContext,
        info: GraphQLResolveInfo,
      ): true | Error | Promise<true | Error> => {
        try {
          const invalid = malformedId(req, args) ?? malformedNodeIds(req, args);
          if (invalid) {
            // A refused mutation is audited (FAILED), even before any decision.
            if (info.parentType === info.schema.getMutationType()) {
              ctx.authz.refuseInput({ field: req.coordinate, args, error: invalid });
            }
            return invalid;
          }
          const begun = undecided.get(info);
          if (begun) undecided.delete(info);
          const decision = begun ?? decideRule(req, parent, args, ctx, requirements);
          if (decision instanceof Promise) {
            return decision.then(
              (d) => toRuleResult(d, ctx, info, args),
              (error: unknown) => ruleFailed(req, error, ctx, info, args),
            );
          }
          return toRuleResult(decision, ctx, info, args);
        } catch (error) {
          return ruleFailed(req, error, ctx, info, args);
        }
      },
    );
  }
  const middleware = shield(tree, {
    fallbackRule: shieldDeny,
    // Resolver errors pass through to formatError, the one normalisation point (which
    // turns anything uncoded into INTERNAL_SERVER_ERROR). Rules themselves never throw.
    allowExternalErrors: true,
    fallbackError: (_error, _parent, _args, _ctx, info) =>
      denialError(deny('relationship', []), {
        explain: false,
        coordinate: `${info.parentType.name}.${info.fieldName}`,
        at: info,
      }),
  });
  const unshielded = decideEachNode(schema, requirements);
  const viaShield = applyMiddleware(unshielded, middleware);
  const shielded =
    options.resolveKnownAllows === false
      ? viaShield
      : resolveKnownAllows(viaShield, unshielded, requirements);

  // graphql-shield wraps resolve only; apply the same decision to `subscribe`.
  const withSubscribe = mapSchema(shielded, {
    [MapperKind.SUBSCRIPTION_ROOT_FIELD]: (field, fieldName, typeName) => {
      const req = requirements.get(`${typeName}.${fieldName}`);
      const subscribe = field.subscribe;
      if (!req || !subscribe) return field;
      return {
        ...field,
        async subscribe(parent, args: Record<string, unknown>, ctx: AuthorizationContext, info) {
          const decision = await decideField(req, parent, args, ctx);
          const result = toRuleResult(decision, ctx, info, args);
          if (result !== true) throw result;
          return subscribe(parent, args, ctx, info);
        },
      };
    },
  });
  indexParentPermissions(withSubscribe, requirements);
  return { schema: withSubscribe, requirements };
}
