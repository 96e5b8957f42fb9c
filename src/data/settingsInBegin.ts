/**
 * The settings of a transaction (its tenant; read-only for reads) sent with its `BEGIN`,
 * in one round trip: the driver adapter opens a Prisma transaction with a bare `BEGIN` of
 * its own, and without this the settings would follow as a second statement (a second
 * round trip, and a second pass through Prisma's raw query path) on every request.
 *
 * TenantDatabase runs `prisma.$transaction` inside {@link withSettingsInBegin}; the request
 * pool's connections are {@link SettingsInBeginClient}s, which replace the first `BEGIN`
 * sent in that context by `BEGIN; select set_config(…), …` — the settings as literals,
 * escaped by node-postgres, in the simple query protocol, which runs both statements in
 * order. The store records whether that happened; when it did not (the embedded
 * database's adapter, or a Prisma that opens transactions elsewhere) TenantDatabase sends
 * the settings itself as before, so a transaction never runs without them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

/** What a transaction's `BEGIN` should carry. */
export interface SettingsForBegin {
  /** `set_config(name, value, true)` for each, in order. */
  readonly settings: ReadonlyArray<readonly [name: string, value: string]>;
  /** Set once a `BEGIN` carried them. */
  applied: boolean;
}

const pending = new AsyncLocalStorage<SettingsForBegin>();

/** Runs `open` (which starts one transaction) with `settings` waiting for its `BEGIN`. */
export function withSettingsInBegin<T>(
  settings: SettingsForBegin,
  open: () => Promise<T>,
): Promise<T> {
  return pending.run(settings, open);
}

/** `BEGIN; select set_config('name', 'value', true), …` with every string a literal. */
export function beginWithSettings(settings: SettingsForBegin['settings']): string {
  const calls = settings.map(
    ([name, value]) => `set_config(${pg.escapeLiteral(name)}, ${pg.escapeLiteral(value)}, true)`,
  );
  return `BEGIN; select ${calls.join(', ')}`;
}

/** How the driver adapter sends `BEGIN`: a query config whose text is exactly that. */
function isBegin(config: unknown): config is pg.QueryConfig {
  return (
    typeof config === 'object' &&
    config !== null &&
    (config as { text?: unknown }).text === 'BEGIN' &&
    ((config as { values?: unknown[] }).values?.length ?? 0) === 0
  );
}

/** A pool connection that sends the pending settings with the transaction's `BEGIN`. */
export class SettingsInBeginClient extends pg.Client {
  // (node-postgres's `query` is overloaded; only the adapter's `BEGIN` config is changed.)
  override query(...args: unknown[]): never {
    const [config] = args;
    if (args.length === 1 && isBegin(config)) {
      const settings = pending.getStore();
      if (settings && !settings.applied) {
        settings.applied = true;
        // No values: the simple query protocol, which may hold two statements.
        args = [{ ...config, text: beginWithSettings(settings.settings), values: [] }];
      }
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}
