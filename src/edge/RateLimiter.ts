/**
 * Per-principal budgets (seed 000): users, premium principals (a configured scope or
 * role) and anonymous clients (per address) each get a token bucket. Cost-aware: an
 * operation takes its computed query cost in points, one point per `costPerPoint` of cost
 * and at least one (the way GitHub's GraphQL API counts), so a list of 100 rows takes more
 * of the budget than a health check.
 */
import type { Principal } from '../authn/Principal.js';
import type { RateLimitsConfig } from '../config.js';
import { addressKey } from './clientAddress.js';
import type { RateLimitStore } from './RateLimitStore.js';
import type { BucketPolicy, BucketVerdict } from './TokenBucket.js';

/** Whose budget an operation takes from. */
export interface RateLimitSubject {
  readonly principal: Principal | null;
  readonly clientIp: string;
}

/**
 * The key a subject's budget (and its WebSocket connections) count under: tenant and
 * subject as separate parts, so no two principals share one; an anonymous caller's address.
 */
export function subjectKey({ principal, clientIp }: RateLimitSubject): string {
  return principal
    ? `user:${principal.tenantId}:${principal.subject}`
    : `ip:${addressKey(clientIp)}`;
}

export interface RateLimitDecision extends BucketVerdict {
  readonly policy: BucketPolicy;
  /** Points the operation cost. */
  readonly points: number;
}

export class RateLimiter {
  readonly config: RateLimitsConfig;
  /** Operations refused for want of points, by policy name (read by edgeMetrics.ts). */
  readonly rejections = new Map<string, number>();
  readonly #store: RateLimitStore;

  constructor(config: RateLimitsConfig, store: RateLimitStore) {
    this.config = config;
    this.#store = store;
  }

  policyFor(principal: Principal | null): BucketPolicy {
    if (!principal) return this.config.anonymous;
    const premium =
      principal.scopes.some((s) => this.config.premiumScopes.includes(s)) ||
      principal.roles.some((r) => this.config.premiumRoles.includes(r));
    return premium ? this.config.premium : this.config.user;
  }

  /** Points of an operation of query cost `cost`. */
  pointsFor(cost: number): number {
    return Math.max(1, Math.ceil(cost / this.config.costPerPoint));
  }

  /** Takes an operation of query cost `cost` from its subject's budget. */
  async charge(subject: RateLimitSubject, cost: number): Promise<RateLimitDecision> {
    const policy = this.policyFor(subject.principal);
    const points = this.pointsFor(cost);
    const verdict = await this.#store.take(subjectKey(subject), policy, points);
    if (!verdict.allowed)
      this.rejections.set(policy.name, (this.rejections.get(policy.name) ?? 0) + 1);
    return { ...verdict, policy, points };
  }
}
