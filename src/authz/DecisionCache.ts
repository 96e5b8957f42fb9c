/**
 * Relationship decisions shared across requests, so a list that was just checked is not
 * sent to SpiceDB again on the next request.
 *
 * Freshness (why it is safe):
 * - Every relationship change made through this process goes through the outbox relay,
 *   which invalidates the cache when it writes ({@link DecisionCache.invalidate}): only
 *   the decisions about the objects written when all of them are of a self-contained type
 *   (one whose relationships decide nothing about other objects:
 *   spicedb/selfContainedTypes.ts — a share of a workflow), everything otherwise (a team
 *   membership, an organisation role). Per object only where this process is SpiceDB's
 *   only writer (the embedded SpiceDB); with a SpiceDB server other instances write too,
 *   and every write forgets everything (server/createGatehouse.ts). A decision computed
 *   while a write was in flight is not stored (generation check, per object), so a
 *   revoked share is denied on the very next request.
 * - Changes written by another instance are seen through their per-object ZedTokens:
 *   a cached decision older than the object's last recorded write is not used.
 * - Otherwise an entry lives at most `ttlMs` (default 5 s, SpiceDB's own quantization
 *   window for minimize_latency reads), so across instances the cache is no staler than
 *   SpiceDB's cached reads would be. `ttlMs: 0` disables it.
 */
export interface DecisionCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  /**
   * Resource types whose writes invalidate only the decisions about the objects written
   * (spicedb/selfContainedTypes.ts); none by default: every write invalidates everything.
   */
  readonly selfContainedTypes?: ReadonlySet<string>;
}

/** An object whose relationships were written. */
export interface WrittenObject {
  readonly resourceType: string;
  readonly resourceId: string;
}

/** What a decision is about: the subject asks this, about this object. */
export interface DecisionKey {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly permission: string;
}

/** A decision the cache forgot because its object's relationships were written. */
export interface ForgottenDecision {
  /** The subject as the cache keys it ({@link decisionSubject}). */
  readonly subject: string;
  readonly key: DecisionKey;
}

/**
 * The subject as the cache knows it: a user's id as it is (`<tenant>/<user>`), another
 * subject's with its type (`service_account:<tenant>/<id>`), so two can never share
 * decisions. (Object ids hold no colon.)
 */
export function decisionSubject(type: string, id: string): string {
  return type === 'user' ? id : `${type}:${id}`;
}

/** The subject's type and id, from {@link decisionSubject}'s form. */
export function parseDecisionSubject(subject: string): { type: string; id: string } {
  const colon = subject.indexOf(':');
  return colon < 0
    ? { type: 'user', id: subject }
    : { type: subject.slice(0, colon), id: subject.slice(colon + 1) };
}

interface Entry {
  readonly allowed: boolean;
  /** When the check was sent (ms since the epoch). */
  readonly at: number;
}

/**
 * One subject's decisions by resource type → permission → object id: looked up without
 * building a key string (a list costs hundreds of lookups per request).
 */
interface Bucket {
  readonly decisions: Map<string, Map<string, Map<string, Entry>>>;
  size: number;
}

interface Flight {
  readonly answer: Promise<boolean | Error>;
  readonly at: number;
  readonly generation: number;
}

export class DecisionCache {
  readonly #options: DecisionCacheOptions;
  /** By subject, oldest bucket first (evicted first when the cache is full). */
  readonly #subjects = new Map<string, Bucket>();
  readonly #flights = new Map<string, Flight>();
  #size = 0;
  /** Counts invalidations, whole or per object. */
  #generation = 0;
  /** The generation of the last whole invalidation. */
  #wholeGeneration = 0;
  /** The generation at which each object was last invalidated on its own, by type and id. */
  readonly #objectGenerations = new Map<string, Map<string, number>>();
  #objectGenerationCount = 0;

  constructor(options: DecisionCacheOptions) {
    this.#options = options;
  }

  get enabled(): boolean {
    return this.#options.ttlMs > 0;
  }

  /** Changes whenever the cache is invalidated; capture it before asking SpiceDB. */
  get generation(): number {
    return this.#generation;
  }

  /** Whether a decision about `key` computed from a check sent at `generation` is still current. */
  #current(key: DecisionKey, generation: number): boolean {
    if (generation < this.#wholeGeneration) return false;
    if (this.#objectGenerationCount === 0) return true;
    const written = this.#objectGenerations.get(key.resourceType)?.get(key.resourceId);
    return written === undefined || generation >= written;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * The cached decision, if fresh and computed after `writtenAt` (the object's last
   * recorded write, when known).
   */
  get(
    subject: string,
    key: DecisionKey,
    now: number,
    writtenAt: number | undefined,
  ): Entry | undefined {
    const byId = this.#subjects.get(subject)?.decisions.get(key.resourceType)?.get(key.permission);
    const entry = byId?.get(key.resourceId);
    if (!entry) return undefined;
    if (now - entry.at >= this.#options.ttlMs) {
      byId!.delete(key.resourceId);
      this.#subjects.get(subject)!.size -= 1;
      this.#size -= 1;
      return undefined;
    }
    if (writtenAt !== undefined && writtenAt >= entry.at) return undefined;
    return entry;
  }

  /** Stores a decision computed from a check sent at `at`, unless the cache was invalidated since `generation`. */
  set(subject: string, key: DecisionKey, allowed: boolean, at: number, generation: number): void {
    if (!this.enabled || !this.#current(key, generation)) return;
    let bucket = this.#subjects.get(subject);
    if (!bucket) {
      bucket = { decisions: new Map(), size: 0 };
      this.#subjects.set(subject, bucket);
    }
    let byPermission = bucket.decisions.get(key.resourceType);
    if (!byPermission) {
      byPermission = new Map<string, Map<string, Entry>>();
      bucket.decisions.set(key.resourceType, byPermission);
    }
    let byId = byPermission.get(key.permission);
    if (!byId) {
      byId = new Map<string, Entry>();
      byPermission.set(key.permission, byId);
    }
    if (!byId.has(key.resourceId)) {
      bucket.size += 1;
      this.#size += 1;
    }
    byId.set(key.resourceId, { allowed, at });
    // Full: drop the oldest subjects' decisions, or at last this subject's own.
    while (this.#size > this.#options.maxEntries) {
      const [oldest, evicted] = this.#subjects.entries().next().value ?? [];
      if (oldest === undefined || !evicted) break;
      this.#subjects.delete(oldest);
      this.#size -= evicted.size;
    }
  }

  /**
   * A check of `key` already on its way to SpiceDB (single flight: concurrent requests
   * share it instead of stampeding when an entry expires). Only returned if it was sent
   * after `writtenAt` and before no invalidation, like a cached entry.
   */
  inFlight(
    subject: string,
    key: DecisionKey,
    writtenAt: number | undefined,
  ): Promise<boolean | Error> | undefined {
    if (this.#flights.size === 0) return undefined;
    const flight = this.#flights.get(decisionIdentity(subject, key));
    if (!flight || !this.#current(key, flight.generation)) return undefined;
    if (writtenAt !== undefined && writtenAt >= flight.at) return undefined;
    return flight.answer;
  }

  /** Registers a check sent at `at`; it is forgotten once answered. */
  fly(subject: string, key: DecisionKey, answer: Promise<boolean | Error>, at: number): void {
    if (!this.enabled) return;
    const id = decisionIdentity(subject, key);
    const flight: Flight = { answer, at, generation: this.#generation };
    this.#flights.set(id, flight);
    void answer.finally(() => {
      if (this.#flights.get(id) === flight) this.#flights.delete(id);
    });
  }

  /**
   * Relationships of `objects` changed (all of them, when not given): forgets the
   * decisions about those objects when every one is of a self-contained type, else every
   * decision. Decisions in flight across it are not stored. Bounded: once as many objects
   * are remembered as the cache holds entries, the next write forgets everything.
   * Returns the decisions forgotten one by one (none when everything was forgotten), for
   * DecisionRefresher to ask again once the write is applied.
   */
  invalidate(objects?: readonly WrittenObject[]): ForgottenDecision[] {
    this.#generation += 1;
    const selfContained = this.#options.selfContainedTypes;
    const perObject =
      objects !== undefined &&
      selfContained !== undefined &&
      objects.every((o) => selfContained.has(o.resourceType)) &&
      this.#objectGenerationCount + objects.length <= this.#options.maxEntries;
    if (!perObject) {
      this.#wholeGeneration = this.#generation;
      this.#objectGenerations.clear();
      this.#objectGenerationCount = 0;
      this.#subjects.clear();
      this.#size = 0;
      this.#flights.clear();
      return [];
    }
    const forgotten: ForgottenDecision[] = [];
    for (const { resourceType, resourceId } of objects) {
      let byId = this.#objectGenerations.get(resourceType);
      if (!byId) {
        byId = new Map();
        this.#objectGenerations.set(resourceType, byId);
      }
      if (!byId.has(resourceId)) this.#objectGenerationCount += 1;
      byId.set(resourceId, this.#generation);
      for (const [subject, bucket] of this.#subjects) {
        for (const [permission, byObject] of bucket.decisions.get(resourceType) ?? []) {
          if (byObject.delete(resourceId)) {
            bucket.size -= 1;
            this.#size -= 1;
            forgotten.push({ subject, key: { resourceType, resourceId, permission } });
          }
        }
      }
    }
    return forgotten;
  }
}

/** One string naming a decision: who asks what about which object. */
export function decisionIdentity(subject: string, key: DecisionKey): string {
  return `${subject}|${key.resourceType}:${key.resourceId}#${key.permission}`;
}
