/**
 * How the operator's audit CLI reads every tenant's trail as the owner role without
 * loosening row-level security: it lists the chains as the checkpoint signer (which sees
 * chain heads and checkpoints, nothing else), then reads each tenant's events in a
 * read-only transaction of that tenant, under the same policy as the application.
 */
import type { SqlClient } from '../data/SqlClient.js';
import { AUDIT_SIGNER_ROLE } from '../data/roles.js';
import type { AuditQuery } from './auditRows.js';

async function inTransaction<T>(sql: SqlClient, work: () => Promise<T>): Promise<T> {
  await sql.exec('begin read only');
  try {
    const result = await work();
    await sql.exec('commit');
    return result;
  } catch (error) {
    await sql.exec('rollback');
    throw error;
  }
}

/** Every tenant with a chain head or a checkpoint. */
export function chainTenants(sql: SqlClient): Promise<string[]> {
  return inTransaction(sql, async () => {
    await sql.query(`select set_config('role', $1, true)`, [AUDIT_SIGNER_ROLE]);
    const rows = await sql.query<{ tenant_id: string }>(
      `select tenant_id from audit_chain_heads union select tenant_id from audit_checkpoints order by 1`,
    );
    return rows.map((r) => r.tenant_id);
  });
}

/** Runs `work` in a read-only transaction of `tenantId` (RLS: that tenant's rows only). */
export function inTenant<T>(
  sql: SqlClient,
  tenantId: string,
  work: (query: AuditQuery) => Promise<T>,
): Promise<T> {
  return inTransaction(sql, async () => {
    await sql.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
    return work((text, params) => sql.query(text, params));
  });
}
