/** Builders for the SpiceDB references every check uses (one place, not three). */
import { v1 } from '@authzed/authzed-node';

export function objectRef(objectType: string, objectId: string): v1.ObjectReference {
  return v1.ObjectReference.create({ objectType, objectId });
}

/** The caller as a SpiceDB subject: `user:<tenant>/<user id>`. */
export function userSubject(subjectId: string): v1.SubjectReference {
  return v1.SubjectReference.create({ object: objectRef('user', subjectId) });
}

export const MINIMIZE_LATENCY = v1.Consistency.create({
  requirement: { oneofKind: 'minimizeLatency', minimizeLatency: true },
});

export const FULLY_CONSISTENT = v1.Consistency.create({
  requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
});
