/**
 * Applies the relationship outbox to SpiceDB.
 *
 * - Strictly in outbox id order, one relay at a time (an in-process queue plus a
 *   transaction-scoped advisory lock across instances), so a DELETE can never be
 *   overtaken by an older TOUCH of the same relationship.
 * - Idempotent: TOUCH and DELETE may be applied again without harm, so a crash between the
 *   SpiceDB write and the bookkeeping only repeats work.
 * - On failure the batch is retried with exponential backoff (capped); entries that keep
 *   failing are reported by {@link OutboxRelay.stuck} (and `npm run authz:outbox`).
 * - The ZedToken SpiceDB returns is recorded per resource in `authz_tokens`, so later
 *   checks of that resource read at least that fresh (no new-enemy problem).
 *
 * It runs as the `gatehouse_relay` role, which sees every tenant's outbox and nothing else.
 */
import { v1 } from '@authzed/authzed-node';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Logger } from '../../observability/logger.js';
import { RELAY_ROLE } from '../../data/roles.js';
import { deadlineArgs, type SpiceDbConnection } from '../spicedb/SpiceDbConnection.js';
import { objectRef } from '../spicedb/references.js';
import { spicedbCall } from '../spicedb/spicedbCall.js';
import type { AuthzMetrics } from '../authzMetrics.js';
import { tupleKey, type RelationshipTuple } from '../RelationshipTuple.js';
import type { OutboxOperation } from './RelationshipOutbox.js';

const LOCK_KEY = 720_394_119;
const MAX_BACKOFF_MS = 5 * 60_000;
const WRITE_CHUNK = 500; // below SpiceDB's default 1,000 updates per WriteRelationships

interface OutboxRow {
  tenant_id: string;
  id: bigint;
  operation: OutboxOperation;
  resource_type: string;
  resource_id: string;
  relation: string;
  subject_type: string;
  subject_id: string;
  subject_relation: string;
  next_attempt_at: Date;
  attempts: number;
}

export interface StuckEntry {
  readonly tenantId: string;
  readonly id: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: Date;
}

export interface OutboxRelayOptions {
  readonly prisma: PrismaClient;
  readonly spicedb: SpiceDbConnection;
  readonly logger: Logger;
  /** Embedded database: the connection is a superuser, so also switch to the relay role (always done). */
  readonly batchSize?: number;
  /** Deadline for one SpiceDB write. */
  readonly deadlineMs: number;
  /** Background sweep interval; 0 disables the timer (tests drive `drain`). */
  readonly sweepIntervalMs: number;
  /**
   * Called before and after every write to SpiceDB with the objects whose relationships it
   * writes (the decision cache invalidates their decisions), the same array both times;
   * after it, with the write's ZedToken when it succeeded.
   */
  readonly onWrite?: (
    written: ReadonlyArray<Pick<RelationshipTuple, 'resourceType' | 'resourceId'>>,
    phase: WritePhase,
  ) => void;
  /** Records each write's duration and relationships. */
  readonly metrics?: AuthzMetrics;
}

/** Before a write to SpiceDB, or after it (with its ZedToken when it succeeded). */
export type WritePhase =
  { readonly phase: 'before' } | { readonly phase: 'after'; readonly token: string | undefined };

/** What the outbox holds that SpiceDB does not have yet. */
export interface OutboxBacklog {
  readonly pending: number;
  /** Seconds since the oldest pending entry was written (0 when none). */
  readonly oldestAgeSeconds: number;
}

function toRelationship(t: RelationshipTuple): v1.Relationship {
  return v1.Relationship.create({
    resource: objectRef(t.resourceType, t.resourceId),
    relation: t.relation,
    subject: v1.SubjectReference.create({
      object: objectRef(t.subjectType, t.subjectId),
      optionalRelation: t.subjectRelation,
    }),
  });
}

function tupleOf(row: OutboxRow): RelationshipTuple {
  return {
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    relation: row.relation,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    subjectRelation: row.subject_relation,
  };
}

/** Last operation per relationship wins; SpiceDB refuses two updates of one tuple in a request. */
function collapse(
  rows: readonly OutboxRow[],
): Array<{ operation: OutboxOperation; tuple: RelationshipTuple }> {
  const last = new Map<string, { operation: OutboxOperation; tuple: RelationshipTuple }>();
  for (const row of rows) {
    const tuple = tupleOf(row);
    const key = tupleKey(tuple);
    last.delete(key); // keep insertion order = order of the last change
    last.set(key, { operation: row.operation, tuple });
  }
  return [...last.values()];
}

type RelayTx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** Runs `work` as the relay role, holding the relay's cross-instance lock. */
function asRelay<T>(prisma: PrismaClient, work: (tx: RelayTx) => Promise<T>): Promise<T> {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`select set_config('role', $1, true)`, RELAY_ROLE);
      await tx.$executeRawUnsafe('select pg_advisory_xact_lock($1)', LOCK_KEY);
      return work(tx);
    },
    { timeout: 60_000, maxWait: 60_000 },
  );
}

/** Pending entries that have failed at least `minAttempts` times (oldest first, at most 1,000). */
export async function listStuckEntries(
  prisma: PrismaClient,
  minAttempts: number,
): Promise<StuckEntry[]> {
  const rows = await asRelay(prisma, (tx) =>
    tx.$queryRawUnsafe<
      Array<{
        tenant_id: string;
        id: bigint;
        attempts: number;
        last_error: string | null;
        created_at: Date;
      }>
    >(
      `select tenant_id, id, attempts, last_error, created_at from authz_outbox
        where applied_at is null and attempts >= $1 order by id limit 1000`,
      minAttempts,
    ),
  );
  return rows.map((r) => ({
    tenantId: r.tenant_id,
    id: r.id.toString(),
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
  }));
}

export class OutboxRelay {
  readonly #options: OutboxRelayOptions;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #latestToken: string | undefined;

  constructor(options: OutboxRelayOptions) {
    this.#options = options;
  }

  /**
   * The ZedToken of the newest write this relay made to SpiceDB (undefined before the
   * first). With the embedded SpiceDB this relay is its only writer (one instance per
   * database), so a check at least as fresh as this token sees every relationship written.
   */
  get latestToken(): string | undefined {
    return this.#latestToken;
  }

  start(): void {
    if (this.#options.sweepIntervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      this.drain().catch((error: unknown) =>
        this.#options.logger.warn('outbox sweep failed', { error }),
      );
    }, this.#options.sweepIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#queue.catch(() => undefined);
  }

  /**
   * Applies every pending entry that is due, in order. Resolves with the number applied;
   * a SpiceDB failure is recorded on the entries (backoff) and rethrown.
   */
  drain(): Promise<number> {
    const run = this.#queue.then(() => this.#drainNow());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Rebuilds an empty (embedded, in-memory) SpiceDB from the whole outbox log, then marks
   * everything applied. Used at start-up, so a restart loses no relationship.
   */
  replay(): Promise<number> {
    const run = this.#queue.then(() => this.#replayNow());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The pending entries: how many, and the age of the oldest (metrics). Read as the relay
   * role without its lock, so it never waits for a drain.
   */
  async backlog(): Promise<OutboxBacklog> {
    const [row] = await this.#options.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`select set_config('role', $1, true)`, RELAY_ROLE);
      return tx.$queryRawUnsafe<Array<{ pending: number; age: number | null }>>(
        `select count(*)::int as pending,
                extract(epoch from now() - min(created_at))::float8 as age
           from authz_outbox where applied_at is null`,
      );
    });
    return { pending: row?.pending ?? 0, oldestAgeSeconds: Math.max(0, row?.age ?? 0) };
  }

  /** Entries that have failed at least `minAttempts` times and are still pending. */
  stuck(minAttempts = 3): Promise<StuckEntry[]> {
    return listStuckEntries(this.#options.prisma, minAttempts);
  }

  #asRelay<T>(work: (tx: RelayTx) => Promise<T>): Promise<T> {
    return asRelay(this.#options.prisma, work);
  }

  async #write(
    changes: ReadonlyArray<{ operation: OutboxOperation; tuple: RelationshipTuple }>,
  ): Promise<string | undefined> {
    if (changes.length === 0) return undefined;
    const written = changes.map((c) => c.tuple);
    this.#options.onWrite?.(written, { phase: 'before' });
    let token: string | undefined;
    try {
      token = await this.#writeChunks(changes);
      return token;
    } finally {
      this.#options.onWrite?.(written, { phase: 'after', token });
    }
  }

  async #writeChunks(
    changes: ReadonlyArray<{ operation: OutboxOperation; tuple: RelationshipTuple }>,
  ): Promise<string | undefined> {
    let token: string | undefined;
    for (let i = 0; i < changes.length; i += WRITE_CHUNK) {
      const updates = changes.slice(i, i + WRITE_CHUNK).map((c) =>
        v1.RelationshipUpdate.create({
          operation:
            c.operation === 'TOUCH'
              ? v1.RelationshipUpdate_Operation.TOUCH
              : v1.RelationshipUpdate_Operation.DELETE,
          relationship: toRelationship(c.tuple),
        }),
      );
      const response = await spicedbCall(
        this.#options.metrics,
        'WriteRelationships',
        updates.length,
        {},
        () =>
          this.#options.spicedb.permissions.writeRelationships(
            v1.WriteRelationshipsRequest.create({ updates }),
            ...deadlineArgs(this.#options.deadlineMs),
          ),
      );
      token = response.writtenAt?.token ?? token;
      if (token !== undefined) this.#latestToken = token;
    }
    return token;
  }

  async #drainNow(): Promise<number> {
    let applied = 0;
    for (;;) {
      const count = await this.#asRelay(async (tx) => {
        const rows = await tx.$queryRawUnsafe<OutboxRow[]>(
          `select * from authz_outbox where applied_at is null order by id limit $1`,
          this.#options.batchSize ?? 500,
        );
        const first = rows[0];
        if (!first) return 0;
        if (first.next_attempt_at.getTime() > Date.now()) return 0; // head of line backing off: keep order
        let token: string | undefined;
        try {
          token = await this.#write(collapse(rows));
        } catch (error) {
          const message = error instanceof Error ? error.message.slice(0, 500) : String(error);
          const backoff = Math.min(1000 * 2 ** Math.min(first.attempts, 20), MAX_BACKOFF_MS);
          await tx.$executeRawUnsafe(
            `update authz_outbox set attempts = attempts + 1, last_error = $1,
                    next_attempt_at = now() + ($2::int * interval '1 millisecond')
              where applied_at is null and id = any($3::bigint[])`,
            message,
            backoff,
            rows.map((r) => r.id),
          );
          this.#options.logger.warn('outbox relay: SpiceDB write failed; will retry', {
            entries: rows.length,
            attempts: first.attempts + 1,
            error: message,
          });
          return -1;
        }
        await this.#markApplied(tx, rows, token ?? '');
        return rows.length;
      });
      if (count < 0) throw new Error('outbox relay: SpiceDB write failed');
      applied += count;
      if (count < (this.#options.batchSize ?? 500)) return applied;
    }
  }

  async #markApplied(
    tx: RelayTx,
    rows: readonly Pick<OutboxRow, 'id' | 'tenant_id' | 'resource_type' | 'resource_id'>[],
    token: string,
  ): Promise<void> {
    await tx.$executeRawUnsafe(
      `update authz_outbox set applied_at = now(), zed_token = $1, last_error = null where id = any($2::bigint[])`,
      token,
      rows.map((r) => r.id),
    );
    await tx.$executeRawUnsafe(
      `insert into authz_tokens (tenant_id, resource_type, resource_id, zed_token)
       select distinct * from unnest($1::uuid[], $2::text[], $3::text[]) as r(t, ty, id), lateral (select $4::text) z
       on conflict (tenant_id, resource_type, resource_id)
       do update set zed_token = excluded.zed_token, applied_at = now()`,
      rows.map((r) => r.tenant_id),
      rows.map((r) => r.resource_type),
      rows.map((r) => r.resource_id),
      token,
    );
  }

  async #replayNow(): Promise<number> {
    return this.#asRelay(async (tx) => {
      const rows = await tx.$queryRawUnsafe<OutboxRow[]>(`select * from authz_outbox order by id`);
      const live = collapse(rows).filter((c) => c.operation === 'TOUCH');
      const token = await this.#write(live);
      if (token) {
        // Tokens of a previous in-memory SpiceDB mean nothing to this one.
        await tx.$executeRawUnsafe(
          `update authz_tokens set zed_token = $1, applied_at = now()`,
          token,
        );
        await this.#markApplied(
          tx,
          rows.filter((r) => (r as OutboxRow & { applied_at: Date | null }).applied_at === null),
          token,
        );
      }
      return live.length;
    });
  }
}
