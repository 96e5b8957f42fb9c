/**
 * Apollo Client 4 reports every failure as an `ErrorLike`: GraphQL errors together as
 * CombinedGraphQLErrors (their `extensions.code` is Gatehouse's stable code, README "Error
 * codes"), HTTP failures as ServerError, and so on.
 */
import { CombinedGraphQLErrors, type ErrorLike } from '@apollo/client';

/** An Error to throw for `error` (or for `fallback` when there is none). */
export function asError(error: ErrorLike | undefined, fallback: string): Error {
  if (error instanceof Error) return error;
  return new Error(error?.message ?? fallback);
}

/**
 * The code of each GraphQL error, by its path (`workflows.edges.0.node.amount`): where a
 * gate denied a cell its value is null and this says why.
 */
export function errorCodesByPath(error: unknown): Map<string, string> {
  const codes = new Map<string, string>();
  if (!CombinedGraphQLErrors.is(error)) return codes;
  for (const e of error.errors) {
    const code = e.extensions?.['code'];
    codes.set((e.path ?? []).join('.'), typeof code === 'string' ? code : 'ERROR');
  }
  return codes;
}
