/**
 * One CheckBulkPermissions as gate 2 sends it — from an operation's checker
 * (PermissionChecker) or after a relationship write (DecisionRefresher): at least as fresh
 * as `token` when there is one (else SpiceDB may answer from its cache), within the
 * deadline, traced and metered; answered per item, failing closed. CONDITIONAL_PERMISSION
 * (caveats without context) and anything unknown deny; an RPC error, a missed deadline or
 * an item's error is that item's AuthzUnavailableError. Never rejects.
 */
import { v1 } from '@authzed/authzed-node';
import type { Attributes } from '@opentelemetry/api';
import { AuthzUnavailableError } from '../AuthzError.js';
import type { AuthzMetrics } from '../authzMetrics.js';
import { MINIMIZE_LATENCY, objectRef } from './references.js';
import { deadlineArgs, type SpiceDbConnection } from './SpiceDbConnection.js';
import { spicedbCall } from './spicedbCall.js';

/** `promise`, or an AuthzUnavailableError once `ms` have passed without it settling. */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new AuthzUnavailableError(`SpiceDB did not answer within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One item: `subject` asks `permission` on the SpiceDB object `resourceType:resourceId`. */
export interface BulkCheckItem {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly permission: string;
  readonly subject: v1.SubjectReference;
}

export interface BulkCheckTarget {
  readonly spicedb: SpiceDbConnection;
  readonly deadlineMs: number;
  readonly metrics?: AuthzMetrics | undefined;
}

/** The answers in the items' order; `attributes` are added to the call's span. */
export async function checkBulkPermissions(
  target: BulkCheckTarget,
  items: readonly BulkCheckItem[],
  token: string | undefined,
  attributes: Attributes,
): Promise<Array<boolean | AuthzUnavailableError>> {
  const request = v1.CheckBulkPermissionsRequest.create({
    consistency: token
      ? v1.Consistency.create({
          requirement: {
            oneofKind: 'atLeastAsFresh',
            atLeastAsFresh: v1.ZedToken.create({ token }),
          },
        })
      : MINIMIZE_LATENCY,
    items: items.map((item) =>
      v1.CheckBulkPermissionsRequestItem.create({
        resource: objectRef(item.resourceType, item.resourceId),
        permission: item.permission,
        subject: item.subject,
      }),
    ),
  });
  let response: v1.CheckBulkPermissionsResponse;
  try {
    response = await spicedbCall(
      target.metrics,
      'CheckBulkPermissions',
      items.length,
      {
        'gatehouse.spicedb.consistency': token ? 'at_least_as_fresh' : 'minimize_latency',
        ...attributes,
      },
      () =>
        withDeadline(
          target.spicedb.permissions.checkBulkPermissions(
            request,
            ...deadlineArgs(target.deadlineMs),
          ),
          target.deadlineMs,
        ),
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return items.map(() => new AuthzUnavailableError(`CheckBulkPermissions failed: ${reason}`));
  }
  return items.map((_, i) => {
    const pair = response.pairs[i];
    if (pair?.response.oneofKind === 'item') {
      return (
        pair.response.item.permissionship ===
        v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION
      );
    }
    const message =
      pair?.response.oneofKind === 'error' ? pair.response.error.message : 'missing result';
    return new AuthzUnavailableError(`CheckBulkPermissions item failed: ${message}`);
  });
}
