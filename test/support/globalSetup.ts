/**
 * Once before the suite: the real SpiceDB server that the multi-process tests run, the
 * real OpenTelemetry Collector that the telemetry tests export to, and compose-go's loader
 * that checks deploy/compose.yaml (built from the Go module proxy on first use,
 * tools/spicedb.ts, tools/otelcol.ts, tools/deployCheck.ts), so `npm test` needs nothing
 * installed by hand beyond Go (and Debian's nginx for the cluster test).
 */
import { buildComposeCheck } from '../../tools/deployCheck.js';
import { buildOtelcol } from '../../tools/otelcol.js';
import { buildSpiceDb } from '../../tools/spicedb.js';

export default function setup(): void {
  buildSpiceDb();
  buildOtelcol();
  buildComposeCheck();
}
