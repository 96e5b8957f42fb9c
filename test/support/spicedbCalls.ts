/**
 * SpiceDB checks a server has made so far, read from its OpenTelemetry meters
 * (`gatehouse.spicedb.*`, src/authz/authzMetrics.ts): tests prove refused work reached no
 * SpiceDB, and count the RPCs and items a list costs.
 */
import type { Gatehouse } from '../../src/server/createGatehouse.js';

const CHECKS = { 'rpc.method': ['CheckBulkPermissions', 'CheckPermission'] };

/** Check RPCs sent (CheckBulkPermissions and CheckPermission). */
export function spicedbRpcs(gatehouse: Gatehouse): Promise<number> {
  return gatehouse.metrics.sum('gatehouse.spicedb.duration', CHECKS);
}

/** Checks sent, over all those RPCs (items of CheckBulkPermissions). */
export function checkedItems(gatehouse: Gatehouse): Promise<number> {
  return gatehouse.metrics.sum('gatehouse.spicedb.items', CHECKS);
}
