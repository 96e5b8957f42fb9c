/**
 * What one GraphQL operation leaves in its tenant's audit trail:
 *
 * - each committed mutation: its event, appended in the mutation's own write transaction
 *   before it commits ({@link OperationAuditLog.mutation} → `beforeCommit`), so there is no
 *   committed change without its event and no event without its change;
 * - each mutation that failed (after its rollback) or was refused by a gate;
 * - the other denials of the operation, summarised in ONE `authz.denied` event (a list of
 *   100 denied amounts is one event, not 100: an attacker cannot multiply audit writes);
 * - each read of a field declared `@audit` (restricted data, e.g. `Credential.secret`).
 *
 * Everything but the mutations' own events is appended when the operation finishes, in one
 * transaction (shared with the tenant's other operations finishing then: AuditGroupCommit),
 * before the response leaves the server ({@link OperationAuditLog.flush}): a restricted
 * value whose event cannot be written is withheld (no secret without its evidence).
 * Anonymous callers have no verified tenant: nothing is appended for them.
 */
import { GraphQLError } from 'graphql';
import type { TenantTx } from '../data/TenantDatabase.js';
import { ErrorCode, isErrorCode } from '../errors/ErrorCode.js';
import type { Logger } from '../observability/logger.js';
import type {
  ActorKind,
  AuditDecision,
  AuditEventInput,
  AuditResource,
  FieldChanges,
} from './AuditEvent.js';
import type { AuditGroupCommit } from './AuditGroupCommit.js';
import type { AuditAppender } from './appendAuditEvents.js';

/** What an audited field records: declared with `@audit(action:, on:)` in the schema. */
export interface AuditSpec {
  /** `workflow.approve`; the resource type is its first segment (`workflow`). */
  readonly action: string;
  /** The argument naming the object (`id`), for mutations. */
  readonly argument?: string | undefined;
}

/** A denial made by a gate in this operation (recorded by the generated rules). */
export interface DenialRecord extends AuditDecision {
  /** The root mutation field's arguments, when a mutation itself was refused. */
  readonly mutationArgs?: Readonly<Record<string, unknown>>;
}

/** A change a domain command made, for its mutation's event. */
export interface RecordedChange {
  /** The object changed (its type is the action's resource type unless given). */
  readonly resource: AuditResource;
  readonly changes: FieldChanges | null;
}

/** The audit side of one root mutation field. */
export interface MutationAudit {
  /** In the mutation's write transaction, before COMMIT: a failure rolls the change back. */
  beforeCommit(tx: TenantTx, userId: string, change: RecordedChange): Promise<void>;
  /** After the mutation's transaction rolled back (or never opened). */
  failed(userId: string | null, error: unknown): void;
}

export interface OperationAuditOptions {
  /** Appends a mutation's event in its own transaction. */
  readonly appender: AuditAppender;
  /** Commits the operation's other events when it finishes, with other operations' of the tenant. */
  readonly commits: AuditGroupCommit;
  /** `@audit` of every audited field, by schema coordinate. */
  readonly specs: ReadonlyMap<string, AuditSpec>;
  readonly tenantId: string;
  readonly subject: string;
  readonly actorKind: ActorKind;
  readonly ip: string;
  readonly requestId: string;
  readonly traceId: string | null;
  readonly logger: Logger;
}

/** Longest object id an event keeps of what a client sent. */
const MAX_ID_LENGTH = 200;

/** Most decisions kept in one summary event (the count is always exact). */
const MAX_DECISIONS_PER_EVENT = 1000;

/** A restricted read waiting for its event: where its value sits in the response. */
export interface PendingRead {
  readonly path: ReadonlyArray<string | number>;
}

export interface FlushResult {
  /** Reads whose events could not be written: their values must not leave. */
  readonly unrecordedReads: readonly PendingRead[];
}

const NO_READS: FlushResult = { unrecordedReads: [] };

function resourceType(action: string): string {
  return action.slice(0, action.indexOf('.'));
}

/** The message a client saw, when the error was a coded client error; never internals. */
function describeFailure(error: unknown): { code: string; reason: string } {
  if (error instanceof GraphQLError) {
    const code = error.extensions['code'];
    if (isErrorCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      return { code, reason: error.message };
    }
  }
  return { code: ErrorCode.INTERNAL_SERVER_ERROR, reason: 'internal error' };
}

export class OperationAuditLog {
  readonly #options: OperationAuditOptions;
  readonly #pending: Array<(userId: string | null) => AuditEventInput> = [];
  readonly #reads: Array<{ read: PendingRead; event: (userId: string | null) => AuditEventInput }> =
    [];

  constructor(options: OperationAuditOptions) {
    this.#options = options;
  }

  #event(
    userId: string | null,
    fields: Pick<AuditEventInput, 'action' | 'resource' | 'outcome'> &
      Partial<Pick<AuditEventInput, 'gate' | 'reasons' | 'decisions' | 'changes'>>,
  ): AuditEventInput {
    const o = this.#options;
    return {
      actor: { subject: o.subject, userId, kind: o.actorKind, ip: o.ip || null },
      gate: null,
      reasons: [],
      decisions: [],
      changes: null,
      requestId: o.requestId,
      traceId: o.traceId,
      ...fields,
    };
  }

  #spec(coordinate: string): AuditSpec {
    const spec = this.#options.specs.get(coordinate);
    // The schema build refuses a mutation without @audit; this is a programmer error.
    if (!spec) throw new Error(`${coordinate} has no @audit`);
    return spec;
  }

  #argumentResource(spec: AuditSpec, args: Readonly<Record<string, unknown>>): AuditResource {
    const id = spec.argument === undefined ? undefined : args[spec.argument];
    // As the client sent it (it may not be an id at all), bounded. (An API key pasted here
    // is masked with every other text of the event: appendAuditEvents.ts.)
    const named = typeof id === 'string' ? id.slice(0, MAX_ID_LENGTH).toLowerCase() : null;
    return { type: resourceType(spec.action), id: named };
  }

  /** The audit of root mutation field `coordinate` called with `args`. */
  mutation(coordinate: string, args: Readonly<Record<string, unknown>>): MutationAudit {
    const spec = this.#spec(coordinate);
    return {
      beforeCommit: async (tx, userId, change) => {
        await this.#options.appender.append(tx, this.#options.tenantId, [
          this.#event(userId, {
            action: spec.action,
            resource: change.resource,
            outcome: 'SUCCEEDED',
            changes: change.changes,
          }),
        ]);
      },
      failed: (userId, error) => {
        const { code, reason } = describeFailure(error);
        const event = this.#event(userId, {
          action: spec.action,
          resource: this.#argumentResource(spec, args),
          outcome: code === ErrorCode.FORBIDDEN ? 'DENIED' : 'FAILED',
          reasons: [`${code}: ${reason}`],
        });
        this.#pending.push(() => event);
      },
    };
  }

  /** A value of field `coordinate` (declared `@audit`) of the object `id` was read. */
  read(coordinate: string, id: string, path: ReadonlyArray<string | number>): void {
    const spec = this.#spec(coordinate);
    this.#reads.push({
      read: { path },
      event: (userId) =>
        this.#event(userId, {
          action: spec.action,
          resource: { type: resourceType(spec.action), id },
          outcome: 'SUCCEEDED',
        }),
    });
  }

  /**
   * The operation's denials: a refused root mutation field becomes that mutation's DENIED
   * event; every other denial goes into one `authz.denied` summary.
   */
  #denials(denials: readonly DenialRecord[]): Array<(userId: string | null) => AuditEventInput> {
    const events: Array<(userId: string | null) => AuditEventInput> = [];
    const others: DenialRecord[] = [];
    for (const d of denials) {
      if (!d.mutationArgs) {
        others.push(d);
        continue;
      }
      const spec = this.#spec(d.field);
      const resource = this.#argumentResource(spec, d.mutationArgs);
      events.push((userId) =>
        this.#event(userId, {
          action: spec.action,
          resource,
          outcome: 'DENIED',
          gate: d.gate,
          reasons: d.reasons,
          decisions: [decisionOf(d)],
        }),
      );
    }
    if (others.length > 0) {
      events.push((userId) =>
        this.#event(userId, {
          action: 'authz.denied',
          resource: null,
          outcome: 'DENIED',
          ...summarise(others),
        }),
      );
    }
    return events;
  }

  /**
   * Appends everything pending (failures, denials, reads) in one write transaction. Never
   * throws: a failure is logged, and the reads it concerned are returned so their values
   * are withheld.
   */
  async flush(
    denials: readonly DenialRecord[],
    knownUserId: string | null | undefined,
  ): Promise<FlushResult> {
    const builders = [
      ...this.#pending,
      ...this.#denials(denials),
      ...this.#reads.map((r) => r.event),
    ];
    this.#pending.length = 0;
    const reads = this.#reads.splice(0).map((r) => r.read);
    if (builders.length === 0) return NO_READS;
    const o = this.#options;
    try {
      await o.commits.append(o.tenantId, async (tx) => {
        const userId =
          knownUserId !== undefined ? knownUserId : await userIdOf(tx, o.tenantId, o.subject);
        return builders.map((build) => build(userId));
      });
      return NO_READS;
    } catch (error) {
      o.logger.error('audit events could not be written', {
        requestId: o.requestId,
        events: builders.length,
        error,
      });
      return { unrecordedReads: reads };
    }
  }
}

function decisionOf(d: DenialRecord): AuditDecision {
  return { id: d.id, gate: d.gate, code: d.code, field: d.field, reasons: d.reasons };
}

/**
 * One event for many denials: the gate when they share one (else `multiple`), a line per
 * (field, gate, code) with its count, and every decision (at most
 * MAX_DECISIONS_PER_EVENT; the counts stay exact).
 */
function summarise(
  denials: readonly DenialRecord[],
): Pick<AuditEventInput, 'gate' | 'reasons' | 'decisions'> {
  const gates = new Set(denials.map((d) => d.gate));
  const counts = new Map<string, number>();
  for (const d of denials) {
    const key = `${d.field}: ${d.code} at gate ${d.gate}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const reasons = [...counts].map(([key, n]) => `${n} × ${key}`);
  if (denials.length > MAX_DECISIONS_PER_EVENT) {
    reasons.push(`decisions listed: the first ${MAX_DECISIONS_PER_EVENT} of ${denials.length}`);
  }
  return {
    gate: gates.size === 1 ? (denials[0]?.gate ?? null) : 'multiple',
    reasons,
    decisions: denials.slice(0, MAX_DECISIONS_PER_EVENT).map(decisionOf),
  };
}

async function userIdOf(tx: TenantTx, tenantId: string, subject: string): Promise<string | null> {
  const user = await tx.user.findFirst({ where: { tenantId, subject }, select: { id: true } });
  return user?.id ?? null;
}
