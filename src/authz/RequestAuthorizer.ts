/**
 * The authorization state of one operation: who is asking (principal and, lazily, their
 * SpiceDB subject) and a batched permission checker. Built per operation; read-only for
 * resolvers and rules. Benchmarks subclass it for their baselines (bench/); nothing here
 * knows of them.
 */
import type { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { Principal } from '../authn/Principal.js';
import type { AuthorizationData } from './AuthorizationData.js';
import type { Logger } from '../observability/logger.js';
import type { DenialRecord } from '../audit/OperationAuditLog.js';
import {
  ALLOW,
  AuthzUnavailableError,
  deny,
  denialError,
  unavailable,
  type Decision,
} from './AuthzError.js';
import type { AuthzMetrics } from './authzMetrics.js';
import { tracer } from '../observability/spans.js';
import type { DecisionCache } from './DecisionCache.js';
import { objectId, tenantObjectId } from './objectIds.js';
import {
  PermissionChecker,
  type PermissionCheckerOptions,
  type RecordedWrites,
  type RelationshipChecker,
} from './PermissionChecker.js';
import { explainCheck } from './spicedb/explainCheck.js';
import type { PolicyEngine, PolicyName } from './opa/PolicyEngine.js';
import type { PolicyData } from './opa/PolicyData.js';
import { storedForm } from './opa/storedForm.js';
import type { SpiceDbConnection } from './spicedb/SpiceDbConnection.js';
import type { ListLookahead } from './selectedPermissions.js';

export interface AuthorizerOptions {
  readonly spicedb: SpiceDbConnection;
  readonly deadlineMs: number;
  /** Include reasons (`extensions.explain`) in denials: development only. */
  readonly explain: boolean;
  readonly logger: Logger;
  /** Gates 2 and 3's meters (authzMetrics.ts). */
  readonly metrics?: AuthzMetrics;
  /** Whether `@requiresScopes` binds identity-provider tokens too (AUTH_REQUIRE_SCOPES). */
  readonly userScopes?: boolean;
  /** Decisions shared across requests. */
  readonly cache?: DecisionCache;
  /**
   * Writes known in this process, when it is SpiceDB's only writer (the embedded SpiceDB:
   * one instance per database). Replaces the per-operation lookup of recorded writes in
   * the database: checks ask for data at least as fresh as the newest write, and the
   * decision cache is cleared by every write (so no per-object write times are needed).
   */
  readonly localWrites?: () => RecordedWrites;
  /** Gate 3; without it every @policy field is denied. */
  readonly policies?: PolicyEngine;
  /** Keeps the engine's per-tenant policy data (from the database) fresh. */
  readonly policyData?: PolicyData;
}

/** Builds an operation's authorizer: the constructor, or a benchmark's baseline. */
export type AuthorizerFactory = (
  principal: Principal | null,
  data: AuthorizationData | null,
  options: AuthorizerOptions,
) => RequestAuthorizer;

/**
 * What a policy judges: an object named by id (loaded as stored), the parent object, or
 * the class of data of a field of resources of type `classOf` (no object).
 */
export type PolicyTarget =
  | { readonly type: string; readonly id: string }
  | { readonly parent: unknown }
  | { readonly classOf: string };

export interface PolicyContext {
  readonly args: Record<string, unknown>;
  /** The field's schema coordinate, e.g. `Workflow.amount`. */
  readonly field: string;
  readonly ip: string;
  readonly requestId: string;
}

/** A root mutation field whose arguments were refused before authorization. */
export interface RefusedInput {
  /** Schema coordinate, e.g. `Mutation.approveWorkflow`. */
  readonly field: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly error: GraphQLError;
}

const NOTHING_RECORDED: RecordedWrites = { token: undefined, writtenAt: new Map() };

const NO_ACCOUNT: Decision = {
  kind: 'deny',
  gate: 'relationship',
  code: ErrorCode.FORBIDDEN,
  reasons: ['the caller has no user account in this organisation'],
  reason: 'NO_ACCOUNT',
};

/** A user whose account an admin deactivated: refused whatever token they bring. */
const DEACTIVATED: Decision = {
  kind: 'deny',
  gate: 'authentication',
  code: ErrorCode.UNAUTHENTICATED,
  reasons: ['the account is deactivated'],
  reason: 'ACCOUNT_DEACTIVATED',
};

export class RequestAuthorizer {
  readonly principal: Principal | null;
  readonly options: AuthorizerOptions;
  readonly #data: AuthorizationData | null;
  #checker: Promise<RelationshipChecker> | undefined;
  /** The same checker once built, for synchronous reads of known answers. */
  #checkerReady: RelationshipChecker | undefined;
  #commitsSeen = 0;
  readonly #rejections: GraphQLError[] = [];
  readonly #denials: DenialRecord[] = [];
  readonly #refusedInputs: RefusedInput[] = [];
  /** Field decisions of this operation by `gate/outcome`, for the meters. */
  readonly #tally = new Map<string, number>();

  constructor(
    principal: Principal | null,
    data: AuthorizationData | null,
    options: AuthorizerOptions,
  ) {
    this.principal = principal;
    this.#data = data;
    this.options = options;
  }

  #standing: Decision | Promise<Decision> | undefined;

  /**
   * Gate 1's last word on a user principal, once per operation: a deactivated account is
   * refused (UNAUTHENTICATED, reason ACCOUNT_DEACTIVATED), however valid its token.
   * Service principals were decided by their key's lookup (an inactive account's key is a
   * 401). Synchronous once known; fails closed when the account cannot be read.
   */
  standing(): Decision | Promise<Decision> {
    if (this.#standing) return this.#standing;
    const data = this.#data;
    if (!data || this.principal?.kind !== 'user') {
      this.#standing = ALLOW;
      return ALLOW;
    }
    const pending = data.deactivated().then(
      (deactivated) => (deactivated ? DEACTIVATED : ALLOW),
      (error: unknown) => {
        this.options.logger.error('account lookup failed', { error });
        return unavailable('authentication', ['the account could not be read']);
      },
    );
    this.#standing = pending;
    void pending.then((decision) => {
      this.#standing = decision;
    });
    return pending;
  }

  /**
   * Records a denial of a field declared `onDeny: REJECT_OPERATION`: the server then
   * answers the whole operation with these errors and no data.
   */
  rejectOperation(error: GraphQLError): void {
    this.#rejections.push(error);
  }

  get rejections(): readonly GraphQLError[] {
    return this.#rejections;
  }

  /** Counts a field decision (added to the meters when the operation ends). */
  tally(decision: Decision): void {
    const key =
      decision.kind === 'allow'
        ? 'all/allow'
        : `${decision.gate}/${decision.code === ErrorCode.AUTHZ_UNAVAILABLE ? 'unavailable' : 'deny'}`;
    this.#tally.set(key, (this.#tally.get(key) ?? 0) + 1);
  }

  /** Adds the decisions counted so far to the meters (once per operation). */
  flushTally(): void {
    if (this.#tally.size === 0) return;
    this.options.metrics?.decisions(this.#tally);
    this.#tally.clear();
  }

  /** Records a denial for the audit trail (gate 5 summarises an operation's denials). */
  recordDenial(denial: DenialRecord): void {
    this.#denials.push(denial);
  }

  /** The denials of this operation, in the order they were made. */
  get denials(): readonly DenialRecord[] {
    return this.#denials;
  }

  /** Records a root mutation field refused for its input, before any decision (audited). */
  refuseInput(refusal: RefusedInput): void {
    this.#refusedInputs.push(refusal);
  }

  get refusedInputs(): readonly RefusedInput[] {
    return this.#refusedInputs;
  }

  /**
   * For `@nodeLookup`: the type of the object an id names in the caller's tenant (null: it
   * names none there, or there is no tenant data); a decision when it cannot be read.
   */
  async nodeType(id: string): Promise<string | null | Decision> {
    if (!this.#data) return null;
    try {
      return await this.#data.nodeType(id);
    } catch (error) {
      this.options.logger.error('node type lookup failed', { error });
      return unavailable('relationship', ['the object could not be read']);
    }
  }

  /** Object id of an object of the caller's tenant. */
  objectIdOf(resourceType: string, id: string): string {
    return tenantObjectId(this.principal?.tenantId ?? '', resourceType, id);
  }

  /**
   * `@requiresScopes`: the caller's credential must hold every scope of one of the lists
   * (`<area>:*` holds every `<area>:…`). Enforced for API keys always; for identity-provider
   * tokens only with AUTH_REQUIRE_SCOPES (many providers issue no API scopes), anonymous
   * callers being refused by the other rules of the field.
   */
  scopes(anyOf: ReadonlyArray<readonly string[]>): Decision {
    if (anyOf.length === 0 || !this.principal) return ALLOW;
    if (this.principal.kind === 'user' && !this.options.userScopes) return ALLOW;
    const held = new Set(this.principal.scopes);
    const holds = (scope: string): boolean =>
      held.has(scope) || held.has(`${scope.slice(0, scope.lastIndexOf(':'))}:*`);
    if (anyOf.some((all) => all.every(holds))) return ALLOW;
    return deny('scope', [`requires scopes ${anyOf.map((all) => all.join(' & ')).join(' | ')}`]);
  }

  /**
   * Relationship decision for `permission` on the caller's-tenant object `resourceType:id`.
   * Synchronous when this operation already knows the answer (the fields of a listed object
   * after the list's bulk check); a promise otherwise.
   */
  relationship(resourceType: string, id: string, permission: string): Decision | Promise<Decision> {
    this.#sinceLastCommit();
    const checker = this.#checkerReady;
    if (checker) {
      if (!checker.hasSubject) return NO_ACCOUNT;
      const known = checker.peek(resourceType, id, permission);
      if (known === true) return ALLOW;
      // A denial with explanations asks SpiceDB for its trace: the async path.
      if (known === false && !this.options.explain) {
        return deny('relationship', [`no ${this.#describe(resourceType, id, permission)}`]);
      }
    }
    return this.#relationship(resourceType, id, permission);
  }

  #describe(resourceType: string, id: string, permission: string): string {
    return `${permission} on ${resourceType}:${this.objectIdOf(resourceType, id)}`;
  }

  async #relationship(resourceType: string, id: string, permission: string): Promise<Decision> {
    try {
      const checker = await this.#checkerFor();
      if (!checker.hasSubject) return NO_ACCOUNT;
      if (await checker.check(resourceType, id, permission)) return ALLOW;
      const reasons = [`no ${this.#describe(resourceType, id, permission)}`];
      if (this.options.explain && checker.subjectId) {
        reasons.push(
          ...(await explainCheck(this.options.spicedb, {
            resourceType,
            resourceId: this.objectIdOf(resourceType, id),
            permission,
            subjectId: checker.subjectId,
            subjectType: checker.subjectType ?? 'user',
          })),
        );
      }
      return deny('relationship', reasons);
    } catch (error) {
      const check = this.#describe(resourceType, id, permission);
      if (error instanceof AuthzUnavailableError) {
        this.options.logger.warn('relationship check unavailable', { check, error: error.message });
        return unavailable('relationship', [error.message]);
      }
      // Anything else is a bug: record it, then deny (never allow on error).
      this.options.logger.error('relationship check failed', { check, error });
      return unavailable('relationship', ['internal error']);
    }
  }

  /**
   * Keeps the objects the caller has `permission` on, in order — one bulk check, which also
   * asks the permissions the fields selected on these objects will need, while the
   * `@classified` decisions they need are made (`lookahead`, see selectedPermissions), so
   * those fields are then decided without another round and without a promise each.
   * Fail closed: a list that cannot be checked is an error, never a partial or full list.
   */
  async filter<T>(
    items: readonly T[],
    resourceType: string,
    idOf: (item: T) => string,
    permission: string,
    lookahead?: ListLookahead,
  ): Promise<T[]> {
    const ids = items.map(idOf);
    let checker: RelationshipChecker;
    try {
      checker = await this.#checkerFor();
      if (!checker.hasSubject) return [];
      // (A permission asked twice is one check: the memo holds one per object.)
      const checked = checker.checkAll(resourceType, ids, [
        permission,
        ...(lookahead?.permissions ?? []),
      ]);
      if (lookahead && ids.length > 0) {
        await Promise.all([checked, this.#classifiedAhead(lookahead)]);
      } else {
        await checked;
      }
    } catch (error) {
      this.options.logger.error('relationship check failed', {
        check: `${permission} on a list of ${resourceType}`,
        error,
      });
      throw this.#listUnavailable(['internal error']);
    }
    const kept: T[] = [];
    for (const [i, item] of items.entries()) {
      const allowed = checker.peek(resourceType, ids[i]!, permission);
      if (allowed === undefined) {
        // SpiceDB could not answer: the check's own error says why.
        const reason = checker.failure(resourceType, ids[i]!, permission)?.message ?? 'no answer';
        this.options.logger.warn('relationship check unavailable', {
          check: this.#describe(resourceType, ids[i]!, permission),
          error: reason,
        });
        throw this.#listUnavailable([reason]);
      }
      if (allowed) kept.push(item);
    }
    return kept;
  }

  /**
   * The `@classified` decisions of a list's fields, made as {@link policy} makes them for
   * the first object (and memoised the same way). Never throws: a decision that fails is
   * the field's own rule's to report (it finds the same failed decision).
   */
  async #classifiedAhead(lookahead: ListLookahead): Promise<void> {
    await Promise.all(
      lookahead.classified.map(async ({ field, policy }) => {
        try {
          await this.policy(
            policy,
            { classOf: policy.target.resourceType },
            { args: {}, field, ...lookahead.context },
          );
        } catch {
          // (Reported by the field's rule.)
        }
      }),
    );
  }

  #listUnavailable(reasons: readonly string[]): GraphQLError {
    return denialError(unavailable('relationship', reasons), { explain: this.options.explain });
  }

  /**
   * Gate 3: asks the compiled policy `decision` about `action` with the caller (from the
   * database: id and organisation roles) and the request context, on
   * - an object of the caller's tenant: the one `target` names (loaded as stored) or the
   *   parent object itself (`@policy`);
   * - or a field's class of data (`@classified`): `resource` is `{ type, classification }`,
   *   no object, so the input — and the decision — is the same for every object the field
   *   is read on; it is made once per operation (until a mutation commits) and then known
   *   synchronously.
   * Anything missing — no engine, no account, no object — is a denial.
   */
  policy(
    requirement: { decision: PolicyName; action: string; classification?: string | undefined },
    target: PolicyTarget,
    context: PolicyContext,
  ): Decision | Promise<Decision> {
    if (!('classOf' in target)) return this.#evaluate(requirement, target, context);
    this.#sinceLastCommit();
    const known = this.#fieldDecisions.get(context.field);
    if (known) return known;
    const pending = this.#evaluate(requirement, target, context).then((decision) => {
      if (this.#fieldDecisions.get(context.field) === pending) {
        this.#fieldDecisions.set(context.field, decision);
      }
      return decision;
    });
    this.#fieldDecisions.set(context.field, pending);
    return pending;
  }

  /** `@classified` decisions of this operation, by field coordinate. */
  readonly #fieldDecisions = new Map<string, Decision | Promise<Decision>>();

  async #evaluate(
    requirement: { decision: PolicyName; action: string; classification?: string | undefined },
    target: PolicyTarget,
    context: PolicyContext,
  ): Promise<Decision> {
    const engine = this.options.policies;
    const data = this.#data;
    if (!engine || !data) return deny('policy', ['no policy engine or account']);
    const [caller, resource] = await Promise.all([
      this.#policyCaller(data),
      'classOf' in target
        ? { type: target.classOf, classification: requirement.classification }
        : 'parent' in target
          ? storedForm(target.parent)
          : data.policyResource(target.type, target.id),
    ]);
    if (caller === 'unavailable') {
      return unavailable('policy', ['policy data could not be loaded']);
    }
    if (!caller || !resource) return deny('policy', ['no such object or account']);
    const span = tracer.startSpan(`opa evaluate ${requirement.decision}`, {
      attributes: {
        'gatehouse.policy.decision': requirement.decision,
        'gatehouse.policy.action': requirement.action,
        'gatehouse.policy.revision': engine.revision,
      },
    });
    const started = performance.now();
    const result = engine.evaluate(requirement.decision, {
      principal: caller,
      action: requirement.action,
      resource,
      ...('classOf' in target ? {} : { args: context.args }),
      field: context.field,
      context: { time: new Date().toISOString(), ip: context.ip, requestId: context.requestId },
    });
    const seconds = (performance.now() - started) / 1000;
    span.setAttribute('gatehouse.policy.allow', result.allow);
    span.end();
    this.options.metrics?.policyEvaluation(requirement.decision, seconds, result.allow);
    return result.allow ? ALLOW : deny('policy', result.reasons);
  }

  /**
   * The caller as policies see it, once per operation (until a mutation commits), after
   * bringing the tenant's policy data up to date. Null without an account; 'unavailable'
   * when the policy data could not be loaded (fail closed: no decision on stale data).
   */
  #policyCaller(data: AuthorizationData): Promise<Record<string, unknown> | null | 'unavailable'> {
    this.#sinceLastCommit();
    this.#caller ??= (async () => {
      try {
        await this.options.policyData?.refresh(data);
      } catch (error) {
        this.options.logger.warn('policy data unavailable', { error });
        return 'unavailable' as const;
      }
      const caller = await data.currentCaller();
      if (!caller || !this.principal) return null;
      return {
        subject: this.principal.subject,
        tenantId: this.principal.tenantId,
        // A service account's id and roles stand where a user's do (its id is never a
        // user's: owner and approver checks never match it); `kind` says which it is.
        userId: caller.id,
        roles: caller.roles,
        amr: this.principal.amr,
        scopes: this.principal.scopes,
        ...(caller.kind === 'user' ? {} : { kind: caller.kind }),
      };
    })();
    return this.#caller;
  }

  #caller: Promise<Record<string, unknown> | null | 'unavailable'> | undefined;

  /**
   * What this operation memoised (relationship answers, the policy caller) holds until a
   * mutation commits: that may change relationships or policy settings, so its payload and
   * any later root field are decided afresh.
   */
  #sinceLastCommit(): void {
    const commits = this.#data?.commits ?? 0;
    if (commits === this.#commitsSeen) return;
    this.#commitsSeen = commits;
    this.#checker = undefined;
    this.#checkerReady = undefined;
    this.#caller = undefined;
    this.#fieldDecisions.clear();
  }

  /**
   * Builds the operation's relationship checker (again after each commit). Overridable:
   * benchmarks substitute their baseline's checker.
   */
  protected createChecker(options: PermissionCheckerOptions): RelationshipChecker {
    return new PermissionChecker(options);
  }

  /** The operation's checker (answers memoised; see #sinceLastCommit). */
  #checkerFor(): Promise<RelationshipChecker> {
    this.#sinceLastCommit();
    if (this.#checker) return this.#checker;
    const data = this.#data;
    const pending = (data ? data.currentCaller() : Promise.resolve(null)).then((caller) => {
      const checker = this.createChecker({
        spicedb: this.options.spicedb,
        // `user:<tenant>/<user>`, or `service_account:<tenant>/<account>` for an API key.
        subjectId: caller && data ? objectId(data.tenantId, caller.id) : null,
        ...(caller?.kind === 'service_account' ? { subjectType: caller.kind } : {}),
        tenantId: this.principal?.tenantId ?? '',
        tokens:
          this.options.localWrites ??
          ((objects) => (data ? data.recordedWrites(objects) : NOTHING_RECORDED)),
        deadlineMs: this.options.deadlineMs,
        ...(this.options.cache ? { cache: this.options.cache } : {}),
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      });
      // Unless a commit reset the memo while the account was being read.
      if (this.#checker === pending) this.#checkerReady = checker;
      return checker;
    });
    this.#checker = pending;
    return pending;
  }
}
