/**
 * SpiceDB checks a server has made so far, read from its OpenTelemetry meters
 * (`gatehouse.spicedb.*`, src/authz/authzMetrics.ts): tests prove refused work reached no
 * SpiceDB, and count the RPCs and items a list costs.
 */
import type { Gatehouse } from '../../src/server/createGatehouse.js';

const CHECKS = ['CheckBulkPermissions', 'CheckPermission'] as const;

/** Check RPCs sent (CheckBulkPermissions and CheckPermission). */
export async function spicedbRpcs(gatehouse: Gatehouse): Promise<number> {
  let total = 0;
  for (const method of CHECKS) {
    total += await gatehouse.metrics.sum('gatehouse.spicedb.duration', { 'rpc.method': method });
  }
  return total;
}

/** Checks sent, over all those RPCs (items of CheckBulkPermissions). */
export async function checkedItems(gatehouse: Gatehouse): Promise<number> {
  let total = 0;
  for (const method of CHECKS) {
    total += await gatehouse.metrics.sum('gatehouse.spicedb.items', { 'rpc.method': method });
  }
  return total;
}
