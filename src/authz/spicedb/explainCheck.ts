/**
 * Development aid: why SpiceDB denied a check, as readable lines of its debug trace, e.g.
 *   workflow:t/w#view → no
 *     workflow:t/w#edit → no
 *       workflow:t/w#owner → no
 * Costs one traced CheckPermission, so it is only used when `extensions.explain` is on
 * (NODE_ENV=development); never in production.
 */
import { v1 } from '@authzed/authzed-node';
import type { SpiceDbConnection } from './SpiceDbConnection.js';
import { callerSubject, FULLY_CONSISTENT, objectRef, type SubjectType } from './references.js';

const MAX_LINES = 40;

/** authzed-node does not re-export the debug types; take them from the response. */
type CheckDebugTrace = NonNullable<NonNullable<v1.CheckPermissionResponse['debugTrace']>['check']>;

/** CheckDebugTrace.Permissionship: 2 = HAS_PERMISSION, 3 = CONDITIONAL_PERMISSION. */
function label(result: number): string {
  if (result === 2) return 'yes';
  if (result === 3) return 'conditional (denied)';
  return 'no';
}

function render(trace: CheckDebugTrace, depth: number, out: string[]): void {
  if (out.length >= MAX_LINES) return;
  const resource = trace.resource ? `${trace.resource.objectType}:${trace.resource.objectId}` : '?';
  out.push(`${'  '.repeat(depth)}${resource}#${trace.permission} → ${label(trace.result)}`);
  if (trace.resolution.oneofKind === 'subProblems') {
    for (const sub of trace.resolution.subProblems.traces) render(sub, depth + 1, out);
  }
}

export async function explainCheck(
  spicedb: SpiceDbConnection,
  check: {
    resourceType: string;
    resourceId: string;
    permission: string;
    subjectId: string;
    /** Default: a user. */
    subjectType?: SubjectType;
  },
): Promise<string[]> {
  try {
    const response = await spicedb.permissions.checkPermission(
      v1.CheckPermissionRequest.create({
        consistency: FULLY_CONSISTENT,
        resource: objectRef(check.resourceType, check.resourceId),
        permission: check.permission,
        subject: callerSubject(check.subjectType ?? 'user', check.subjectId),
        withTracing: true,
      }),
    );
    const trace = response.debugTrace?.check;
    if (!trace) return ['(SpiceDB returned no trace)'];
    const lines: string[] = [];
    render(trace, 0, lines);
    return lines;
  } catch (error) {
    return [`(trace unavailable: ${error instanceof Error ? error.message : String(error)})`];
  }
}
