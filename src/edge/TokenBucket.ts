/**
 * The token bucket every rate limit uses: a bucket holds up to `burst` points and refills
 * continuously at `perHour` points an hour; a request takes its points or is refused with
 * the wait until it could. Pure arithmetic, shared by the in-memory store and mirrored by
 * the Redis store's script (RedisRateLimitStore.ts), so both answer alike.
 */

/** A named budget: `burst` points at most, refilled at `perHour` points an hour. */
export interface BucketPolicy {
  /** Reported in the `RateLimit-Policy` / `RateLimit` headers (`user`, `premium`, …). */
  readonly name: string;
  readonly perHour: number;
  readonly burst: number;
}

/** What a bucket holds: points (fractional while refilling) as of `at` (ms since the epoch). */
export interface BucketState {
  readonly points: number;
  readonly at: number;
}

/** The answer to taking points from a bucket. */
export interface BucketVerdict {
  readonly allowed: boolean;
  /** Points left after this request (whole points, for the headers). */
  readonly remaining: number;
  /** When refused: how long until the request's points would be there. */
  readonly retryAfterMs: number;
  /** How long until the bucket is full again. */
  readonly resetMs: number;
}

const HOUR_MS = 3_600_000;

/** Points gained per millisecond. */
export function refillPerMs(policy: BucketPolicy): number {
  return policy.perHour / HOUR_MS;
}

/** The bucket as of `now`: `state` refilled for the time since, or a full bucket. */
export function refilled(
  policy: BucketPolicy,
  state: BucketState | undefined,
  now: number,
): number {
  if (!state) return policy.burst;
  return Math.min(policy.burst, state.points + Math.max(0, now - state.at) * refillPerMs(policy));
}

/** What a request of `points` takes: at most a whole bucket (a dearer one empties it). */
export function costIn(policy: BucketPolicy, points: number): number {
  return Math.min(points, policy.burst);
}

/** Takes `points` (see costIn) from a bucket holding `available`; the new state and the verdict. */
export function take(
  policy: BucketPolicy,
  available: number,
  points: number,
  now: number,
): { readonly state: BucketState; readonly verdict: BucketVerdict } {
  const cost = costIn(policy, points);
  const allowed = available >= cost;
  const left = allowed ? available - cost : available;
  return { state: { points: left, at: now }, verdict: verdictOf(policy, allowed, left, cost) };
}

/** The verdict for a bucket left with `left` points after a request of `cost` points. */
export function verdictOf(
  policy: BucketPolicy,
  allowed: boolean,
  left: number,
  cost: number,
): BucketVerdict {
  const rate = refillPerMs(policy);
  return {
    allowed,
    remaining: Math.floor(left),
    retryAfterMs: allowed ? 0 : Math.ceil((cost - left) / rate),
    resetMs: Math.ceil((policy.burst - left) / rate),
  };
}
