/**
 * One entry of a tenant's audit trail (gate 5): who did what to which object, with what
 * outcome, and why a denial was a denial. Never secret material, never a token.
 */

export type AuditOutcome = 'SUCCEEDED' | 'DENIED' | 'FAILED';

/** `user` and `service` act through the API; `system` is the server itself (checkpoints). */
export type ActorKind = 'user' | 'service' | 'system';

export interface AuditActor {
  /** The identity provider's subject (`sub`), or null for the system. */
  readonly subject: string | null;
  /** The user account in the tenant, when the subject has one. */
  readonly userId: string | null;
  readonly kind: ActorKind;
  /** The client's address as the server saw it. */
  readonly ip: string | null;
}

export interface AuditResource {
  /** As in SpiceDB and the actions: `workflow`, `credential`, `policy_settings`, … */
  readonly type: string;
  /** Null when there is no single object (a create that failed, a tenant-wide setting). */
  readonly id: string | null;
}

/** One authorization decision that denied: what a client's `decisionId` leads to. */
export interface AuditDecision {
  readonly id: string;
  readonly gate: string;
  /** FORBIDDEN or AUTHZ_UNAVAILABLE. */
  readonly code: string;
  /** The schema coordinate decided, e.g. `Workflow.amount`. */
  readonly field: string;
  /** The missing permission or the policy's reasons (never a secret value). */
  readonly reasons: readonly string[];
}

/** A field's value before and after a change (null: absent). A type, so it is JSON. */
export type FieldChange = { readonly before: JsonValue; readonly after: JsonValue };

export type FieldChanges = Readonly<Record<string, FieldChange>>;

export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** An event as its writer describes it; the chain adds seq, time, id and hashes. */
export interface AuditEventInput {
  readonly actor: AuditActor;
  /** Stable dotted name: `workflow.create`, `credential.secret.read`, `authz.denied`, … */
  readonly action: string;
  readonly resource: AuditResource | null;
  readonly outcome: AuditOutcome;
  /** The gate of a denial (`relationship`, `policy`, …), or null. */
  readonly gate: string | null;
  readonly reasons: readonly string[];
  readonly requestId: string | null;
  /** W3C trace id (32 hex digits) of the request, when it carried one. */
  readonly traceId: string | null;
  /** The decisions behind a denial (their ids are the event's decision ids). */
  readonly decisions: readonly AuditDecision[];
  /** For changes: the fields changed, before → after. */
  readonly changes: FieldChanges | null;
}

/** An event as stored: its place in the tenant's chain. */
export interface AuditEvent extends AuditEventInput {
  readonly tenantId: string;
  readonly seq: number;
  readonly id: string;
  /** The database clock at the append, millisecond precision. */
  readonly occurredAt: Date;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hash before a chain's first event (seq 1): 32 zero bytes. */
export const GENESIS_HASH = '0'.repeat(64);
