/**
 * The audit writes made when operations finish (their denials, failures and restricted
 * reads: OperationAuditLog.flush), committed together per tenant.
 *
 * A tenant's appends are serialised by its chain head's lock (appendAuditEvents.ts), so
 * concurrent operations of one tenant would otherwise queue for it one transaction each —
 * BEGIN, the lock, the insert, COMMIT — and a list that denies a field to most of its
 * callers would write one transaction per request. Here a tenant's first append starts
 * its transaction at once (no waiting when nothing else is), and the appends submitted
 * while it runs go into the next one, together: one lock, one insert, one commit for all
 * of them, in submission order.
 *
 * Each append still stands alone: when a shared transaction fails, its appends are
 * retried one transaction each, so an append that cannot be written (its own fault, or
 * an audit store that is down) fails only itself — and its operation withholds what
 * needed its evidence — while the others commit. A caller hears of its append only once
 * it is committed or has failed on its own.
 *
 * Mutations' own events are not appended here: they commit in the mutation's transaction.
 */
import type { TenantDatabase, TenantTx } from '../data/TenantDatabase.js';
import type { AuditEventInput } from './AuditEvent.js';
import type { AuditAppender } from './appendAuditEvents.js';

/** An append's events, built inside the transaction that writes them. */
export type AuditEvents = (tx: TenantTx) => Promise<readonly AuditEventInput[]>;

export interface AuditGroupCommitOptions {
  readonly tenants: TenantDatabase;
  readonly appender: AuditAppender;
  /** Most appends in one transaction (default 64): bounds its length and its lock time. */
  readonly maxBatch?: number;
}

interface Submitted {
  readonly events: AuditEvents;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const DEFAULT_MAX_BATCH = 64;

export class AuditGroupCommit {
  readonly #options: AuditGroupCommitOptions;
  readonly #maxBatch: number;
  /** Appends waiting, by tenant; a tenant is here while its writer runs. */
  readonly #queues = new Map<string, Submitted[]>();
  #transactions = 0;

  constructor(options: AuditGroupCommitOptions) {
    this.#options = options;
    this.#maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  /** Transactions begun so far (tests count how appends were grouped). */
  get transactionsStarted(): number {
    return this.#transactions;
  }

  /** Appends `events` to the tenant's chain; settles once they are committed, or failed. */
  append(tenantId: string, events: AuditEvents): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const submitted = { events, resolve, reject };
      const queue = this.#queues.get(tenantId);
      if (queue) {
        queue.push(submitted);
        return;
      }
      const started = [submitted];
      this.#queues.set(tenantId, started);
      void this.#write(tenantId, started);
    });
  }

  /** The tenant's writer: one transaction per batch until nothing waits. */
  async #write(tenantId: string, queue: Submitted[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, this.#maxBatch);
      try {
        await this.#commit(tenantId, batch);
        for (const s of batch) s.resolve();
      } catch (error) {
        if (batch.length === 1) {
          batch[0]!.reject(error);
          continue;
        }
        // Which one failed is not known: each on its own, so only it fails.
        for (const s of batch) {
          try {
            await this.#commit(tenantId, [s]);
            s.resolve();
          } catch (own) {
            s.reject(own);
          }
        }
      }
    }
    this.#queues.delete(tenantId);
  }

  #commit(tenantId: string, batch: readonly Submitted[]): Promise<void> {
    this.#transactions += 1;
    return this.#options.tenants.transaction(
      { tenantId, subject: 'audit' },
      'write',
      async (tx) => {
        const inputs: AuditEventInput[] = [];
        for (const s of batch) inputs.push(...(await s.events(tx)));
        await this.#options.appender.append(tx, tenantId, inputs);
      },
    );
  }
}
