/**
 * One transaction per GraphQL operation (the unit of work), opened lazily on first use and
 * finished once execution ends: committed on success, rolled back when the server fails.
 * Query operations get a READ ONLY transaction. Each root mutation field runs inside its
 * own savepoint, so a mutation that throws leaves nothing behind while its siblings keep
 * their effects (the same contract as PostGraphile's per-mutation savepoints).
 *
 * This is the place where, later, the audit event of a mutation is written in the same
 * transaction as the change it records.
 */
import type { AccessMode, TenantDatabase, TenantScope, TenantTx } from './TenantDatabase.js';

interface Open {
  readonly tx: Promise<TenantTx>;
  readonly finish: (commit: boolean) => void;
  readonly settled: Promise<unknown>;
}

class RollbackRequested extends Error {}

export class RequestUnitOfWork {
  readonly #db: TenantDatabase;
  readonly #scope: TenantScope;
  #mode: AccessMode = 'read';
  #open: Open | undefined;
  #finished = false;
  #savepoints = 0;

  constructor(db: TenantDatabase, scope: TenantScope) {
    this.#db = db;
    this.#scope = scope;
  }

  get scope(): TenantScope {
    return this.#scope;
  }

  /** Set before execution from the operation type; a mutation needs a writable transaction. */
  setMode(mode: AccessMode): void {
    if (this.#open) throw new Error('RequestUnitOfWork.setMode: transaction already open');
    this.#mode = mode;
  }

  /** The operation's transaction client (opened on first call). */
  tx(): Promise<TenantTx> {
    if (this.#finished)
      return Promise.reject(new Error('RequestUnitOfWork: operation already finished'));
    this.#open ??= this.#start();
    return this.#open.tx;
  }

  /**
   * Runs a root mutation field's work in a savepoint of the operation's transaction.
   * Throws from `work` roll the savepoint back and propagate.
   */
  async mutation<T>(work: (tx: TenantTx) => Promise<T>): Promise<T> {
    if (this.#mode !== 'write')
      throw new Error('RequestUnitOfWork.mutation: operation is read-only');
    const tx = await this.tx();
    const name = `gh_mutation_${++this.#savepoints}`;
    await tx.$executeRawUnsafe(`savepoint ${name}`);
    try {
      const result = await work(tx);
      await tx.$executeRawUnsafe(`release savepoint ${name}`);
      return result;
    } catch (error) {
      await tx.$executeRawUnsafe(`rollback to savepoint ${name}`);
      throw error;
    }
  }

  /** Commits (or rolls back) the transaction if one was opened. Rejects if the commit fails. */
  async finish(commit: boolean): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    const open = this.#open;
    if (!open) return;
    open.finish(commit);
    try {
      await open.settled;
    } catch (error) {
      if (!(error instanceof RollbackRequested)) throw error;
    }
  }

  #start(): Open {
    let resolveTx!: (tx: TenantTx) => void;
    let rejectTx!: (error: unknown) => void;
    const tx = new Promise<TenantTx>((resolve, reject) => {
      resolveTx = resolve;
      rejectTx = reject;
    });
    let finish!: (commit: boolean) => void;
    const done = new Promise<boolean>((resolve) => {
      finish = resolve;
    });
    const settled = this.#db
      .transaction(this.#scope, this.#mode, async (client) => {
        resolveTx(client);
        if (!(await done)) throw new RollbackRequested();
      })
      .catch((error: unknown) => {
        rejectTx(error); // opening failed: every waiting resolver sees it
        throw error;
      });
    // Avoid an unhandled rejection if nobody awaited `tx` or `settled` yet.
    tx.catch(() => undefined);
    settled.catch(() => undefined);
    return { tx, finish, settled };
  }
}
