/**
 * A real embedded SpiceDB behind a switch, to prove that Gatehouse fails closed: `down`
 * makes every call fail as an unreachable server does (gRPC Unavailable), `stalled` makes
 * every call hang (as a partitioned server does), `up` passes calls to the real SpiceDB.
 * Calls are counted per method, and the last request of each is kept.
 */
import {
  connectSpiceDb,
  type SpiceDbConnection,
  type SpiceDbPromiseClient,
} from '../../src/authz/spicedb/SpiceDbConnection.js';

export type SpiceDbMode = 'up' | 'down' | 'stalled';

export interface FaultySpiceDb {
  readonly connection: SpiceDbConnection;
  /** The real embedded SpiceDB underneath. */
  readonly real: SpiceDbConnection;
  mode: SpiceDbMode;
  /** Fail only relationship writes (the outbox relay), while checks still work. */
  failWrites: boolean;
  readonly calls: Map<string, number>;
  /** The last request of each method. */
  readonly lastRequest: Map<string, unknown>;
}

export async function faultySpiceDb(): Promise<FaultySpiceDb> {
  const real = await connectSpiceDb({ kind: 'embedded' });
  const state: FaultySpiceDb = {
    real,
    mode: 'up',
    failWrites: false,
    calls: new Map(),
    lastRequest: new Map(),
    connection: undefined as unknown as SpiceDbConnection,
  };
  const wrap = (client: SpiceDbPromiseClient): SpiceDbPromiseClient =>
    new Proxy(client, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        return (...args: unknown[]) => {
          state.calls.set(prop, (state.calls.get(prop) ?? 0) + 1);
          state.lastRequest.set(prop, args[0]);
          if (state.mode === 'down' || (state.failWrites && prop === 'writeRelationships')) {
            return Promise.reject(
              Object.assign(new Error('rpc error: code = Unavailable desc = connection refused'), {
                code: 14,
              }),
            );
          }
          if (state.mode === 'stalled') return new Promise(() => undefined);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  (state as { connection: SpiceDbConnection }).connection = {
    kind: 'embedded',
    permissions: wrap(real.permissions),
    schema: wrap(real.schema),
    close: () => real.close(),
  };
  return state;
}
