/**
 * Authorization decisions and the client errors they become. Every denial names the gate
 * that denied, the field (its schema coordinate) and, when the decision was about an object
 * an argument names, that argument; it carries a decision id (logged with the reasons, and
 * later the audit row), so a client report can be traced without the server revealing why
 * to the client — or whether the object exists.
 */
import { randomUUID } from 'node:crypto';
import { GraphQLError, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { ErrorCode } from '../errors/ErrorCode.js';

export type Gate = 'authentication' | 'scope' | 'relationship' | 'policy';

export type Decision =
  | { readonly kind: 'allow' }
  | {
      readonly kind: 'deny';
      readonly gate: Gate;
      readonly code:
        | typeof ErrorCode.FORBIDDEN
        | typeof ErrorCode.AUTHZ_UNAVAILABLE
        | typeof ErrorCode.UNAUTHENTICATED;
      readonly reasons: readonly string[];
      /** A client-visible reason about the caller's own state (e.g. NO_ACCOUNT). */
      readonly reason?: string;
      /**
       * The argument (or input field path, `input.teamId`) naming the object decided on,
       * when the decision was about such an object. It comes from the schema, never from
       * the object: an id that names nothing is denied with the same argument.
       */
      readonly argument?: string;
    };

export type Denial = Extract<Decision, { kind: 'deny' }>;

export const ALLOW: Decision = { kind: 'allow' };

export function deny(gate: Gate, reasons: readonly string[]): Denial {
  return { kind: 'deny', gate, code: ErrorCode.FORBIDDEN, reasons };
}

export function unavailable(gate: Gate, reasons: readonly string[]): Denial {
  return { kind: 'deny', gate, code: ErrorCode.AUTHZ_UNAVAILABLE, reasons };
}

/** Thrown by the permission checker when SpiceDB fails or exceeds its deadline. */
export class AuthzUnavailableError extends Error {
  override readonly name = 'AuthzUnavailableError';
}

/**
 * `coordinate` is the schema coordinate of the field decided (`Workflow.amount`,
 * `Mutation.approveWorkflow`): with `argument`, what a client branches on without parsing
 * messages. `at`, the field's resolve info, locates the error where graphql-js would (its
 * nodes and response path), so graphql-js uses it as it is instead of wrapping it in a
 * second error — a list can deny a field on every row.
 */
export function denialError(
  decision: Denial,
  options: { explain: boolean; coordinate?: string; at?: GraphQLResolveInfo },
): GraphQLError {
  const decisionId = randomUUID();
  const message =
    decision.code === ErrorCode.AUTHZ_UNAVAILABLE
      ? 'Authorization is temporarily unavailable'
      : decision.code === ErrorCode.UNAUTHENTICATED
        ? 'Authentication required'
        : 'Not allowed';
  const extensions = {
    code: decision.code,
    gate: decision.gate,
    ...(options.coordinate ? { coordinate: options.coordinate } : {}),
    ...(decision.argument ? { argument: decision.argument } : {}),
    decisionId,
    ...(decision.reason ? { reason: decision.reason } : {}),
    ...(options.explain ? { explain: decision.reasons } : {}),
  };
  // A denial is an outcome, not a fault: no stack trace. (A list can deny a field on every
  // row; each captured stack was formatted — through source maps, which production enables —
  // when an error wrapped it.)
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const at = options.at;
    return new GraphQLError(
      message,
      at
        ? { nodes: at.fieldNodes, path: responsePathAsArray(at.path), extensions }
        : { extensions },
    );
  } finally {
    Error.stackTraceLimit = limit;
  }
}
