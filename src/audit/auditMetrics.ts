/**
 * Gate 5's meters: events appended to the chains (by outcome: an append that failed rolled
 * its operation back) and the live feed's subscribers on this instance.
 */
import type { Meter } from '@opentelemetry/api';
import type { AuditFeed } from './AuditFeed.js';
import type { AuditAppender } from './appendAuditEvents.js';

/** `appender`, counting the events it appends. */
export function countedAppender(meter: Meter, appender: AuditAppender): AuditAppender {
  const appends = meter.createCounter('gatehouse.audit.appends', {
    description: 'Audit events appended to the tenants\u2019 chains, by outcome',
    unit: '{event}',
  });
  return {
    async append(tx, tenantId, events) {
      try {
        const appended = await appender.append(tx, tenantId, events);
        appends.add(events.length, { 'gatehouse.outcome': 'ok' });
        return appended;
      } catch (error) {
        appends.add(events.length, { 'gatehouse.outcome': 'error' });
        throw error;
      }
    },
  };
}

export function observeAuditFeed(meter: Meter, feed: AuditFeed): void {
  meter
    .createObservableUpDownCounter('gatehouse.audit.feed.subscribers', {
      description: 'Live audit feed subscriptions open on this instance',
      unit: '{subscription}',
    })
    .addCallback((result) => result.observe(feed.subscribers));
}
