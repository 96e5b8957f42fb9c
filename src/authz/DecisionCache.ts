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

interface Entry {
  readonly allowed: boolean;
  /** When the check was sent (ms since the epoch). */
  readonly at: number;
}

export class DecisionCache {
  readonly #options: DecisionCacheOptions;
  readonly #entries = new Map<string, Entry>();
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
    return this.#entries.size;
  }

  /** The cached decision, if fresh and computed after `writtenAt` (the object's last recorded write). */
  get(key: string, now: number, writtenAt: number | undefined): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (now - entry.at >= this.#options.ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    if (writtenAt !== undefined && writtenAt >= entry.at) return undefined;
    return entry;
  }

  /** Stores a decision computed from a check sent at `at`, unless the cache was invalidated since `generation`. */
  set(key: string, allowed: boolean, at: number, generation: number): void {
    if (!this.enabled || generation !== this.#generation) return;
    this.#entries.delete(key);
    this.#entries.set(key, { allowed, at });
    // Map keeps insertion order: the first entries are the oldest.
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  /**
   * A check of `key` already on its way to SpiceDB (single flight: concurrent requests
   * share it instead of stampeding when an entry expires). Only returned if it was sent
   * after `writtenAt` and before no invalidation, like a cached entry.
   */
  inFlight(key: string, writtenAt: number | undefined): Promise<boolean | Error> | undefined {
    const flight = this.#flights.get(key);
    if (!flight || flight.generation !== this.#generation) return undefined;
    if (writtenAt !== undefined && writtenAt >= flight.at) return undefined;
    return flight.answer;
  }

  /** Registers a check sent at `at`; it is forgotten once answered. */
  fly(key: string, answer: Promise<boolean | Error>, at: number): void {
    if (!this.enabled) return;
    const flight = { answer, at, generation: this.#generation };
    this.#flights.set(key, flight);
    void answer.finally(() => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    });
  }

  readonly #flights = new Map<
    string,
    { answer: Promise<boolean | Error>; at: number; generation: number }
  >();

  /** Forgets everything: relationships changed. */
  invalidate(): void {
    this.#generation += 1;
    this.#entries.clear();
    this.#flights.clear();
  }
}
