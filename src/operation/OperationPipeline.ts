/**
 * One pipeline for both transports. HTTP (Apollo Server) and WebSocket (graphql-ws) each
 * parse the request their own way, then come here: the same validation rules and request
 * error codes, the same per-operation context ({@link Operation}), the same end.
 *
 * Subscriptions: the `subscribe` step runs in one operation scope, which ends (its read
 * transaction closes) once the event stream exists; every event is then resolved — and so
 * authorised again — in a fresh scope of its own, ended before the event is sent. When an
 * event's root field fails (access was revoked), that error is the last thing sent.
 */
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import { Operation, type OperationIdentity } from './Operation.js';
import type { OperationServices } from './OperationServices.js';
import { withoutSuggestions } from '../errors/formatError.js';
import { withCode } from './requestErrors.js';
import { validationRules, type ValidationRuleSet } from './validationRules.js';
import {
  checkQueryLimits,
  checkSource,
  parseOptionsFor,
  tokenLimitError,
  type LimitsVerdict,
  type QueryLimits,
} from './limits/QueryLimits.js';
import { illFormedTextError } from './wellFormedText.js';
import type { DocumentRequest } from './persistedQuery.js';
import {
  resolveDocument,
  type DocumentResolution,
  type TrustedDocuments,
} from './TrustedDocuments.js';
import type { Principal } from '../authn/Principal.js';

export interface OperationPipelineOptions {
  readonly schema: GraphQLSchema;
  readonly services: OperationServices;
  readonly introspection: boolean;
  readonly limits: QueryLimits;
  /** The documents that may run (TRUSTED_DOCUMENTS_FILE), or none: any document may. */
  readonly trustedDocuments: TrustedDocuments | undefined;
}

/** A parsed, validated operation ready to run, or the request errors that refuse it. */
export type Prepared =
  | {
      readonly kind: 'ok';
      readonly document: DocumentNode;
      readonly subscription: boolean;
      /** What running it costs (limits/measureOperation.ts): rate limits charge it. */
      readonly cost: number;
    }
  | { readonly kind: 'refused'; readonly errors: readonly GraphQLError[] };

const keepAsIs = (error: GraphQLError): GraphQLError => error;

export class OperationPipeline {
  readonly schema: GraphQLSchema;
  readonly rules: ValidationRuleSet;
  readonly limits: QueryLimits;
  readonly #services: OperationServices;
  readonly #introspection: boolean;
  readonly #trustedDocuments: TrustedDocuments | undefined;
  /**
   * Operations by their authorizer: Apollo Server hands resolvers and plugins a shallow
   * copy of the context, which shares it (one RequestAuthorizer per operation).
   */
  readonly #operations = new WeakMap<object, Operation>();

  constructor(options: OperationPipelineOptions) {
    this.schema = options.schema;
    this.#services = options.services;
    this.#introspection = options.introspection;
    this.rules = validationRules({ introspection: options.introspection });
    this.limits = options.limits;
    this.#trustedDocuments = options.trustedDocuments;
  }

  /**
   * Which document a request runs, or why it is refused: trusted documents and the
   * persisted-query checks (TrustedDocuments.ts). HTTP calls it before Apollo sees the
   * request, WebSocket before `prepare`.
   */
  resolveDocument(request: DocumentRequest, principal: Principal | null): DocumentResolution {
    return resolveDocument(request, principal, this.#trustedDocuments);
  }

  /**
   * The error for a document over the token, comment or nesting limit, from its text
   * alone (HTTP calls it before Apollo parses; `prepare` before parsing).
   */
  checkSource(query: string): GraphQLError | undefined {
    return checkSource(query, this.limits);
  }

  /**
   * The cost of running `operationName` of a parsed, valid `document` with `variables`, and
   * the errors that refuse it (none when it may run): a query limit it is over
   * (limits/QueryLimits.ts), or ill-formed text in its variables (wellFormedText.ts).
   */
  checkOperation(
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Readonly<Record<string, unknown>> | null | undefined,
  ): LimitsVerdict {
    const verdict = checkQueryLimits(this.schema, document, operationName, variables, this.limits);
    if (verdict.errors.length > 0) return verdict;
    const illFormed = illFormedTextError(variables);
    return illFormed ? { cost: verdict.cost, errors: [illFormed] } : verdict;
  }

  /** Starts an operation for `identity`; its context is what resolvers receive. */
  begin(identity: OperationIdentity): Operation {
    const operation = new Operation(this.#services, identity);
    this.#operations.set(operation.context.authz, operation);
    return operation;
  }

  /** The operation a context belongs to (contexts only come from `begin`). */
  operationOf(context: GatehouseContext): Operation {
    const operation = this.#operations.get(context.authz);
    if (!operation) throw new Error('OperationPipeline: a context that no operation began');
    return operation;
  }

  /**
   * Parses and validates a document as HTTP does (Apollo Server), with the same codes:
   * QUERY_TOO_MANY_TOKENS, GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED (without field
   * suggestions when introspection is off), OPERATION_RESOLUTION_FAILURE, then the other
   * query limits and the variables' text (see checkOperation).
   */
  prepare(
    query: string,
    operationName: string | null | undefined,
    variables: Readonly<Record<string, unknown>> | null | undefined,
  ): Prepared {
    const tooLarge = this.checkSource(query);
    if (tooLarge) return { kind: 'refused', errors: [tooLarge] };
    let document: DocumentNode;
    try {
      document = parse(query, parseOptionsFor(this.limits));
    } catch (error) {
      if (error instanceof GraphQLError) {
        const tooLong = tokenLimitError(error.message);
        return {
          kind: 'refused',
          errors: [tooLong ?? withCode(error, ErrorCode.GRAPHQL_PARSE_FAILED)],
        };
      }
      throw error;
    }
    const invalid = validate(this.schema, document, this.rules.all);
    if (invalid.length > 0) {
      return {
        kind: 'refused',
        errors: invalid.map((e) =>
          withCode(
            e,
            ErrorCode.GRAPHQL_VALIDATION_FAILED,
            this.#introspection ? e.message : withoutSuggestions(e.message),
          ),
        ),
      };
    }
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return {
        kind: 'refused',
        errors: [
          new GraphQLError(
            'Could not determine which operation to run (name it with operationName)',
            {
              extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE },
            },
          ),
        ],
      };
    }
    const verdict = this.checkOperation(document, operationName, variables);
    if (verdict.errors.length > 0) return { kind: 'refused', errors: verdict.errors };
    return {
      kind: 'ok',
      document,
      subscription: operation.operation === OperationTypeNode.SUBSCRIPTION,
      cost: verdict.cost,
    };
  }

  /** Executes a query or mutation and ends its operation (WebSocket; HTTP runs through Apollo). */
  async execute(args: ExecutionArgs): Promise<ExecutionResult> {
    const operation = this.operationOf(args.contextValue as GatehouseContext);
    let result: ExecutionResult;
    try {
      result = await execute(args);
    } catch (error) {
      await operation.complete({}, keepAsIs).catch(() => undefined);
      throw error;
    }
    // Errors without data are request errors: variables that do not coerce.
    if (!('data' in result) && result.errors) {
      result = { errors: result.errors.map((e) => withCode(e, ErrorCode.BAD_USER_INPUT)) };
    }
    return operation.complete(result, keepAsIs);
  }

  /**
   * Runs a subscription's `subscribe` step in its own scope, then resolves each event in a
   * fresh one (see the file comment). A refused subscribe step is its errors, no stream.
   */
  async subscribe(
    args: ExecutionArgs,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const operation = this.operationOf(args.contextValue as GatehouseContext);
    let source: AsyncIterable<unknown> | ExecutionResult;
    let user;
    try {
      source = await createSourceEventStream(args);
      user = isAsyncIterable(source) ? await operation.context.data?.currentUser() : undefined;
    } catch (error) {
      await operation.complete({}, keepAsIs).catch(() => undefined);
      throw error;
    }
    try {
      // The subscribe step's scope ends here (its denials are audited, its transaction closes).
      await operation.complete({}, keepAsIs);
    } catch (error) {
      if (isAsyncIterable(source)) await source[Symbol.asyncIterator]().return?.();
      throw error;
    }
    if (!isAsyncIterable(source)) {
      if (!('data' in source) && source.errors) {
        // Variables that do not coerce are request errors (no path); a resolver's error (at
        // its path) goes to the normalisation point as it is.
        return {
          errors: source.errors.map((e) =>
            e.extensions['code'] || e.path ? e : withCode(e, ErrorCode.BAD_USER_INPUT),
          ),
        };
      }
      return source;
    }
    return new EventResults(source[Symbol.asyncIterator](), async (event) => {
      const scope = operation.fork(user ?? null);
      let result: ExecutionResult;
      try {
        result = await execute({ ...args, rootValue: event, contextValue: scope.context });
      } catch (error) {
        await scope.complete({}, keepAsIs).catch(() => undefined);
        throw error;
      }
      return scope.complete(result, keepAsIs);
    });
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] ===
    'function'
  );
}

/**
 * The results of a subscription's events, one at a time (the next event is pulled only
 * after the previous result was taken, so a slow consumer slows the source instead of
 * filling a buffer). A result whose root field failed — access revoked, authorization
 * unavailable — is the last one: the source is closed after it.
 */
class EventResults implements AsyncIterableIterator<ExecutionResult> {
  readonly #source: AsyncIterator<unknown>;
  readonly #resolve: (event: unknown) => Promise<ExecutionResult>;
  #done = false;

  constructor(
    source: AsyncIterator<unknown>,
    resolve: (event: unknown) => Promise<ExecutionResult>,
  ) {
    this.#source = source;
    this.#resolve = resolve;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.#done) return { done: true, value: undefined };
    let step: IteratorResult<unknown>;
    try {
      step = await this.#source.next();
    } catch (error) {
      await this.return();
      throw error;
    }
    if (step.done) {
      this.#done = true;
      return { done: true, value: undefined };
    }
    const result = await this.#resolve(step.value);
    if (result.data === null || result.data === undefined) await this.return();
    return { done: false, value: result };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.#done) {
      this.#done = true;
      await this.#source.return?.();
    }
    return { done: true, value: undefined };
  }

  throw(): Promise<IteratorResult<ExecutionResult>> {
    return this.return();
  }
}
