/** DateTime and Decimal: strict parsing, so bad input is BAD_USER_INPUT before any resolver runs. */
import { GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';
import { badUserInput } from '../errors/clientErrors.js';

const DECIMAL = /^(0|[1-9]\d{0,11})(\.\d{1,2})?$/;

function parseDecimal(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else throw badUserInput('Decimal must be a string or number');
  if (!DECIMAL.test(text)) {
    throw badUserInput(
      'Decimal must be non-negative, below 10^12, with at most two fraction digits',
    );
  }
  return text;
}

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  serialize(value) {
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null && 'toFixed' in value) {
      return (value as { toFixed(d: number): string }).toFixed(2);
    }
    throw new Error('Decimal: cannot serialise value');
  },
  parseValue: parseDecimal,
  parseLiteral(ast: ValueNode) {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT)
      return parseDecimal(ast.value);
    throw badUserInput('Decimal must be a string or number');
  },
});

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-](\d{2}):(\d{2}))$/;

/** `Date` rolls impossible fields over (`2026-02-30` is 2 March); a strict parser refuses them. */
function validFields(match: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const lastDay = month === 2 && !leap ? 28 : daysInMonth;
  const offsetOk = match[8] === 'Z' || (Number(match[9]) <= 23 && Number(match[10]) <= 59);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= lastDay &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetOk
  );
}

function parseDateTime(value: unknown): Date {
  const match = typeof value === 'string' ? ISO.exec(value) : null;
  if (!match || !validFields(match)) throw badUserInput('DateTime must be an ISO-8601 string');
  const date = new Date(match[0]);
  if (Number.isNaN(date.getTime())) throw badUserInput('DateTime must be an ISO-8601 string');
  return date;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return new Date(value).toISOString();
    throw new Error('DateTime: cannot serialise value');
  },
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badUserInput('DateTime must be an ISO-8601 string');
    return parseDateTime(ast.value);
  },
});

/** Any JSON value, as is (audit events' `changes`). */
export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => valueFromASTUntyped(ast),
});
