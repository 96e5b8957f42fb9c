/**
 * The edge's meters, read from its own counters when metrics are collected (nothing is
 * recorded per request): operations refused by the rate limits, by policy; failed
 * authentications, lockouts begun and ended, and requests refused while locked out.
 */
import type { Meter } from '@opentelemetry/api';
import type { Edge } from './Edge.js';

export function observeEdge(meter: Meter, edge: Edge): void {
  const rejections = meter.createObservableCounter('gatehouse.ratelimit.rejections', {
    description: 'Operations refused with RATE_LIMITED (429), by rate-limit policy',
    unit: '{operation}',
  });
  rejections.addCallback((result) => {
    for (const [policy, count] of edge.rateLimiter.rejections) {
      result.observe(count, { 'gatehouse.ratelimit.policy': policy });
    }
  });
  const lockout = edge.lockout.counters;
  const counters: ReadonlyArray<[string, string, () => number]> = [
    [
      'gatehouse.authn.failures',
      'Requests and connections refused for a bad credential (401)',
      () => lockout.failures,
    ],
    [
      'gatehouse.authn.lockouts',
      'Client addresses locked out after too many failed authentications',
      () => lockout.locks,
    ],
    ['gatehouse.authn.lockout.ends', 'Lockouts that ended on this instance', () => lockout.unlocks],
    [
      'gatehouse.authn.lockout.refusals',
      'Requests refused (429) because their address was locked out',
      () => lockout.refusals,
    ],
  ];
  for (const [name, description, read] of counters) {
    meter
      .createObservableCounter(name, { description, unit: '{request}' })
      .addCallback((result) => result.observe(read()));
  }
}
