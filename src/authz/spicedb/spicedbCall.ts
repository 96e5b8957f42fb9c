/**
 * One SpiceDB RPC as telemetry sees it: a client span following the RPC semantic
 * conventions (`rpc.system` grpc, `rpc.service`, `rpc.method`; with the remote server the
 * gRPC instrumentation's own span is its child) and the `gatehouse.spicedb.*` meters.
 */
import type { Attributes } from '@opentelemetry/api';
import { inSpan, SpanKind } from '../../observability/spans.js';
import type { AuthzMetrics, SpiceDbMethod } from '../authzMetrics.js';

export function spicedbCall<T>(
  metrics: AuthzMetrics | undefined,
  method: SpiceDbMethod,
  items: number,
  attributes: Attributes,
  call: () => Promise<T>,
): Promise<T> {
  return inSpan(
    `spicedb ${method}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': 'authzed.api.v1.PermissionsService',
        'rpc.method': method,
        'gatehouse.spicedb.items': items,
        ...attributes,
      },
    },
    async () => {
      const started = performance.now();
      let ok = false;
      try {
        const result = await call();
        ok = true;
        return result;
      } finally {
        metrics?.spicedbCall(method, (performance.now() - started) / 1000, items, ok);
      }
    },
  );
}
