/**
 * Asks SpiceDB again, once a relationship write is applied, the cached decisions that the
 * write made the cache forget — in ONE CheckBulkPermissions, at least as fresh as the
 * write — instead of every subject that held one asking on its next request, one RPC each.
 *
 * Where the decision cache forgets per object (the embedded SpiceDB, whose only writer is
 * this process's relay: DecisionCache.ts), a share of a workflow forgets that workflow's
 * decisions for every user who had asked about it: the admin, the auditor, its team, its
 * sharers — each of whose next lists would otherwise send a check of its own (an embedded
 * SpiceDB call costs milliseconds however few its items). Here they are asked together,
 * and the lists that arrive meanwhile share the answers (the cache's single flight).
 *
 * Safe as any cached decision is: the answers are stored under the generation taken after
 * the write's invalidation, so a later write on the same object, while they are on their
 * way, keeps them out; they are asked `at_least_as_fresh` the write's ZedToken, so they see
 * it. A failed or partial answer stores nothing: those decisions are asked when needed, as
 * before. Bounded: at most `maxChecks` decisions per write (the first forgotten); the rest
 * are simply forgotten.
 */
import type { Logger } from '../observability/logger.js';
import type { AuthzMetrics } from './authzMetrics.js';
import {
  decisionIdentity,
  parseDecisionSubject,
  type DecisionCache,
  type ForgottenDecision,
  type WrittenObject,
} from './DecisionCache.js';
import type { WritePhase } from './outbox/OutboxRelay.js';
import { checkBulkPermissions } from './spicedb/checkBulkPermissions.js';
import { callerSubject, type SubjectType } from './spicedb/references.js';
import type { SpiceDbConnection } from './spicedb/SpiceDbConnection.js';

export interface DecisionRefresherOptions {
  readonly cache: DecisionCache;
  readonly spicedb: SpiceDbConnection;
  readonly deadlineMs: number;
  readonly logger: Logger;
  readonly metrics?: AuthzMetrics;
  /** Most decisions asked again after one write (default 1000). */
  readonly maxChecks?: number;
}

const DEFAULT_MAX_CHECKS = 1000;

export class DecisionRefresher {
  readonly #options: DecisionRefresherOptions;
  /** What each write in progress made the cache forget (by the relay's array of the write). */
  readonly #forgotten = new Map<readonly WrittenObject[], ForgottenDecision[]>();
  readonly #running = new Set<Promise<void>>();

  constructor(options: DecisionRefresherOptions) {
    this.#options = options;
  }

  /**
   * The relay's write hook: invalidates the cache before the write and after it (as the
   * cache asks), and once a write has succeeded asks again what it made the cache forget.
   */
  onWrite(written: readonly WrittenObject[], phase: WritePhase): void {
    const forgotten = this.#options.cache.invalidate(written);
    const held = this.#forgotten.get(written);
    const all = held ? [...held, ...forgotten] : forgotten;
    if (phase.phase === 'before') {
      if (all.length > 0) this.#forgotten.set(written, all);
      return;
    }
    this.#forgotten.delete(written);
    // No token: the write failed (or SpiceDB gave none); nothing is asked before it is applied.
    if (phase.token === undefined || all.length === 0) return;
    const running = this.#refresh(all, phase.token).finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Settles when every refresh begun so far has (tests; shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#running]);
  }

  async #refresh(forgotten: readonly ForgottenDecision[], token: string): Promise<void> {
    const o = this.#options;
    const asked = dedupe(forgotten).slice(0, o.maxChecks ?? DEFAULT_MAX_CHECKS);
    const generation = o.cache.generation;
    const sentAt = Date.now();
    const answers = checkBulkPermissions(
      o,
      asked.map(({ subject, key }) => {
        const { type, id } = parseDecisionSubject(subject);
        return { ...key, subject: callerSubject(type as SubjectType, id) };
      }),
      token,
      { 'gatehouse.authz.refresh': true },
    );
    // Requests that need one of these meanwhile wait for this answer instead of asking.
    for (const [i, { subject, key }] of asked.entries()) {
      o.cache.fly(
        subject,
        key,
        answers.then((a) => a[i]!),
        sentAt,
      );
    }
    const answered = await answers;
    let failed = 0;
    for (const [i, { subject, key }] of asked.entries()) {
      const answer = answered[i]!;
      if (typeof answer === 'boolean') o.cache.set(subject, key, answer, sentAt, generation);
      else failed += 1;
    }
    if (failed > 0) {
      o.logger.warn('cached decisions could not be asked again after a relationship write', {
        decisions: asked.length,
        failed,
        error: answered.find((a) => a instanceof Error),
      });
    }
  }
}

/** A decision forgotten twice (before and after the write) is asked once. */
function dedupe(forgotten: readonly ForgottenDecision[]): ForgottenDecision[] {
  const seen = new Set<string>();
  return forgotten.filter(({ subject, key }) => {
    const id = decisionIdentity(subject, key);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
