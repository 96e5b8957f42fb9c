/**
 * The meters of gates 2 and 3: field decisions by gate and outcome (tallied per operation,
 * added once when it ends: a list of 100 rows decides hundreds of fields), SpiceDB calls
 * (duration, items, outcome), the cross-request decision cache (hits, misses, answers
 * shared with a check already on its way), and policy evaluations (duration, outcome).
 */
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { FAST_SECONDS_BUCKETS } from '../observability/buckets.js';
import type { Gate } from './AuthzError.js';

export type DecisionOutcome = 'allow' | 'deny' | 'unavailable';

/** A field decision's gate: the one that denied it, or `all` when every gate allowed. */
export type DecisionGate = Gate | 'all';

export type SpiceDbMethod = 'CheckBulkPermissions' | 'CheckPermission' | 'WriteRelationships';

export class AuthzMetrics {
  readonly #decisions: Counter;
  readonly #spicedbDuration: Histogram;
  readonly #spicedbItems: Counter;
  readonly #cache: Counter;
  readonly #policyDuration: Histogram;

  constructor(meter: Meter) {
    this.#decisions = meter.createCounter('gatehouse.authz.decisions', {
      description: 'Field authorization decisions, by the gate that decided and the outcome',
      unit: '{decision}',
    });
    this.#spicedbDuration = meter.createHistogram('gatehouse.spicedb.duration', {
      description: 'Duration of SpiceDB calls, by RPC method and outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: FAST_SECONDS_BUCKETS },
    });
    this.#spicedbItems = meter.createCounter('gatehouse.spicedb.items', {
      description:
        'Checks sent to SpiceDB (items of CheckBulkPermissions) and relationships written',
      unit: '{item}',
    });
    this.#cache = meter.createCounter('gatehouse.authz.cache.lookups', {
      description:
        'Relationship checks looked up in the cross-request decision cache: hit, miss, or shared (joined a check on its way)',
      unit: '{check}',
    });
    this.#policyDuration = meter.createHistogram('gatehouse.policy.duration', {
      description: 'Duration of policy (OPA wasm) evaluations, by decision and outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: FAST_SECONDS_BUCKETS },
    });
  }

  /** An operation's field decisions, tallied as `gate/outcome` → count. */
  decisions(tally: ReadonlyMap<string, number>): void {
    for (const [key, count] of tally) {
      const [gate, outcome] = key.split('/') as [DecisionGate, DecisionOutcome];
      this.#decisions.add(count, {
        'gatehouse.authz.gate': gate,
        'gatehouse.authz.outcome': outcome,
      });
    }
  }

  spicedbCall(method: SpiceDbMethod, seconds: number, items: number, ok: boolean): void {
    const attributes = { 'rpc.method': method, 'gatehouse.outcome': ok ? 'ok' : 'error' };
    this.#spicedbDuration.record(seconds, attributes);
    this.#spicedbItems.add(items, attributes);
  }

  cacheLookups(hits: number, misses: number, shared: number): void {
    if (hits > 0) this.#cache.add(hits, { 'gatehouse.cache.result': 'hit' });
    if (misses > 0) this.#cache.add(misses, { 'gatehouse.cache.result': 'miss' });
    if (shared > 0) this.#cache.add(shared, { 'gatehouse.cache.result': 'shared' });
  }

  policyEvaluation(decision: string, seconds: number, allow: boolean): void {
    this.#policyDuration.record(seconds, {
      'gatehouse.policy.decision': decision,
      'gatehouse.authz.outcome': allow ? 'allow' : 'deny',
    });
  }
}
