import { describe, expect, it } from 'vitest';
import { preparedStatementNames } from '../../src/data/preparedStatements.js';

const statement = (sql: string, args: unknown[] = [1]) => ({ sql, args });

describe('preparedStatementNames', () => {
  it('gives a text the same name every time, and another text another name', () => {
    const name = preparedStatementNames(10);
    const a = name(statement('select $1::int'));
    const b = name(statement('select $1::text'));
    expect(a).toMatch(/^gatehouse_\d+$/);
    expect(b).toMatch(/^gatehouse_\d+$/);
    expect(a).not.toBe(b);
    expect(name(statement('select $1::int', [2]))).toBe(a);
    expect(name(statement('select $1::text', ['x']))).toBe(b);
  });

  it('leaves statements without parameters unnamed', () => {
    const name = preparedStatementNames(10);
    expect(name(statement('BEGIN', []))).toBe('');
    expect(name(statement('COMMIT', []))).toBe('');
  });

  it('names at most `max` texts; later ones run unnamed, the named ones keep their names', () => {
    const name = preparedStatementNames(2);
    const first = name(statement('select $1::int'));
    const second = name(statement('select $1::text'));
    expect(name(statement('select $1::uuid'))).toBe('');
    expect(name(statement('select $1::uuid'))).toBe('');
    expect(name(statement('select $1::int'))).toBe(first);
    expect(name(statement('select $1::text'))).toBe(second);
  });

  it('names nothing with max 0', () => {
    const name = preparedStatementNames(0);
    expect(name(statement('select $1::int'))).toBe('');
  });
});
