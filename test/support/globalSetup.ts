/**
 * Once before the suite: the real SpiceDB server that the multi-process tests run and the
 * real OpenTelemetry Collector that the telemetry tests export to (built from the Go module
 * proxy on first use, tools/spicedb.ts and tools/otelcol.ts), so `npm test` needs nothing
 * installed by hand beyond Go.
 */
import { buildOtelcol } from '../../tools/otelcol.js';
import { buildSpiceDb } from '../../tools/spicedb.js';

export default function setup(): void {
  buildSpiceDb();
  buildOtelcol();
}
