/** Builders for the SpiceDB references every check uses (one place, not three). */
import { v1 } from '@authzed/authzed-node';

export function objectRef(objectType: string, objectId: string): v1.ObjectReference {
  return v1.ObjectReference.create({ objectType, objectId });
}

/** The SpiceDB object types a caller can be: a user, or a service account (an API key's). */
export type SubjectType = 'user' | 'service_account';

/** The caller as a SpiceDB subject: `user:<tenant>/<user id>`. */
export function userSubject(subjectId: string): v1.SubjectReference {
  return v1.SubjectReference.create({ object: objectRef('user', subjectId) });
}

/**
 * The caller as a SpiceDB subject of its type: `user:<tenant>/<user id>` or
 * `service_account:<tenant>/<account id>`.
 */
export function callerSubject(subjectType: SubjectType, subjectId: string): v1.SubjectReference {
  return subjectType === 'user'
    ? userSubject(subjectId)
    : v1.SubjectReference.create({ object: objectRef(subjectType, subjectId) });
}

export const MINIMIZE_LATENCY = v1.Consistency.create({
  requirement: { oneofKind: 'minimizeLatency', minimizeLatency: true },
});

export const FULLY_CONSISTENT = v1.Consistency.create({
  requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
});
