/**
 * Query limits, checked before any authorization or database work on both transports:
 * tokens while parsing (so a 1 MB document is refused without building its tree), then
 * depth, aliases, directives and cost of the operation to run (measureOperation.ts).
 * A refused document is HTTP 400 with a stable code per limit kind and a message naming
 * the limit and the value found; nothing executes.
 *
 * Own checks rather than graphql-armor's plugins: the cost must multiply by each page's
 * `first` (armor's cost limit has no notion of page sizes), the codes must be stable per
 * limit on HTTP and WebSocket alike (Apollo Server replaces the code of every validation
 * error with GRAPHQL_VALIDATION_FAILED), and variables must be known (a page size is often
 * one) — so the check runs once the operation is resolved, not as a validation rule.
 */
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
} from 'graphql';
import type { QueryLimitsConfig } from '../../config.js';
import { ErrorCode } from '../../errors/ErrorCode.js';
import { measureOperation } from './measureOperation.js';
import { scanSource } from './scanSource.js';

/** The configured limits (config.ts) and the largest page the schema serves. */
export interface QueryLimits extends QueryLimitsConfig {
  /** The largest page a `first`/`last` may ask for (an unknown page size counts as this). */
  readonly maxPage: number;
  /** The page size of a connection asked without `first` or `last`. */
  readonly defaultPage: number;
}

function refused(
  code: ErrorCode,
  message: string,
  limit: number,
  found: number | string,
): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, limit, found, http: { status: 400 } },
  });
}

/** graphql-js's parse options for the limits: tokens and comments both count. */
export function parseOptionsFor(limits: Pick<QueryLimits, 'maxTokens'>): ParseOptions {
  return { maxLexicalTokens: limits.maxTokens, maxComments: limits.maxTokens };
}

// graphql-js 16.15 writes "more that" for tokens and "more than" for comments.
const TOO_LONG =
  /^Syntax Error: Document contains more tha[nt] (\d+) (tokens|comments)\. Parsing aborted\.$/;

/**
 * The QUERY_TOO_MANY_TOKENS error for a parse error that graphql-js raised because the
 * document exceeded a limit of {@link parseOptionsFor}, or undefined for any other error.
 */
export function tokenLimitError(message: string): GraphQLError | undefined {
  const match = TOO_LONG.exec(message);
  return match ? tooLong(Number(match[1]), match[2] ?? 'tokens') : undefined;
}

function tooLong(limit: number, what: string): GraphQLError {
  return refused(
    ErrorCode.QUERY_TOO_MANY_TOKENS,
    `The document has more than ${limit} ${what}, the limit (QUERY_MAX_TOKENS)`,
    limit,
    `more than ${limit}`,
  );
}

/**
 * Brackets nested this deep are refused before parsing (see scanSource.ts): far above any
 * depth limit (selections, arguments and lists nest inside it), far below where the
 * parser's recursion would overflow.
 */
function nestingLimitOf(limits: Pick<QueryLimits, 'maxDepth'>): number {
  return Math.max(64, 4 * limits.maxDepth);
}

/**
 * The error for a document over the token, comment or nesting limit, found by scanning
 * its text before parsing (see scanSource.ts), or undefined.
 */
export function checkSource(
  text: string,
  limits: Pick<QueryLimits, 'maxDepth' | 'maxTokens'>,
): GraphQLError | undefined {
  const nesting = nestingLimitOf(limits);
  const found = scanSource(text, {
    maxNesting: nesting,
    maxTokens: limits.maxTokens,
    maxComments: limits.maxTokens,
  });
  switch (found.kind) {
    case 'within':
      return undefined;
    case 'tooDeep':
      return refused(
        ErrorCode.QUERY_TOO_DEEP,
        `The document nests more than ${nesting} levels deep (QUERY_MAX_DEPTH allows ${limits.maxDepth} fields)`,
        limits.maxDepth,
        `more than ${nesting} levels`,
      );
    case 'tooManyTokens':
    case 'tooManyComments':
      return tooLong(limits.maxTokens, found.kind === 'tooManyTokens' ? 'tokens' : 'comments');
  }
}

/** What running an operation would cost, and the limits it is over (none: it may run). */
export interface LimitsVerdict {
  readonly cost: number;
  readonly errors: GraphQLError[];
}

/** The cost and the errors (none when within every limit) of running `operationName` of `document`. */
export function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  limits: QueryLimits,
): LimitsVerdict {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: OperationDefinitionNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) {
      if (!operationName || definition.name?.value === operationName) operation ??= definition;
    }
  }
  if (!operation) return { cost: 0, errors: [] };
  const m = measureOperation(schema, operation, fragments, variables ?? {}, {
    listSize: limits.listSize,
    maxPage: limits.maxPage,
    defaultPage: limits.defaultPage,
    stopAt: { depth: limits.maxDepth, cost: limits.maxCost },
  });
  const checks: ReadonlyArray<
    [ErrorCode, number, number, (found: number, limit: number) => string]
  > = [
    [
      ErrorCode.QUERY_TOO_DEEP,
      m.depth,
      limits.maxDepth,
      (f, l) => `Query depth ${f} exceeds the limit of ${l} (QUERY_MAX_DEPTH)`,
    ],
    [
      ErrorCode.QUERY_TOO_MANY_ALIASES,
      m.aliases,
      limits.maxAliases,
      (f, l) => `${f} aliases exceed the limit of ${l} (QUERY_MAX_ALIASES)`,
    ],
    [
      ErrorCode.QUERY_TOO_MANY_DIRECTIVES,
      m.directives,
      limits.maxDirectives,
      (f, l) => `${f} directives exceed the limit of ${l} (QUERY_MAX_DIRECTIVES)`,
    ],
    [
      ErrorCode.QUERY_TOO_COSTLY,
      m.cost,
      limits.maxCost,
      (f, l) => `Query cost ${f} exceeds the limit of ${l} (QUERY_MAX_COST)`,
    ],
  ];
  const errors: GraphQLError[] = [];
  for (const [code, found, limit, message] of checks) {
    if (found > limit) errors.push(refused(code, message(found, limit), limit, found));
  }
  return { cost: m.cost, errors };
}
