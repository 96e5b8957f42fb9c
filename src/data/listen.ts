/**
 * PostgreSQL notifications (LISTEN/NOTIFY) on a connection of their own, on a PostgreSQL
 * server or on the embedded database. A notification is delivered when the transaction
 * that sent it commits; the payload is all it carries.
 */
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../observability/logger.js';

/** Subscribes to `channel`; `onReconnect` runs after a dropped connection came back. */
export type Listen = (
  channel: string,
  onNotify: (payload: string) => void,
  onReconnect: () => void,
) => Promise<{ close(): Promise<void> }>;

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): void {
  // Programmer error: channels are constants of this code base.
  if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
}

/** On the embedded database: its one connection listens too. */
export function pgliteListen(db: PGlite): Listen {
  return async (channel, onNotify) => {
    checkChannel(channel);
    const unlisten = await db.listen(channel, onNotify);
    return { close: () => unlisten() };
  };
}

const MAX_BACKOFF_MS = 30_000;

/**
 * On a PostgreSQL server: a dedicated client (the app role), reconnected with backoff when
 * it drops; after each reconnection `onReconnect` lets the caller catch up on what it may
 * have missed.
 */
export function postgresListen(url: string, logger: Logger): Listen {
  return async (channel, onNotify, onReconnect) => {
    checkChannel(channel);
    let client: pg.Client | undefined;
    let closed = false;
    let retry: NodeJS.Timeout | undefined;
    let attempts = 0;

    const connect = async (): Promise<void> => {
      const next = new pg.Client({ connectionString: url, application_name: 'gatehouse-listen' });
      next.on('notification', (message) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      });
      next.on('error', (error) => {
        logger.warn('notification connection failed; reconnecting', { channel, error });
        void next.end().catch(() => undefined);
        if (client === next) schedule();
      });
      next.on('end', () => {
        if (client === next) schedule();
      });
      await next.connect();
      await next.query(`listen ${channel}`);
      client = next;
      attempts = 0;
    };
    const schedule = (): void => {
      if (closed || retry) return;
      client = undefined;
      const delay = Math.min(250 * 2 ** attempts, MAX_BACKOFF_MS);
      attempts += 1;
      retry = setTimeout(() => {
        retry = undefined;
        connect().then(onReconnect, (error: unknown) => {
          logger.warn('notification connection could not reconnect; retrying', { channel, error });
          schedule();
        });
      }, delay);
      retry.unref();
    };

    await connect();
    return {
      async close() {
        closed = true;
        if (retry) clearTimeout(retry);
        await client?.end().catch(() => undefined);
      },
    };
  };
}
