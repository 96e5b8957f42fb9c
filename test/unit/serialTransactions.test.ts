import { describe, expect, it } from 'vitest';
import { serialTransactions } from '../../src/data/serialTransactions.js';

/** A driver adapter whose transaction records how many of its calls overlap. */
function fakeFactory() {
  let inFlight = 0;
  const seen = { maxInFlight: 0, order: [] as string[], outside: 0 };
  const call = async (name: string, fail = false) => {
    inFlight += 1;
    seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen.order.push(name);
    inFlight -= 1;
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
  const transaction = {
    options: { usePhantomQuery: false },
    provider: 'postgres',
    queryRaw: (q: { sql: string }) => call(q.sql, q.sql === 'boom'),
    executeRaw: (q: { sql: string }) => call(q.sql),
    commit: () => call('COMMIT'),
    rollback: () => call('ROLLBACK'),
  };
  const adapter = {
    provider: 'postgres',
    queryRaw: async () => {
      seen.outside += 1;
      return Promise.resolve('outside');
    },
    startTransaction: () => Promise.resolve(transaction),
  };
  return { factory: { adapterName: 'fake', connect: () => Promise.resolve(adapter) }, seen };
}

describe('serialTransactions', () => {
  it('runs a transaction’s statements one at a time, in the order given, errors included', async () => {
    const { factory, seen } = fakeFactory();
    const adapter = await serialTransactions(factory).connect();
    const tx = await adapter.startTransaction();
    const results = await Promise.allSettled([
      tx.queryRaw({ sql: 'a' }),
      tx.executeRaw({ sql: 'b' }),
      tx.queryRaw({ sql: 'boom' }),
      tx.queryRaw({ sql: 'c' }),
    ]);
    await tx.commit();
    expect(seen.maxInFlight).toBe(1);
    expect(seen.order).toEqual(['a', 'b', 'boom', 'c', 'COMMIT']);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    // Everything else passes through unchanged.
    expect(tx.options).toEqual({ usePhantomQuery: false });
    expect(await adapter.queryRaw()).toBe('outside');
    expect(factory.adapterName).toBe('fake');
  });

  it('keeps two transactions independent', async () => {
    const { factory, seen } = fakeFactory();
    const adapter = await serialTransactions(factory).connect();
    const [one, two] = await Promise.all([adapter.startTransaction(), adapter.startTransaction()]);
    await Promise.all([one.queryRaw({ sql: '1a' }), one.queryRaw({ sql: '1b' })]);
    await two.queryRaw({ sql: '2a' });
    expect(seen.order).toEqual(['1a', '1b', '2a']);
  });
});
