/**
 * Tenant data for one operation: the operation's unit of work plus batching loaders, so a
 * list of 100 workflows costs one query per related type, not one per row. Every query
 * still names the tenant (index use); RLS is what guarantees isolation.
 */
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import type { RequestUnitOfWork } from '../data/RequestUnitOfWork.js';
import type { TenantTx } from '../data/TenantDatabase.js';
import type {
  Approval,
  Team,
  TeamMembership,
  User,
  WorkflowShare,
} from '../generated/prisma/client.js';
import { codedError, forbidden } from '../errors/clientErrors.js';
import { ErrorCode } from '../errors/ErrorCode.js';
import type { Actor } from '../domain/workflowCommands.js';
import type { RecordedWrites } from '../authz/PermissionChecker.js';
import type { AuthorizationData, CallerAccount } from '../authz/AuthorizationData.js';
import type { OrgRole, ShareRole } from '../generated/prisma/enums.js';
import type { Principal } from '../authn/Principal.js';
import type { OperationAuditLog } from '../audit/OperationAuditLog.js';
import type { Changed } from '../domain/Changed.js';
import type { TenantPolicySettings } from '../authz/opa/PolicyData.js';
import { storedForm } from '../authz/opa/storedForm.js';
import type { Sealed } from '../domain/secretBox.js';
import { toPolicyData } from '../domain/policySettings.js';
import { API_KEY_COLUMNS, type ApiKeyModel } from '../domain/identity/serviceAccountModel.js';
import {
  applySignIn,
  isSignInRace,
  planSignIn,
  type SignInIdentity,
  type SignInRequest,
} from '../domain/identity/signIn.js';

function byKey<T, K>(
  keys: readonly K[],
  rows: readonly T[],
  keyOf: (row: T) => K,
): Array<T | null> {
  const map = new Map<K, T>();
  for (const row of rows) map.set(keyOf(row), row);
  return keys.map((k) => map.get(k) ?? null);
}

function groupByKey<T, K>(keys: readonly K[], rows: readonly T[], keyOf: (row: T) => K): T[][] {
  const map = new Map<K, T[]>();
  for (const row of rows) {
    const k = keyOf(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return keys.map((k) => map.get(k) ?? []);
}

/** The tables of the `Node` types (schema/node.graphql), by GraphQL type name. */
const NODE_TABLES = {
  Workflow: 'workflows',
  User: 'users',
  Team: 'teams',
  Credential: 'credentials',
} as const;

/** A GraphQL type that implements `Node`. */
export type NodeTypeName = keyof typeof NODE_TABLES;

const NODE_TYPES_SQL = Object.entries(NODE_TABLES)
  .map(
    ([type, table]) =>
      `select id::text as id, '${type}' as type from ${table} where tenant_id = $1::uuid and id = any($2::uuid[])`,
  )
  .join(' union all ');

/** A row of `workflow_shares` as the shares loader reads it. */
interface ShareRow {
  readonly workflow_id: string;
  readonly user_id: string;
  readonly role: ShareRole;
  readonly created_at: Date;
}

/** The caller's account, with its roles typed as stored (see AuthorizationData). */
export interface Caller extends CallerAccount {
  readonly roles: readonly OrgRole[];
}

/** What a user's token may do to their account on this request (domain/identity/signIn.ts). */
export interface SignInOptions {
  readonly identity: SignInIdentity;
  readonly request: SignInRequest;
  /** AUTH_JIT_PROVISIONING. */
  readonly jit: boolean;
}

/** A service principal's subject: `service:<service account id>` (authn/ApiKeyVerifier.ts). */
const SERVICE_SUBJECT = 'service:';

export class RequestData implements AuthorizationData {
  readonly uow: RequestUnitOfWork;
  readonly tenantId: string;
  /** What this operation leaves in the audit trail (gate 5). */
  readonly audit: OperationAuditLog;

  /** The principal's kind: a user, or a service account (an API key). */
  readonly callerKind: Principal['kind'];

  readonly #signIn: SignInOptions | undefined;

  /**
   * `knownUser`: the caller's account, already read (a subscription's events);
   * `callerKind`: the principal's kind (a service principal has no user account);
   * `signIn`: the token's identity, applied to the account when it is first read.
   */
  constructor(
    uow: RequestUnitOfWork,
    audit: OperationAuditLog,
    knownUser?: User | null,
    callerKind: Principal['kind'] = 'user',
    signIn?: SignInOptions,
  ) {
    this.uow = uow;
    this.tenantId = uow.scope.tenantId;
    this.audit = audit;
    this.callerKind = callerKind;
    this.#signIn = callerKind === 'user' ? signIn : undefined;
    if (callerKind === 'service') {
      // Never a user account, whatever user might have a subject `service:…`.
      this.#currentUser = Promise.resolve(null);
      this.#knownUserId = null;
    } else if (knownUser !== undefined) {
      this.#currentUser = Promise.resolve(knownUser);
      this.#knownUserId = knownUser?.id ?? null;
    }
  }

  tx(): Promise<TenantTx> {
    return this.uow.tx();
  }

  readonly users = new DataLoader<string, User | null>(async (ids) => {
    const rows = await (
      await this.tx()
    ).user.findMany({ where: { tenantId: this.tenantId, id: { in: [...ids] } } });
    return byKey(ids, rows, (r) => r.id);
  });

  readonly teams = new DataLoader<string, Team | null>(async (ids) => {
    const rows = await (
      await this.tx()
    ).team.findMany({ where: { tenantId: this.tenantId, id: { in: [...ids] } } });
    return byKey(ids, rows, (r) => r.id);
  });

  readonly membershipsByTeam = new DataLoader<string, TeamMembership[]>(async (ids) => {
    const rows = await (
      await this.tx()
    ).teamMembership.findMany({
      where: { tenantId: this.tenantId, teamId: { in: [...ids] } },
      orderBy: [{ createdAt: 'asc' }, { userId: 'asc' }],
    });
    return groupByKey(ids, rows, (r) => r.teamId);
  });

  readonly membershipsByUser = new DataLoader<string, TeamMembership[]>(async (ids) => {
    const rows = await (
      await this.tx()
    ).teamMembership.findMany({
      where: { tenantId: this.tenantId, userId: { in: [...ids] } },
      orderBy: [{ createdAt: 'asc' }, { teamId: 'asc' }],
    });
    return groupByKey(ids, rows, (r) => r.userId);
  });

  readonly approvalsByWorkflow = new DataLoader<string, Approval[]>(async (ids) => {
    const rows = await (
      await this.tx()
    ).approval.findMany({
      where: { tenantId: this.tenantId, workflowId: { in: [...ids] } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return groupByKey(ids, rows, (r) => r.workflowId);
  });

  /**
   * Shares of workflows, oldest first, as `workflowShare.findMany` would return them
   * (test/integration/sharesLoader.test.ts compares the two). The list's one relation —
   * every row of a page asks for it — so it is one statement with the ids as one array
   * parameter (one prepared statement for every page size, where Prisma's `in (…)` writes
   * a text per length), through Prisma's raw path in the same transaction under RLS,
   * without the model layer's per-row mapping.
   */
  readonly sharesByWorkflow = new DataLoader<string, WorkflowShare[]>(async (ids) => {
    const rows = await (
      await this.tx()
    ).$queryRaw<ShareRow[]>`
      select workflow_id, user_id, role::text as role, created_at from workflow_shares
       where tenant_id = ${this.tenantId}::uuid and workflow_id = any(${[...ids]}::uuid[])
       order by created_at, user_id`;
    const shares = rows.map((r): WorkflowShare => ({
      tenantId: this.tenantId,
      workflowId: r.workflow_id,
      userId: r.user_id,
      role: r.role,
      createdAt: r.created_at,
    }));
    return groupByKey(ids, shares, (r) => r.workflowId);
  });

  /** Shares read with a page of the list (graphql/workflowPage.ts), by workflow id. */
  readonly #pageShares = new Map<string, WorkflowShare[]>();

  /** Remembers the shares a page read brought, for {@link sharesOf}. */
  knowShares(shares: ReadonlyMap<string, WorkflowShare[]>): void {
    for (const [id, list] of shares) this.#pageShares.set(id, list);
  }

  /**
   * A workflow's shares: without a promise when its page brought them — so the fields of a
   * listed workflow complete synchronously — else through the loader.
   */
  sharesOf(workflowId: string): WorkflowShare[] | Promise<WorkflowShare[]> {
    return this.#pageShares.get(workflowId) ?? this.sharesByWorkflow.load(workflowId);
  }

  /**
   * What the outbox relay recorded for these objects: when each was last written and the
   * newest ZedToken among them, so checks on them see at least the relationships written
   * with them (read-after-write) and cached decisions older than a write are not used.
   */
  async recordedWrites(
    objects: ReadonlyArray<{ resourceType: string; resourceId: string }>,
  ): Promise<RecordedWrites> {
    // Memoised per operation: the fields of a list ask about the objects its filter asked about.
    const unknown = [
      ...new Set(
        objects.map((o) => `${o.resourceType}:${o.resourceId}`).filter((k) => !this.#writes.has(k)),
      ),
    ];
    if (unknown.length > 0) {
      const types = unknown.map((k) => k.slice(0, k.indexOf(':')));
      const ids = unknown.map((k) => k.slice(k.indexOf(':') + 1));
      const rows = await (
        await this.tx()
      ).$queryRawUnsafe<
        Array<{ resource_type: string; resource_id: string; zed_token: string; applied_at: Date }>
      >(
        `select resource_type, resource_id, zed_token, applied_at from authz_tokens
          where tenant_id = $1::uuid
            and (resource_type, resource_id) in (select * from unnest($2::text[], $3::text[]))`,
        this.tenantId,
        types,
        ids,
      );
      for (const k of unknown) this.#writes.set(k, null);
      for (const r of rows) {
        this.#writes.set(`${r.resource_type}:${r.resource_id}`, {
          token: r.zed_token,
          at: r.applied_at.getTime(),
        });
      }
    }
    let freshest: { token: string; at: number } | undefined;
    const writtenAt = new Map<string, number>();
    for (const o of objects) {
      const key = `${o.resourceType}:${o.resourceId}`;
      const w = this.#writes.get(key);
      if (!w) continue;
      writtenAt.set(key, w.at);
      if (!freshest || w.at > freshest.at) freshest = w;
    }
    return { token: freshest?.token, writtenAt };
  }

  /** Recorded writes already looked up in this operation (null: none recorded). */
  readonly #writes = new Map<string, { token: string; at: number } | null>();

  /**
   * An object as stored, for a policy decision (`resource` of the OPA input), or null when
   * it does not exist in this tenant.
   */
  async policyResource(type: string, id: string): Promise<Record<string, unknown> | null> {
    switch (type) {
      case 'workflow':
        return storedForm(
          await (await this.tx()).workflow.findFirst({ where: { tenantId: this.tenantId, id } }),
        );
      default:
        return null;
    }
  }

  /**
   * The `Node` type of each id in this tenant, in one statement for a batch (`nodes(ids:)`).
   * Ids are UUIDs, unique across the tables; RLS keeps other tenants' rows out, and the
   * tenant condition lets each lookup use the primary key.
   */
  readonly #nodeTypes = new DataLoader<string, NodeTypeName | null>(async (ids) => {
    const rows = await (
      await this.tx()
    ).$queryRawUnsafe<Array<{ id: string; type: NodeTypeName }>>(NODE_TYPES_SQL, this.tenantId, [
      ...ids,
    ]);
    return byKey(ids, rows, (r) => r.id).map((r) => r?.type ?? null);
  });

  nodeType(id: string): Promise<NodeTypeName | null> {
    return this.#nodeTypes.load(id);
  }

  /** Sealed secrets of credentials, by id (only `Credential.secret` reads these). */
  readonly credentialSecrets = new DataLoader<string, Sealed | null>(async (ids) => {
    const rows = await (
      await this.tx()
    ).credential.findMany({
      where: { tenantId: this.tenantId, id: { in: [...ids] } },
      select: { id: true, secretCiphertext: true, secretKeyId: true },
    });
    return byKey(ids, rows, (r) => r.id).map((r) =>
      r ? { ciphertext: r.secretCiphertext, keyId: r.secretKeyId } : null,
    );
  });

  /** API keys of service accounts, by account id, newest first (never their hashes). */
  readonly apiKeysByAccount = new DataLoader<string, ApiKeyModel[]>(async (ids) => {
    const rows = await (
      await this.tx()
    ).apiKey.findMany({
      where: { tenantId: this.tenantId, serviceAccountId: { in: [...ids] } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: API_KEY_COLUMNS,
    });
    return groupByKey(ids, rows, (r) => r.serviceAccountId);
  });

  #policySettings: Promise<TenantPolicySettings | null> | undefined;

  /** The tenant's own policy settings, as policy data (see PolicyData); once per operation. */
  policySettings(): Promise<TenantPolicySettings | null> {
    this.#policySettings ??= this.tx().then(async (tx) =>
      toPolicyData(await tx.tenantPolicySettings.findFirst({ where: { tenantId: this.tenantId } })),
    );
    return this.#policySettings;
  }

  #currentUser: Promise<User | null> | undefined;
  #commits = 0;

  /**
   * Mutations run so far in this operation. Authorization memoised before one is not
   * reused after it (RequestAuthorizer): relationships may have changed.
   */
  get commits(): number {
    return this.#commits;
  }

  /**
   * The caller's user account in this tenant (deactivated ones too), or null when the
   * subject has none; once per operation. What the token brings is applied first when it
   * changes anything (an invitation bound, a just-in-time account, mapped groups: see
   * domain/identity/signIn.ts), in a write transaction of its own before any gate decides.
   */
  currentUser(): Promise<User | null> {
    this.#currentUser ??= this.#readAccount().then((user) => {
      this.#knownUserId = user?.id ?? null;
      return user;
    });
    return this.#currentUser;
  }

  async #readAccount(): Promise<User | null> {
    const bySubject = async () =>
      (await this.tx()).user.findFirst({
        where: { tenantId: this.tenantId, subject: this.uow.scope.subject },
      });
    const user = await bySubject();
    const signIn = this.#signIn;
    if (!signIn) return user;
    const plan = await planSignIn(await this.tx(), signIn.identity, user, { jit: signIn.jit });
    if (!plan) return user;
    try {
      return await this.uow.mutation((tx) =>
        applySignIn(tx, signIn.identity, plan, signIn.request),
      );
    } catch (error) {
      // A concurrent request of the same subject signed in first: use what it made.
      if (!isSignInRace(error)) throw error;
      return bySubject();
    }
  }

  /** The caller's user account exists and is deactivated. */
  async deactivated(): Promise<boolean> {
    if (this.callerKind !== 'user') return false;
    return (await this.currentUser())?.deactivatedAt != null;
  }

  #knownUserId: string | null | undefined;
  #currentCaller: Promise<Caller | null> | undefined;

  /**
   * The caller's account for gates 2 and 3, once per operation: the user account of a user
   * principal (as currentUser), or the active service account of a service principal
   * (`service:<id>`), with its roles; null when there is none.
   */
  currentCaller(): Promise<Caller | null> {
    this.#currentCaller ??=
      this.callerKind === 'service'
        ? this.#serviceAccount()
        : this.currentUser().then((user) =>
            // A deactivated account decides nothing (it is refused before: standing).
            user && !user.deactivatedAt
              ? { kind: 'user' as const, id: user.id, roles: user.roles }
              : null,
          );
    return this.#currentCaller;
  }

  async #serviceAccount(): Promise<Caller | null> {
    const subject = this.uow.scope.subject;
    if (!subject.startsWith(SERVICE_SUBJECT)) return null;
    const id = subject.slice(SERVICE_SUBJECT.length);
    const account = await (
      await this.tx()
    ).serviceAccount.findFirst({
      where: { tenantId: this.tenantId, id, active: true },
      select: { id: true, roles: true },
    });
    return account ? { kind: 'service_account', id: account.id, roles: account.roles } : null;
  }

  /** The caller's user id, when this operation has looked it up (undefined: not yet). */
  get knownUserId(): string | null | undefined {
    return this.#knownUserId;
  }

  /**
   * Runs root mutation field `info` as the caller's user account, in its own write
   * transaction (see RequestUnitOfWork) whose last statement before COMMIT appends the
   * change's audit event; a failure is audited after the rollback. The account is read
   * inside that transaction. Loader caches are dropped afterwards, so the payload resolves
   * against committed data.
   */
  async mutate<T>(
    info: Pick<GraphQLResolveInfo, 'parentType' | 'fieldName'>,
    args: Readonly<Record<string, unknown>>,
    work: (tx: TenantTx, actor: Actor) => Promise<Changed<T>>,
  ): Promise<T> {
    const audit = this.audit.mutation(`${info.parentType.name}.${info.fieldName}`, args);
    let userId: string | null = null;
    try {
      const changed = await this.uow.mutation(
        async (tx) => {
          if (this.callerKind === 'service') {
            // Mutations record a user as their actor (owner, approver, updated_by): a
            // service account reads what its roles allow and changes nothing.
            throw forbidden('A service account cannot run mutations', { reason: 'NO_ACCOUNT' });
          }
          const user = await tx.user.findFirst({
            where: { tenantId: this.tenantId, subject: this.uow.scope.subject },
            select: { id: true, deactivatedAt: true },
          });
          if (!user)
            throw forbidden('No user account in this organisation', { reason: 'NO_ACCOUNT' });
          // Deactivated since the gates decided (in the same operation): refused all the same.
          if (user.deactivatedAt) {
            throw codedError(ErrorCode.UNAUTHENTICATED, 'The account is deactivated', {
              reason: 'ACCOUNT_DEACTIVATED',
            });
          }
          userId = user.id;
          this.#knownUserId = user.id;
          return work(tx, { tenantId: this.tenantId, userId: user.id });
        },
        // (The work set userId: it ran, and found the account, before this hook.)
        (tx, change) => audit.beforeCommit(tx, userId!, change),
      );
      return changed.value;
    } catch (error) {
      audit.failed(userId, error);
      throw error;
    } finally {
      this.#commits += 1;
      this.#writes.clear();
      this.#pageShares.clear();
      this.#policySettings = undefined;
      for (const loader of [
        this.users,
        this.teams,
        this.membershipsByTeam,
        this.membershipsByUser,
        this.approvalsByWorkflow,
        this.sharesByWorkflow,
        this.credentialSecrets,
        this.apiKeysByAccount,
      ]) {
        loader.clearAll();
      }
    }
  }
}
