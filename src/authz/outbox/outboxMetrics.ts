/** The outbox's meters: entries SpiceDB does not have yet, and how long the oldest has waited. */
import type { Meter } from '@opentelemetry/api';
import type { Logger } from '../../observability/logger.js';
import type { OutboxRelay } from './OutboxRelay.js';

export function observeOutbox(meter: Meter, relay: OutboxRelay, logger: Logger): void {
  const backlog = meter.createObservableGauge('gatehouse.outbox.backlog', {
    description: 'Relationship changes committed in PostgreSQL and not yet applied to SpiceDB',
    unit: '{change}',
  });
  const oldest = meter.createObservableGauge('gatehouse.outbox.oldest_pending_age', {
    description: 'Age of the oldest relationship change not yet applied to SpiceDB (0 when none)',
    unit: 's',
  });
  // One query per collection for both.
  meter.addBatchObservableCallback(
    async (result) => {
      try {
        const now = await relay.backlog();
        result.observe(backlog, now.pending);
        result.observe(oldest, now.oldestAgeSeconds);
      } catch (error) {
        // No figure rather than a wrong one; the readiness probe reports the database.
        logger.warn('outbox backlog could not be read for metrics', { error });
      }
    },
    [backlog, oldest],
  );
}
