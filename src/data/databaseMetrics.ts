/**
 * The request connection pool's meters: connections by state (used, idle) and requests
 * waiting for one. They follow the database client semantic conventions' pool metrics, but
 * under gatehouse names: `db.client.connection.count` becomes `db_client_connection_count`
 * in Prometheus, which its linter refuses (a `_count` suffix is a histogram's).
 */
import type { Meter } from '@opentelemetry/api';
import type { PoolState } from './openDatabase.js';

const POOL_NAME = 'gatehouse';

export function observePool(meter: Meter, pool: () => PoolState): void {
  const count = meter.createObservableUpDownCounter('gatehouse.db.pool.connections', {
    description: 'Connections of the request pool, by state',
    unit: '{connection}',
  });
  const pending = meter.createObservableUpDownCounter('gatehouse.db.pool.pending_requests', {
    description: 'Requests waiting for a connection of the request pool',
    unit: '{request}',
  });
  meter.addBatchObservableCallback(
    (result) => {
      const now = pool();
      const name = { 'gatehouse.db.pool.name': POOL_NAME };
      result.observe(count, now.total - now.idle, {
        ...name,
        'gatehouse.db.pool.state': 'used',
      });
      result.observe(count, now.idle, { ...name, 'gatehouse.db.pool.state': 'idle' });
      result.observe(pending, now.waiting, name);
    },
    [count, pending],
  );
}
