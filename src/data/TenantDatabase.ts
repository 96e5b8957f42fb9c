/**
 * The only way application code reaches tenant data: a Prisma interactive transaction
 * whose first statement sets the tenant as a transaction-local setting.
 *
 * `set_config(name, value, true)` is `SET LOCAL`: the value vanishes at COMMIT/ROLLBACK,
 * so a pooled connection can never carry one request's tenant into the next request
 * (https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SET).
 * RLS policies read `app.tenant_id`; when it is unset they match no row.
 *
 * On the embedded database the connection is PGlite's superuser, so the same statement
 * also switches to the app role for the transaction (`set_config('role', …, true)` is
 * `SET LOCAL ROLE`), which makes RLS apply exactly as on a real server.
 *
 * On PostgreSQL the settings travel with the transaction's `BEGIN` (settingsInBegin.ts);
 * wherever they could not, they are the transaction's first statement.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import type { TransactionClient } from '../generated/prisma/internal/prismaNamespace.js';
import { inSpan, SpanKind } from '../observability/spans.js';
import { withSettingsInBegin, type SettingsForBegin } from './settingsInBegin.js';

export type TenantTx = TransactionClient;

export interface TenantScope {
  /** Tenant UUID from the verified principal. */
  readonly tenantId: string;
  /** The principal's subject (the application's: the database is told only the tenant). */
  readonly subject: string;
}

export type AccessMode = 'read' | 'write';

export interface TenantDatabaseOptions {
  /** Role to assume inside each transaction (embedded database only). */
  readonly assumeRole?: string;
  /** Upper bound for one transaction, in milliseconds. */
  readonly timeoutMs: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class TenantDatabase {
  readonly #prisma: PrismaClient;
  readonly #options: TenantDatabaseOptions;
  #transactions = 0;
  #settingsInBegin = 0;

  /** Transactions begun so far (tests prove refused work reached no database). */
  get transactionsStarted(): number {
    return this.#transactions;
  }

  /** Transactions whose BEGIN carried their settings (one round trip fewer: settingsInBegin.ts). */
  get settingsSentWithBegin(): number {
    return this.#settingsInBegin;
  }

  constructor(prisma: PrismaClient, options: TenantDatabaseOptions) {
    this.#prisma = prisma;
    this.#options = options;
  }

  /**
   * Runs `work` in one transaction scoped to `scope.tenantId`. `read` transactions are
   * READ ONLY, so a query operation cannot write even through a bug.
   */
  async transaction<T>(
    scope: TenantScope,
    mode: AccessMode,
    work: (tx: TenantTx) => Promise<T>,
  ): Promise<T> {
    if (!UUID.test(scope.tenantId)) {
      // Programmer error: authentication only produces UUID tenant ids.
      throw new Error('TenantDatabase.transaction: tenantId must be a UUID');
    }
    this.#transactions += 1;
    // The span holds the transaction's statements (the pg instrumentation's spans).
    return inSpan(
      `tenant transaction ${mode}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'gatehouse.tenant.id': scope.tenantId,
          'gatehouse.transaction.mode': mode,
        },
      },
      () => {
        const opening: SettingsForBegin = { settings: this.#settings(scope, mode), applied: false };
        return withSettingsInBegin(opening, () =>
          this.#prisma.$transaction(
            async (tx) => {
              // Nothing runs in the transaction before its settings (settingsInBegin.ts).
              if (opening.applied) this.#settingsInBegin += 1;
              else await this.#set(tx, opening.settings);
              return work(tx);
            },
            { timeout: this.#options.timeoutMs, maxWait: this.#options.timeoutMs },
          ),
        );
      },
    );
  }

  /**
   * The transaction's settings: the tenant, read-only for reads, the role to assume. Only
   * what the database's policies read — not the principal's subject, which would otherwise
   * stand in every BEGIN's text (statement spans, the server's logs).
   */
  #settings(scope: TenantScope, mode: AccessMode): Array<[string, string]> {
    const settings: Array<[string, string]> = [['app.tenant_id', scope.tenantId]];
    // Read-only may be switched on at any point of a transaction (read-write may not).
    if (mode === 'read') settings.push(['transaction_read_only', 'on']);
    if (this.#options.assumeRole) settings.push(['role', this.#options.assumeRole]);
    return settings;
  }

  /** The settings as the transaction's first statement (when its BEGIN did not carry them). */
  async #set(tx: TenantTx, settings: SettingsForBegin['settings']): Promise<void> {
    const calls = settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
    // One round trip for all settings.
    await tx.$queryRawUnsafe(`select ${calls.join(', ')}`, ...settings.flat());
  }

  /** Readiness probe: the database answers. Touches no table. */
  async ping(): Promise<void> {
    await this.#prisma.$queryRawUnsafe('select 1');
  }
}
