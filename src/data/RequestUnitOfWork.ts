/**
 * The transactions of one GraphQL operation.
 *
 * - Reads share one READ ONLY transaction, opened lazily on first use and closed when the
 *   operation finishes.
 * - Each root mutation field is its own unit of work: one write transaction that commits
 *   before the field's payload resolves, so the payload shows committed data. Its
 *   `beforeCommit` hook runs last inside the transaction (the mutation's audit event: a
 *   failure there rolls the change back). After the commit, `afterCommit` runs (the
 *   relationship outbox relay), so the permission checks of the payload already see the
 *   relationships the mutation wrote.
 *
 * Before a write transaction opens, the read transaction is closed: the embedded database
 * has a single connection, and a fresh read transaction afterwards sees the write.
 */
import type { TenantDatabase, TenantScope, TenantTx } from './TenantDatabase.js';

interface OpenRead {
  readonly tx: Promise<TenantTx>;
  readonly close: () => void;
  readonly settled: Promise<unknown>;
}

export interface RequestUnitOfWorkOptions {
  /** Runs after every committed write (never throws to the caller; log inside). */
  readonly afterCommit?: () => Promise<void>;
}

export class RequestUnitOfWork {
  readonly #db: TenantDatabase;
  readonly #scope: TenantScope;
  readonly #options: RequestUnitOfWorkOptions;
  #read: OpenRead | undefined;
  #finished = false;

  constructor(db: TenantDatabase, scope: TenantScope, options: RequestUnitOfWorkOptions = {}) {
    this.#db = db;
    this.#scope = scope;
    this.#options = options;
  }

  get scope(): TenantScope {
    return this.#scope;
  }

  /** The operation's read-only transaction (opened on first call). */
  tx(): Promise<TenantTx> {
    if (this.#finished)
      return Promise.reject(new Error('RequestUnitOfWork: operation already finished'));
    this.#read ??= this.#openRead();
    return this.#read.tx;
  }

  /**
   * Runs one mutation's work in its own write transaction, then `beforeCommit` with its
   * result in the same transaction, commits, then runs `afterCommit`.
   */
  async mutation<T>(
    work: (tx: TenantTx) => Promise<T>,
    beforeCommit?: (tx: TenantTx, result: T) => Promise<void>,
  ): Promise<T> {
    if (this.#finished) throw new Error('RequestUnitOfWork: operation already finished');
    await this.#closeRead();
    const result = await this.#db.transaction(this.#scope, 'write', async (tx) => {
      const value = await work(tx);
      await beforeCommit?.(tx, value);
      return value;
    });
    await this.#options.afterCommit?.();
    return result;
  }

  /** Closes the read transaction, if one was opened. */
  async finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    await this.#closeRead();
  }

  async #closeRead(): Promise<void> {
    const read = this.#read;
    if (!read) return;
    this.#read = undefined;
    read.close();
    await read.settled;
  }

  #openRead(): OpenRead {
    let resolveTx!: (tx: TenantTx) => void;
    let rejectTx!: (error: unknown) => void;
    const tx = new Promise<TenantTx>((resolve, reject) => {
      resolveTx = resolve;
      rejectTx = reject;
    });
    let close!: () => void;
    const closed = new Promise<void>((resolve) => {
      close = resolve;
    });
    const settled = this.#db
      .transaction(this.#scope, 'read', async (client) => {
        resolveTx(client);
        await closed;
      })
      .catch((error: unknown) => {
        rejectTx(error); // opening failed: every waiting resolver sees it
      });
    tx.catch(() => undefined);
    return { tx, close, settled };
  }
}
