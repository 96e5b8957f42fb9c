/**
 * A setup file of every test file: the run fails when `pg` warns that a client was given a
 * query while it was executing one (two statements at once on one connection, which pg 9
 * refuses; src/data/serialTransactions.ts keeps transactions from doing it). Node prints
 * each kind of warning once per process, so it is caught here, not read from the output.
 */
import { afterAll, expect } from 'vitest';

const seen: string[] = [];
process.on('warning', (warning) => {
  if (
    warning.name === 'DeprecationWarning' &&
    warning.message.includes('already executing a query')
  ) {
    seen.push(warning.stack ?? warning.message);
  }
});

afterAll(() => {
  expect(seen, 'two queries at once on one pg client').toEqual([]);
});
