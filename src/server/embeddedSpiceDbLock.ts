/**
 * The embedded SpiceDB lives in this process's memory, and its ZedTokens and applied
 * outbox entries mean nothing to another process's. So with an embedded SpiceDB only one
 * Gatehouse may serve a database: this session-level advisory lock, held for the server's
 * lifetime, makes a second one refuse to start. Replicas share a SpiceDB cluster instead.
 */
import { connectPostgres, type SqlClient } from '../data/SqlClient.js';

const EMBEDDED_SPICEDB_LOCK = 720_394_120;

export async function claimEmbeddedSpiceDb(databaseUrl: string): Promise<SqlClient> {
  const lock = await connectPostgres(databaseUrl);
  const rows = await lock.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
    EMBEDDED_SPICEDB_LOCK,
  ]);
  if (rows[0]?.locked !== true) {
    await lock.close();
    throw new Error(
      'another Gatehouse instance with an embedded SpiceDB already serves this database; ' +
        'run replicas against a shared SpiceDB cluster (set SPICEDB_ENDPOINT)',
    );
  }
  return lock;
}
