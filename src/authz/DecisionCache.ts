/**
 * Relationship decisions shared across requests, so a list that was just checked is not
 * sent to SpiceDB again on the next request.
 *
 * Freshness (why it is safe):
 * - Every relationship change made through this process goes through the outbox relay,
 *   which clears the cache when it writes ({@link DecisionCache.invalidate}). A decision
 *   computed while a write was in flight is not stored (generation check), so a revoked
 *   share is denied on the very next request.
 * - Changes written by another instance are seen through their per-object ZedTokens:
 *   a cached decision older than the object's last recorded write is not used.
 * - Otherwise an entry lives at most `ttlMs` (default 5 s, SpiceDB's own quantization
 *   window for minimize_latency reads), so across instances the cache is no staler than
 *   SpiceDB's cached reads would be. `ttlMs: 0` disables it.
 */
export interface DecisionCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
}

/** What a decision is about: the subject asks this, about this object. */
export interface DecisionKey {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly permission: string;
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
  #generation = 0;

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
    if (!this.enabled || generation !== this.#generation) return;
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
    const flight = this.#flights.get(flightKey(subject, key));
    if (!flight || flight.generation !== this.#generation) return undefined;
    if (writtenAt !== undefined && writtenAt >= flight.at) return undefined;
    return flight.answer;
  }

  /** Registers a check sent at `at`; it is forgotten once answered. */
  fly(subject: string, key: DecisionKey, answer: Promise<boolean | Error>, at: number): void {
    if (!this.enabled) return;
    const id = flightKey(subject, key);
    const flight: Flight = { answer, at, generation: this.#generation };
    this.#flights.set(id, flight);
    void answer.finally(() => {
      if (this.#flights.get(id) === flight) this.#flights.delete(id);
    });
  }

  /** Forgets everything: relationships changed. */
  invalidate(): void {
    this.#generation += 1;
    this.#subjects.clear();
    this.#size = 0;
    this.#flights.clear();
  }
}

function flightKey(subject: string, key: DecisionKey): string {
  return `${subject}|${key.resourceType}:${key.resourceId}#${key.permission}`;
}
