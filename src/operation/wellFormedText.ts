/**
 * Every string a client sends in variables must be well-formed Unicode. A lone UTF-16
 * surrogate (`"\ud800"` in JSON) cannot be stored as sent (PostgreSQL text is UTF-8: it
 * would become U+FFFD), hashed or handed to the policies as JSON, so it is refused as
 * BAD_USER_INPUT naming where it is, before anything runs. (The document itself is
 * checked by graphql-js's lexer, which refuses such strings and escapes.)
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors/ErrorCode.js';

/** The error for the first ill-formed string (or object key) in `variables`, if any. */
export function illFormedTextError(
  variables: Readonly<Record<string, unknown>> | null | undefined,
): GraphQLError | undefined {
  if (!variables) return undefined;
  // Iterative: the nesting of a JSON body is the client's to choose.
  const pending: Array<[path: string, value: unknown]> = Object.entries(variables).map(
    ([name, value]) => [name, value],
  );
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [path, value] = next;
    let bad: string | undefined;
    if (typeof value === 'string') {
      if (!value.isWellFormed()) bad = path;
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => pending.push([`${path}[${i}]`, item]));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (!key.isWellFormed()) bad = `${path} (a field name)`;
        pending.push([`${path}.${key.toWellFormed()}`, item]);
      }
    }
    if (bad !== undefined) {
      const variable = path.split(/[.[]/)[0] ?? path;
      return new GraphQLError(
        `Variable "$${variable.toWellFormed()}" has invalid Unicode at "${bad.toWellFormed()}" (a lone UTF-16 surrogate); send well-formed text`,
        { extensions: { code: ErrorCode.BAD_USER_INPUT, field: bad.toWellFormed() } },
      );
    }
  }
  return undefined;
}
