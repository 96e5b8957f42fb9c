/**
 * One statement at a time on a transaction's connection. An operation's resolvers run in
 * parallel (DataLoaders, sibling fields), and Prisma hands their statements to the driver
 * adapter as they come; on one interactive transaction that is one `pg` client, which
 * queues them itself today but warns (DeprecationWarning: "Calling client.query() when the
 * client is already executing a query") and will refuse them in pg 9. This wraps a driver
 * adapter factory so every transaction it starts runs its statements — and its commit or
 * rollback — strictly in order, each after the previous one settled. Outside transactions
 * each statement has a pool connection of its own and nothing changes.
 */

/** What this needs of a driver adapter factory (Prisma's SqlDriverAdapterFactory). */
interface AdapterFactory {
  connect(): Promise<object>;
}

/** The methods of a transaction that talk to its connection. */
const ON_THE_CONNECTION = new Set([
  'queryRaw',
  'executeRaw',
  'commit',
  'rollback',
  'createSavepoint',
  'rollbackToSavepoint',
  'releaseSavepoint',
]);

/** A transaction whose connection methods are called one after another. */
function serialised<T extends object>(transaction: T): T {
  let tail: Promise<unknown> = Promise.resolve();
  return new Proxy(transaction, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !ON_THE_CONNECTION.has(property)) return value;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const run = tail.then(() => (value as (...a: unknown[]) => unknown).apply(target, args));
        tail = run.catch(() => undefined);
        return run;
      };
    },
  });
}

function withSerialTransactions<T extends object>(adapter: T): T {
  return new Proxy(adapter, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'startTransaction' || typeof value !== 'function') return value;
      const start = value as (...a: unknown[]) => Promise<object>;
      return async (...args: unknown[]) => serialised<object>(await start.apply(target, args));
    },
  });
}

/** `factory`, whose adapters' transactions run one statement at a time. */
export function serialTransactions<F extends AdapterFactory>(factory: F): F {
  return new Proxy(factory, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'connect' || typeof value !== 'function') return value;
      return async () =>
        withSerialTransactions<object>(await (value as () => Promise<object>).apply(target));
    },
  });
}
