/** Histogram bucket boundaries, in seconds. */

/** For requests: OpenTelemetry's HTTP semantic conventions' advice. */
export const SECONDS_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** For calls that take well under a millisecond to a second (SpiceDB, policies, SQL). */
export const FAST_SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
