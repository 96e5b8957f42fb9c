import { randomUUID } from 'node:crypto';
import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/graphql/cursor.js';
import { DateTimeScalar, DecimalScalar } from '../../src/graphql/scalars.js';

/** Runs `fn` and returns the GraphQLError it throws (failing the test otherwise). */
function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return error as GraphQLError;
  }
  throw new Error('expected a GraphQLError, nothing was thrown');
}

function expectBadUserInput(fn: () => unknown): void {
  expect(thrown(fn).extensions['code']).toBe('BAD_USER_INPUT');
}

const literal = (kind: Kind.STRING | Kind.INT | Kind.FLOAT, value: string): ValueNode => ({
  kind,
  value,
});

describe('Decimal scalar', () => {
  it.each([
    ['0', '0'],
    ['0.5', '0.5'],
    ['0.00', '0.00'],
    ['1234.50', '1234.50'],
    ['999999999999.99', '999999999999.99'],
    [' 12 ', '12'],
  ])('parses the string %j as %j', (input, expected) => {
    expect(DecimalScalar.parseValue(input)).toBe(expected);
  });

  it.each([
    [0, '0'],
    [-0, '0'],
    [99, '99'],
    [1234.5, '1234.5'],
    [0.25, '0.25'],
  ])('parses the number %d as %j', (input, expected) => {
    expect(DecimalScalar.parseValue(input)).toBe(expected);
  });

  it.each([
    '1e3',
    '-0',
    '-1',
    '01',
    '00.5',
    '.5',
    '5.',
    '1.234',
    '1,5',
    'abc',
    '',
    '   ',
    '+1',
    '0x10',
    '1000000000000',
    '١٢',
    'Infinity',
    'NaN',
  ])('refuses the string %j with BAD_USER_INPUT', (input) => {
    expectBadUserInput(() => DecimalScalar.parseValue(input));
  });

  it.each([
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1,
    1e3 + 0.001,
    0.1 + 0.2,
    1e21,
    1e-7,
    1_000_000_000_000,
  ])('refuses the number %d with BAD_USER_INPUT', (input) => {
    expectBadUserInput(() => DecimalScalar.parseValue(input));
  });

  it.each([true, null, undefined, {}, [], 10n])('refuses the non-numeric value %s', (input) => {
    expectBadUserInput(() => DecimalScalar.parseValue(input));
  });

  it('parses string, int and float literals the same way as values', () => {
    expect(DecimalScalar.parseLiteral(literal(Kind.STRING, '12.30'))).toBe('12.30');
    expect(DecimalScalar.parseLiteral(literal(Kind.INT, '99'))).toBe('99');
    expect(DecimalScalar.parseLiteral(literal(Kind.FLOAT, '0.5'))).toBe('0.5');
    expectBadUserInput(() => DecimalScalar.parseLiteral(literal(Kind.FLOAT, '1e3')));
    expectBadUserInput(() => DecimalScalar.parseLiteral(literal(Kind.INT, '-1')));
    expectBadUserInput(() => DecimalScalar.parseLiteral(literal(Kind.STRING, '1.234')));
  });

  it('refuses other literal kinds', () => {
    expectBadUserInput(() => DecimalScalar.parseLiteral({ kind: Kind.BOOLEAN, value: true }));
    expectBadUserInput(() => DecimalScalar.parseLiteral({ kind: Kind.NULL }));
    expectBadUserInput(() => DecimalScalar.parseLiteral({ kind: Kind.ENUM, value: 'TEN' }));
  });

  it('serialises strings as they are and decimal objects with two fraction digits', () => {
    expect(DecimalScalar.serialize('25000.00')).toBe('25000.00');
    const decimalLike = { toFixed: (digits: number) => (5).toFixed(digits) };
    expect(DecimalScalar.serialize(decimalLike)).toBe('5.00');
  });

  it('refuses to serialise anything else (a server fault, not a client error)', () => {
    for (const value of [5, null, undefined, {}, true]) {
      expect(() => DecimalScalar.serialize(value)).toThrow(/cannot serialise/);
    }
  });
});

describe('DateTime scalar', () => {
  it.each([
    ['2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T10:00:00Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T10:00:00.123456Z', '2026-11-22T10:00:00.123Z'],
    ['2026-11-22T11:30:00+01:30', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T05:00:00-05:00', '2026-11-22T10:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T23:59:59.999Z', '2000-02-29T23:59:59.999Z'],
  ])('parses %j', (input, iso) => {
    const parsed = DateTimeScalar.parseValue(input);
    expect(parsed).toBeInstanceOf(Date);
    expect(parsed.toISOString()).toBe(iso);
  });

  it.each([
    '2026-11-22',
    '2026-11-22 10:00:00Z',
    '2026-11-22T10:00:00',
    '2026-11-22T10:00Z',
    '2026-11-22T10:00:00.1234567Z',
    '22/11/2026',
    'now',
    '',
    '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-11-00T00:00:00Z',
    '2026-11-31T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-11-22T24:00:00Z',
    '2026-11-22T10:60:00Z',
    '2026-11-22T10:00:60Z',
    '2026-11-22T10:00:00+24:00',
    '2026-11-22T10:00:00+01:60',
  ])('refuses %j with BAD_USER_INPUT', (input) => {
    expectBadUserInput(() => DateTimeScalar.parseValue(input));
  });

  it.each([0, 1_700_000_000_000, null, undefined, new Date(0), {}])(
    'refuses the non-string value %j',
    (input) => {
      expectBadUserInput(() => DateTimeScalar.parseValue(input));
    },
  );

  it('parses string literals only', () => {
    const parsed = DateTimeScalar.parseLiteral(literal(Kind.STRING, '2026-11-22T10:00:00Z'));
    expect(parsed.toISOString()).toBe('2026-11-22T10:00:00.000Z');
    expectBadUserInput(() => DateTimeScalar.parseLiteral(literal(Kind.INT, '1700000000')));
    expectBadUserInput(() => DateTimeScalar.parseLiteral(literal(Kind.STRING, '2026-02-30')));
  });

  it('serialises dates and date strings as ISO-8601 in UTC', () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2026, 10, 22, 10)))).toBe(
      '2026-11-22T10:00:00.000Z',
    );
    expect(DateTimeScalar.serialize('2026-11-22T11:00:00+01:00')).toBe('2026-11-22T10:00:00.000Z');
    expect(() => DateTimeScalar.serialize(42)).toThrow(/cannot serialise/);
  });
});

describe('cursor', () => {
  const position = {
    createdAt: new Date('2026-11-22T10:00:00.123Z'),
    id: '00000000-0000-4000-c000-000000000500',
  };
  const raw = (value: unknown): string =>
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  function expectInvalidCursor(cursor: string): void {
    const error = thrown(() => decodeCursor(cursor));
    expect(error.message).toBe('Invalid cursor');
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'after' });
  }

  it('writes the form cursors always had: base64url of JSON [time, id]', () => {
    for (const p of [position, { createdAt: new Date(0), id: randomUUID() }]) {
      const json = JSON.stringify([p.createdAt.toISOString(), p.id]);
      expect(encodeCursor(p)).toBe(Buffer.from(json).toString('base64url'));
    }
  });

  it('round-trips a position', () => {
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('round-trips the extremes of millisecond timestamps in four-digit years', () => {
    for (const iso of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      const p = { createdAt: new Date(iso), id: 'ffffffff-ffff-4fff-bfff-ffffffffffff' };
      expect(decodeCursor(encodeCursor(p))).toEqual(p);
    }
  });

  it('is opaque base64url: different positions give different cursors', () => {
    const other = encodeCursor({ ...position, id: '00000000-0000-4000-c000-000000000501' });
    expect(other).not.toBe(encodeCursor(position));
  });

  it('refuses a tampered cursor', () => {
    const cursor = encodeCursor(position);
    // Flip characters inside the encoded JSON: the result no longer decodes to the shape.
    const tampered = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;
    expectInvalidCursor(tampered);
    expectInvalidCursor(cursor.slice(0, -4));
    expectInvalidCursor(raw([position.createdAt.toISOString(), `${position.id.slice(0, -1)}g`]));
    expectInvalidCursor(raw([position.createdAt.toISOString(), position.id.toUpperCase()]));
  });

  it('refuses input that is not base64 JSON', () => {
    for (const cursor of ['', '!!!!', 'not a cursor', '%%%', raw('hello'), raw('[')]) {
      expectInvalidCursor(cursor);
    }
  });

  it('refuses JSON of the wrong shape', () => {
    for (const value of [
      {},
      { createdAt: position.createdAt.toISOString(), id: position.id },
      [],
      [position.createdAt.toISOString()],
      [position.createdAt.toISOString(), position.id, 'extra'],
      [position.id, position.createdAt.toISOString()],
      [position.createdAt.getTime(), position.id],
      [position.createdAt.toISOString(), 42],
      ['not a date', position.id],
      null,
      'string',
      42,
    ]) {
      expectInvalidCursor(raw(value));
    }
  });

  it('refuses timestamps PostgreSQL cannot compare with or that are not canonical', () => {
    for (const createdAt of [
      '-271821-04-20T00:00:00.000Z',
      '-000100-01-01T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '+010000-01-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
      '2026',
      '2026-11-22',
      'Sun Nov 22 2026',
    ]) {
      expectInvalidCursor(raw([createdAt, position.id]));
    }
  });

  it('refuses cursors longer than 200 characters, even if they would decode', () => {
    expectInvalidCursor('A'.repeat(201));
    const padded = raw([`${position.createdAt.toISOString()}${' '.repeat(200)}`, position.id]);
    expect(padded.length).toBeGreaterThan(200);
    expectInvalidCursor(padded);
  });
});
