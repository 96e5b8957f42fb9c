/**
 * The list benchmark's baselines (bench/authzList.ts), injected through
 * GatehouseOptions.authorization so that the server's own classes carry no benchmark code:
 *
 * - `off`: no authorization at all — the schema without graphql-shield's rules, and an
 *   authorizer that allows what resolvers ask (list filters, relationship and policy).
 * - `no-policy`: Gatehouse as shipped without gate 3 (policies allow); batching, memo and
 *   the cross-request decision cache kept.
 * - `naive`: what a graphql-shield rule calling SpiceDB directly does — one CheckPermission
 *   per check (each field of each row, each object of a list), no batching, no memo within
 *   the operation, no decision cache across requests; gate 3 as shipped.
 */
import { v1 } from '@authzed/authzed-node';
import {
  ALLOW,
  AuthzUnavailableError,
  denialError,
  type Decision,
} from '../src/authz/AuthzError.js';
import { tenantObjectId } from '../src/authz/objectIds.js';
import type {
  PermissionCheckerOptions,
  RelationshipChecker,
} from '../src/authz/PermissionChecker.js';
import { RequestAuthorizer } from '../src/authz/RequestAuthorizer.js';
import { MINIMIZE_LATENCY, objectRef, userSubject } from '../src/authz/spicedb/references.js';
import { withDeadline } from '../src/authz/spicedb/checkBulkPermissions.js';
import { spicedbCall } from '../src/authz/spicedb/spicedbCall.js';
import { ErrorCode } from '../src/errors/ErrorCode.js';
import type { GatehouseOptions } from '../src/server/createGatehouse.js';

/** Allows everything: the `off` baseline (whose schema has no shield rules to ask it). */
export class AllowAllAuthorizer extends RequestAuthorizer {
  override relationship(): Decision {
    return ALLOW;
  }

  override filter<T>(items: readonly T[]): Promise<T[]> {
    return Promise.resolve([...items]);
  }

  override policy(): Decision {
    return ALLOW;
  }
}

/** Gatehouse as shipped without gate 3: the `no-policy` baseline. */
export class NoPolicyAuthorizer extends RequestAuthorizer {
  override policy(): Decision {
    return ALLOW;
  }
}

/**
 * One CheckPermission per check, each with the deadline and failing closed, reading with
 * minimize_latency; nothing is remembered, so nothing is known without asking (`peek`).
 */
export class NaiveChecker implements RelationshipChecker {
  readonly #options: PermissionCheckerOptions;

  constructor(options: PermissionCheckerOptions) {
    this.#options = options;
  }

  get hasSubject(): boolean {
    return this.#options.subjectId !== null;
  }

  get subjectId(): string | null {
    return this.#options.subjectId;
  }

  peek(): undefined {
    return undefined;
  }

  failure(): undefined {
    return undefined;
  }

  async check(resourceType: string, id: string, permission: string): Promise<boolean> {
    const subjectId = this.#options.subjectId;
    if (subjectId === null) return false;
    try {
      const response = await spicedbCall(this.#options.metrics, 'CheckPermission', 1, {}, () =>
        withDeadline(
          this.#options.spicedb.permissions.checkPermission(
            v1.CheckPermissionRequest.create({
              consistency: MINIMIZE_LATENCY,
              resource: objectRef(
                resourceType,
                tenantObjectId(this.#options.tenantId, resourceType, id),
              ),
              permission,
              subject: userSubject(subjectId),
            }),
          ),
          this.#options.deadlineMs,
        ),
      );
      return response.permissionship === v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION;
    } catch (error) {
      throw new AuthzUnavailableError(
        `CheckPermission failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Never called: NaiveAuthorizer filters lists object by object. */
  checkAll(): Promise<void> {
    return Promise.reject(new Error('checkAll: not for the naive baseline'));
  }
}

/** The `naive` baseline: every decision is its own CheckPermission. */
export class NaiveAuthorizer extends RequestAuthorizer {
  protected override createChecker(options: PermissionCheckerOptions): RelationshipChecker {
    return new NaiveChecker(options);
  }

  /** One decision per object (no bulk check, no prefetch); fails closed as a whole. */
  override async filter<T>(
    items: readonly T[],
    resourceType: string,
    idOf: (item: T) => string,
    permission: string,
  ): Promise<T[]> {
    const decisions = await Promise.all(
      items.map((item) => Promise.resolve(this.relationship(resourceType, idOf(item), permission))),
    );
    const failed = decisions.find(
      (d) => d.kind === 'deny' && d.code === ErrorCode.AUTHZ_UNAVAILABLE,
    );
    if (failed?.kind === 'deny') throw denialError(failed, { explain: this.options.explain });
    return items.filter((_, i) => decisions[i]?.kind === 'allow');
  }
}

export type BaselineMode = 'off' | 'no-policy' | 'naive';

type Baseline = NonNullable<GatehouseOptions['authorization']>;

function baseline(shieldRules: boolean, Authorizer: typeof RequestAuthorizer): Baseline {
  return {
    shieldRules,
    createAuthorizer: (principal, data, options) => new Authorizer(principal, data, options),
  };
}

/** What GatehouseOptions.authorization is for each baseline. */
export const AUTHORIZATION_BASELINES: Readonly<Record<BaselineMode, Baseline>> = {
  off: baseline(false, AllowAllAuthorizer),
  'no-policy': baseline(true, NoPolicyAuthorizer),
  // Naive: no decision cache across requests (the checker ignores options.cache).
  naive: baseline(true, NaiveAuthorizer),
};
