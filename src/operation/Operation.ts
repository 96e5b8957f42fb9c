/**
 * The life of one GraphQL operation, the same over HTTP and WebSocket: its context
 * (principal, unit of work, authorizer, loaders, audit log), built here; its commit hooks
 * (each mutation's audit event before COMMIT, the relationship relay after it); and its
 * end ({@link Operation.complete}): REJECT_OPERATION denials replace the result, the read
 * transaction closes, and what the operation leaves in the audit trail besides its
 * mutations (failures, denials, restricted reads) is appended before the result is sent.
 */
import { GraphQLError } from 'graphql';
import type { Principal } from '../authn/Principal.js';
import { OperationAuditLog, type PendingRead } from '../audit/OperationAuditLog.js';
import { RequestAuthorizer } from '../authz/RequestAuthorizer.js';
import { RequestUnitOfWork } from '../data/RequestUnitOfWork.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { User } from '../generated/prisma/client.js';
import type { GatehouseContext } from '../graphql/GatehouseContext.js';
import { RequestData } from '../graphql/RequestData.js';
import type { OperationServices } from './OperationServices.js';
import { lazyChild, type Logger } from '../observability/logger.js';

/** Who asks, from where: what the transport knows before the operation starts. */
export interface OperationIdentity {
  readonly requestId: string;
  readonly principal: Principal | null;
  /** The peer address of the HTTP request or WebSocket connection. */
  readonly clientIp: string;
  /** The W3C trace id of the request (`traceparent`), or null. */
  readonly traceId: string | null;
}

/** The shape both transports' results share (errors raw or formatted). */
export interface OperationResult<E> {
  data?: Record<string, unknown> | null;
  errors?: readonly E[];
}

/**
 * A field declared `onDeny: REJECT_OPERATION` was denied: the whole answer is its
 * denials, no data.
 */
export function applyRejections<E, R extends OperationResult<E>>(
  result: R,
  rejections: readonly GraphQLError[],
  toError: (error: GraphQLError) => E,
): R {
  return rejections.length > 0 ? ({ errors: rejections.map(toError) } as unknown as R) : result;
}

/** What a client sees of a restricted value whose audit event could not be written. */
function withheldError(path: ReadonlyArray<string | number>): GraphQLError {
  return new GraphQLError('This value is withheld: its read could not be audited', {
    path,
    extensions: { code: ErrorCode.AUDIT_UNAVAILABLE },
  });
}

/** Sets the value at `path` to null (a withheld restricted value; such fields are nullable). */
function nullAt(data: Record<string, unknown>, path: ReadonlyArray<string | number>): boolean {
  let node: unknown = data;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return false;
    node = (node as Record<string | number, unknown>)[key];
  }
  const last = path.at(-1);
  if (typeof node !== 'object' || node === null || last === undefined) return false;
  (node as Record<string | number, unknown>)[last] = null;
  return true;
}

export class Operation {
  readonly identity: OperationIdentity;
  readonly context: GatehouseContext;
  readonly #services: OperationServices;
  readonly #logger: Logger;
  #completed = false;

  constructor(services: OperationServices, identity: OperationIdentity, knownUser?: User | null) {
    this.#services = services;
    this.identity = identity;
    const { principal } = identity;
    // Every line the operation writes names its request, trace, tenant and caller.
    this.#logger = lazyChild(services.logger, {
      requestId: identity.requestId,
      ...(identity.traceId ? { traceId: identity.traceId } : {}),
      ...(principal ? { tenantId: principal.tenantId, subject: principal.subject } : {}),
    });
    const data = principal ? this.#dataFor(principal, knownUser) : null;
    const authorizer = { ...services.authorizer, logger: this.#logger };
    this.context = {
      requestId: identity.requestId,
      clientIp: identity.clientIp,
      principal,
      data,
      authz: services.createAuthorizer
        ? services.createAuthorizer(principal, data, authorizer)
        : new RequestAuthorizer(principal, data, authorizer),
      logger: this.#logger,
      secrets: services.secrets,
      apiKeyPepper: services.apiKeyPepper,
      policyData: services.policyData,
      auditSigner: services.auditSigner,
      auditFeed: services.auditFeed,
    };
  }

  #dataFor(principal: Principal, knownUser: User | null | undefined): RequestData {
    const s = this.#services;
    const { requestId } = this.identity;
    const uow = new RequestUnitOfWork(
      s.tenants,
      { tenantId: principal.tenantId, subject: principal.subject },
      {
        // Apply the mutation's relationships before its payload is authorised.
        afterCommit: () =>
          s.relay.drain().then(
            () => undefined,
            (error: unknown) => this.#logger.warn('outbox relay failed after commit', { error }),
          ),
      },
    );
    const audit = new OperationAuditLog({
      appender: s.auditAppender,
      commits: s.auditCommits,
      specs: s.audited.specs,
      tenantId: principal.tenantId,
      subject: principal.subject,
      actorKind: principal.kind,
      ip: this.identity.clientIp,
      requestId,
      traceId: this.identity.traceId,
      logger: this.#logger,
    });
    return new RequestData(uow, audit, knownUser, principal.kind, {
      identity: {
        tenantId: principal.tenantId,
        subject: principal.subject,
        email: principal.email ?? null,
        emailVerified: principal.emailVerified === true,
        name: principal.name ?? null,
        groups: principal.groups ?? null,
      },
      request: { requestId, traceId: this.identity.traceId, ip: this.identity.clientIp || null },
      jit: s.jitProvisioning,
    });
  }

  /**
   * A fresh operation for the same caller (each event of a subscription is resolved, and
   * authorised again, in one of its own). `knownUser` saves reading the account again.
   */
  fork(knownUser?: User | null): Operation {
    return new Operation(this.#services, { ...this.identity }, knownUser);
  }

  /**
   * Ends the operation; idempotent. `result` becomes the REJECT_OPERATION denials when a
   * field declared so was denied; the read transaction closes (rejects if that fails: the
   * transport answers a server error); the audit log is flushed, and a restricted value
   * whose event could not be written is replaced by null and an AUDIT_UNAVAILABLE error.
   * `toError` turns an error into the transport's form (formatted over HTTP).
   */
  async complete<E, R extends OperationResult<E>>(
    result: R,
    toError: (error: GraphQLError) => E,
  ): Promise<R> {
    if (this.#completed) return result;
    this.#completed = true;
    const { authz, data } = this.context;
    authz.flushTally();
    let out: R =
      authz.rejections.length > 0
        ? ({ errors: authz.rejections.map(toError) } as unknown as R)
        : result;
    if (!data) return out;
    await data.uow.finish();
    for (const refused of authz.refusedInputs) {
      data.audit
        .mutation(refused.field, refused.args)
        .failed(data.knownUserId ?? null, refused.error);
    }
    const { unrecordedReads } = await data.audit.flush(authz.denials, data.knownUserId);
    if (unrecordedReads.length > 0 && out.data) out = this.#withhold(out, unrecordedReads, toError);
    return out;
  }

  #withhold<E, R extends OperationResult<E>>(
    result: R,
    reads: readonly PendingRead[],
    toError: (error: GraphQLError) => E,
  ): R {
    const data = result.data!;
    const errors = [...(result.errors ?? [])];
    for (const { path } of reads) {
      if (nullAt(data, path)) errors.push(toError(withheldError(path)));
    }
    return { ...result, data, errors };
  }
}
