/**
 * Per-operation relationship checks (gate 2). Every check made while one execution level
 * resolves is collected and sent as ONE CheckBulkPermissions, deduplicated by (object,
 * permission) — several fields sharing a permission cost one item. Answers are memoised
 * for the operation and, once known, read without waiting (`peek`), so a field whose checks
 * were already answered is decided synchronously.
 *
 * Fail closed: CONDITIONAL_PERMISSION is a denial; an RPC error, a per-item error or a
 * missed deadline rejects with AuthzUnavailableError.
 *
 * Consistency: the batch asks for data at least as fresh as the newest recorded write
 * among its objects (`tokens`: looked up in the database, or — with the embedded SpiceDB,
 * whose only writer is this process's relay — its newest write); with none recorded,
 * SpiceDB may answer from its cache (minimize_latency).
 */
import type { SpiceDbConnection } from './spicedb/SpiceDbConnection.js';
import { AuthzUnavailableError } from './AuthzError.js';
import { callerSubject, type SubjectType } from './spicedb/references.js';
import type { AuthzMetrics } from './authzMetrics.js';
import { decisionSubject, type DecisionCache } from './DecisionCache.js';
import { checkBulkPermissions } from './spicedb/checkBulkPermissions.js';
import { tenantObjectId } from './objectIds.js';

export interface CheckKey {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly permission: string;
}

/** What the outbox relay recorded about the objects of a batch. */
export interface RecordedWrites {
  /** The freshest ZedToken among them (undefined: none recorded). */
  readonly token: string | undefined;
  /** When each object was last written, by `type:id` (ms since the epoch). */
  readonly writtenAt: ReadonlyMap<string, number>;
}

/** What was recorded about the objects of a batch: from the database, or known in process. */
export type TokenLookup = (
  objects: ReadonlyArray<{ resourceType: string; resourceId: string }>,
) => RecordedWrites | Promise<RecordedWrites>;

export interface PermissionCheckerOptions {
  readonly spicedb: SpiceDbConnection;
  /** SpiceDB subject id of the caller (`user:<tenant>/<user>`), or null: every check denies. */
  readonly subjectId: string | null;
  /**
   * The subject's SpiceDB type: a user (the default), or a service account (an API key's
   * principal, `service_account:<tenant>/<account>`).
   */
  readonly subjectType?: SubjectType;
  /** The caller's tenant: checks name its objects by their ids in it. */
  readonly tenantId: string;
  readonly tokens: TokenLookup;
  readonly deadlineMs: number;
  /** Records each SpiceDB call and the decision cache's answers (authzMetrics.ts). */
  readonly metrics?: AuthzMetrics;
  /** Decisions shared across requests (see DecisionCache); none when absent. */
  readonly cache?: DecisionCache;
}

/**
 * The relationship checks of one operation, as RequestAuthorizer asks them (gate 2).
 * PermissionChecker is the one Gatehouse serves with; benchmarks bring their baselines.
 */
export interface RelationshipChecker {
  /** False when the caller has no SpiceDB subject (no user account): every check denies. */
  readonly hasSubject: boolean;
  /** The caller's SpiceDB user id, or null. */
  readonly subjectId: string | null;
  /** The caller's SpiceDB subject type (absent: a user). */
  readonly subjectType?: SubjectType;
  /**
   * The answer already known in this operation, without waiting: true or false, or
   * undefined when it is not known (then ask with `check`). `id` is the object's id in the
   * caller's tenant.
   */
  peek(resourceType: string, id: string, permission: string): boolean | undefined;
  /** Why a check asked in this operation has no answer (SpiceDB failed), if it failed. */
  failure(resourceType: string, id: string, permission: string): Error | undefined;
  /**
   * True when the caller has `permission` on the tenant's object `resourceType:id`.
   * Rejects when SpiceDB cannot answer.
   */
  check(resourceType: string, id: string, permission: string): Promise<boolean>;
  /**
   * Asks every permission in `permissions` on every object of `ids` and settles when all
   * are answered; the answers are then read with `peek` (undefined: SpiceDB could not
   * answer, and `failure` says why).
   */
  checkAll(
    resourceType: string,
    ids: readonly string[],
    permissions: readonly string[],
  ): Promise<void>;
}

/** A check of the operation: its answer once known, or why it has none. */
interface Memo {
  readonly key: CheckKey;
  /** Settles (never rejects) when the batch carrying this check has been answered. */
  readonly done: Promise<void>;
  answer: boolean | undefined;
  error: Error | undefined;
}

/** The checks collected for the next CheckBulkPermissions, and its completion. */
interface Pending {
  readonly memos: Memo[];
  readonly done: Promise<void>;
  readonly resolve: () => void;
}

/** Largest CheckBulkPermissions sent (SpiceDB's default limit is 10,000 items). */
const MAX_BATCH = 1000;

/**
 * Runs `flush` after the promise jobs already queued, and the ones they queue in turn, so
 * every field of one execution level has asked before the batch goes (as DataLoader does).
 */
function afterPromiseJobs(flush: () => void): void {
  void Promise.resolve().then(() => process.nextTick(flush));
}

function answerOf(memo: Memo): boolean {
  if (memo.answer === undefined) {
    throw memo.error ?? new AuthzUnavailableError('SpiceDB gave no answer');
  }
  return memo.answer;
}

export class PermissionChecker implements RelationshipChecker {
  readonly #options: PermissionCheckerOptions;
  /** The operation's checks by resource type → permission → object id. */
  readonly #memo = new Map<string, Map<string, Map<string, Memo>>>();
  #pending: Pending | undefined;

  constructor(options: PermissionCheckerOptions) {
    this.#options = options;
  }

  /** False when the caller has no SpiceDB subject (no user account): every check denies. */
  get hasSubject(): boolean {
    return this.#options.subjectId !== null;
  }

  /** The caller's SpiceDB user id, or null. */
  get subjectId(): string | null {
    return this.#options.subjectId;
  }

  /** The caller's SpiceDB subject type: a user, or a service account. */
  get subjectType(): SubjectType {
    return this.#options.subjectType ?? 'user';
  }

  /**
   * The answer already known in this operation, without waiting: true or false, or
   * undefined when it has not been asked, is on its way, or failed (then `check` rejects).
   * `id` is the object's id in the caller's tenant.
   */
  peek(resourceType: string, id: string, permission: string): boolean | undefined {
    return this.#memo.get(resourceType)?.get(permission)?.get(id)?.answer;
  }

  /** Why a check asked in this operation has no answer (SpiceDB failed), if it failed. */
  failure(resourceType: string, id: string, permission: string): Error | undefined {
    return this.#memo.get(resourceType)?.get(permission)?.get(id)?.error;
  }

  /**
   * True when the caller has `permission` on the tenant's object `resourceType:id`.
   * Rejects when SpiceDB cannot answer.
   */
  check(resourceType: string, id: string, permission: string): Promise<boolean> {
    if (this.#options.subjectId === null) return Promise.resolve(false);
    const memo = this.#memoOf(resourceType, id, permission);
    if (memo.answer !== undefined) return Promise.resolve(memo.answer);
    return memo.done.then(() => answerOf(memo));
  }

  /**
   * Asks every permission in `permissions` on every object of `ids` (one batch with
   * whatever else this tick asks) and settles when all are answered; read the answers with
   * `peek` — undefined then means SpiceDB could not answer (fail closed). Lists use it to
   * check a page, and what its selected fields will need, at once.
   */
  async checkAll(
    resourceType: string,
    ids: readonly string[],
    permissions: readonly string[],
  ): Promise<void> {
    if (this.#options.subjectId === null) return;
    const waitFor = new Set<Promise<void>>();
    for (const permission of permissions) {
      for (const id of ids) {
        const memo = this.#memoOf(resourceType, id, permission);
        if (memo.answer === undefined && memo.error === undefined) waitFor.add(memo.done);
      }
    }
    await Promise.all(waitFor);
  }

  #memoOf(resourceType: string, id: string, permission: string): Memo {
    let byPermission = this.#memo.get(resourceType);
    if (!byPermission) {
      byPermission = new Map<string, Map<string, Memo>>();
      this.#memo.set(resourceType, byPermission);
    }
    let byId = byPermission.get(permission);
    if (!byId) {
      byId = new Map<string, Memo>();
      byPermission.set(permission, byId);
    }
    let memo = byId.get(id);
    if (!memo) {
      const pending = this.#pendingBatch();
      memo = {
        key: this.#keyOf(resourceType, id, permission),
        done: pending.done,
        answer: undefined,
        error: undefined,
      };
      pending.memos.push(memo);
      byId.set(id, memo);
    }
    return memo;
  }

  #pendingBatch(): Pending {
    if (this.#pending) return this.#pending;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const pending: Pending = { memos: [], done, resolve };
    this.#pending = pending;
    afterPromiseJobs(() => {
      this.#pending = undefined;
      void this.#flush(pending);
    });
    return pending;
  }

  #keyOf(resourceType: string, id: string, permission: string): CheckKey {
    return {
      resourceType,
      resourceId: tenantObjectId(this.#options.tenantId, resourceType, id),
      permission,
    };
  }

  /** Sends the collected checks (in batches of at most MAX_BATCH) and records the answers. */
  async #flush(pending: Pending): Promise<void> {
    const { memos } = pending;
    const batches: Array<Promise<void>> = [];
    for (let start = 0; start < memos.length; start += MAX_BATCH) {
      const batch = memos.slice(start, start + MAX_BATCH);
      batches.push(
        this.#checkBulk(batch.map((m) => m.key)).then(
          (answers) => {
            for (const [i, memo] of batch.entries()) {
              const answer = answers[i];
              if (typeof answer === 'boolean') memo.answer = answer;
              else memo.error = answer ?? new AuthzUnavailableError('missing result');
            }
          },
          (error: unknown) => {
            const reason = error instanceof Error ? error : new Error(String(error));
            for (const memo of batch) memo.error = reason;
          },
        ),
      );
    }
    await Promise.all(batches);
    pending.resolve();
  }

  async #checkBulk(keys: readonly CheckKey[]): Promise<Array<boolean | Error>> {
    const recorded = this.#options.tokens(keys);
    const { token, writtenAt } = recorded instanceof Promise ? await recorded : recorded;
    const cache = this.#options.cache?.enabled ? this.#options.cache : undefined;
    const subject = this.#cacheSubject();
    const results: Array<boolean | Error | undefined> = keys.map(() => undefined);
    let misses = [...keys.keys()];
    /** Checks of the batch answered by the cache, or by a check already on its way. */
    let cached = 0;
    const shared: Array<Promise<void>> = [];
    if (cache) {
      const now = Date.now();
      misses = [];
      for (const [i, k] of keys.entries()) {
        const written =
          writtenAt.size === 0 ? undefined : writtenAt.get(`${k.resourceType}:${k.resourceId}`);
        const hit = cache.get(subject, k, now, written);
        const flight = hit ? undefined : cache.inFlight(subject, k, written);
        if (hit) results[i] = hit.allowed;
        else if (flight) shared.push(flight.then((answer) => void (results[i] = answer)));
        else misses.push(i);
      }
      cached = keys.length - misses.length;
      this.#options.metrics?.cacheLookups(cached - shared.length, misses.length, shared.length);
    }
    if (misses.length > 0) {
      const generation = cache?.generation ?? 0;
      const sentAt = Date.now();
      const asked = this.#ask(
        misses.map((i) => keys[i]!),
        token,
        cached,
      );
      if (cache) {
        for (const [j, i] of misses.entries()) {
          cache.fly(
            subject,
            keys[i]!,
            asked.then((answers) => answers[j]!),
            sentAt,
          );
        }
      }
      const answers = await asked;
      for (const [j, i] of misses.entries()) {
        const answer = answers[j]!;
        results[i] = answer;
        if (cache && typeof answer === 'boolean')
          cache.set(subject, keys[i]!, answer, sentAt, generation);
      }
    }
    await Promise.all(shared);
    return results as Array<boolean | Error>;
  }

  /** The subject as the decision cache knows it. */
  #cacheSubject(): string {
    return decisionSubject(this.#options.subjectType ?? 'user', this.#options.subjectId ?? '');
  }

  /** One CheckBulkPermissions for `keys` (`cached`: the checks of the batch not asked, for its span). */
  #ask(
    keys: readonly CheckKey[],
    token: string | undefined,
    cached: number,
  ): Promise<Array<boolean | Error>> {
    const subject = callerSubject(
      this.#options.subjectType ?? 'user',
      this.#options.subjectId ?? '',
    );
    return checkBulkPermissions(
      this.#options,
      keys.map((k) => ({ ...k, subject })),
      token,
      { 'gatehouse.authz.cached': cached },
    );
  }
}
