/** A connection as the owner role: DATABASE_OWNER_URL, or the embedded database's. */
import type { Config } from '../config.js';
import { openDatabase } from '../data/openDatabase.js';
import { connectPostgres, type SqlClient } from '../data/SqlClient.js';

export async function withOwnerSql<T>(
  config: Config,
  work: (sql: SqlClient) => Promise<T>,
): Promise<T> {
  if (config.database.kind === 'embedded') {
    const db = await openDatabase(config.database, {
      transactionTimeoutMs: config.transactionTimeoutMs,
    });
    try {
      return await db.asOwner((sql) => work(sql));
    } finally {
      await db.close();
    }
  }
  if (!config.database.ownerUrl) {
    throw new Error('this command needs DATABASE_OWNER_URL (it runs as the owner role)');
  }
  const sql = await connectPostgres(config.database.ownerUrl);
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}
