/** DateTime and Decimal: strict parsing, so bad input is BAD_USER_INPUT before any resolver runs. */
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
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

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO.test(value))
    throw badUserInput('DateTime must be an ISO-8601 string');
  const date = new Date(value);
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
