/**
 * Once before the suite: the real SpiceDB server that the multi-process tests run (built
 * from the Go module proxy on first use, tools/spicedb.ts), so `npm test` needs nothing
 * installed by hand beyond Go.
 */
import { buildSpiceDb } from '../../tools/spicedb.js';

export default function setup(): void {
  buildSpiceDb();
}
