/**
 * How a client learns its budget: the IETF RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers) on every GraphQL response, and on a refusal
 * `Retry-After` and a RATE_LIMITED error saying when to retry. A token bucket of `burst`
 * points refilled at `perHour` is advertised as a quota of `burst` points per the window
 * that refills it.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { RateLimitDecision } from './RateLimiter.js';
import type { BucketPolicy } from './TokenBucket.js';

/** Seconds, rounded up, at least 1 when anything is left to wait. */
function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.max(1, Math.ceil(ms / 1000));
}

/** `RateLimit-Policy: "user";q=100;w=360` */
export function policyHeader(policy: BucketPolicy): string {
  const window = Math.ceil((policy.burst / policy.perHour) * 3600);
  return `"${policy.name}";q=${policy.burst};w=${window}`;
}

/** The response headers for a decision (Retry-After only on a refusal). */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Policy': policyHeader(decision.policy),
    RateLimit: `"${decision.policy.name}";r=${decision.remaining};t=${seconds(decision.resetMs)}`,
  };
  if (!decision.allowed) headers['Retry-After'] = String(seconds(decision.retryAfterMs));
  return headers;
}

/** The error of an operation refused for its budget (HTTP 429; over WebSocket, that operation's). */
export function rateLimitedError(decision: RateLimitDecision): GraphQLError {
  const retryAfter = seconds(decision.retryAfterMs);
  return new GraphQLError(
    `Rate limit exceeded: this operation costs ${decision.points} points of the "${decision.policy.name}" budget (${decision.policy.burst} points, refilled at ${decision.policy.perHour} an hour); retry after ${retryAfter} s`,
    {
      extensions: {
        code: ErrorCode.RATE_LIMITED,
        retryAfter,
        policy: decision.policy.name,
        points: decision.points,
        http: { status: 429 },
      },
    },
  );
}

/** The error of a request from a locked address. */
export function lockedOutError(lockedForMs: number): GraphQLError {
  const retryAfter = seconds(lockedForMs);
  return new GraphQLError(
    `Too many failed authentication attempts from this address; retry after ${retryAfter} s`,
    { extensions: { code: ErrorCode.RATE_LIMITED, retryAfter, http: { status: 429 } } },
  );
}
