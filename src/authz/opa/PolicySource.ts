/**
 * Where the compiled policies and the operator's policy data come from, and how a new
 * version of either is put in force without a restart: `reload()` reads both files,
 * compiles and checks the bundle, parses the data, and only then swaps both in together
 * (PolicyData.replaceBase → PolicyEngine.swap). A bad bundle or bad data changes nothing:
 * the policies in force stay, and the failure is logged and returned.
 *
 * Triggers: SIGHUP (main.ts) in any environment, and in development a watch on the two
 * files (POLICY_WATCH), so `npm run policies:build` or an edit of the data file applies at
 * once.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../observability/logger.js';
import { CompiledPolicy, type PolicyEngine } from './PolicyEngine.js';
import type { PolicyData } from './PolicyData.js';

export interface PolicyFiles {
  readonly bundle: string;
  /** JSON policy data; none: an empty base document. */
  readonly data: string | undefined;
}

export type ReloadResult =
  { readonly ok: true; readonly revision: string } | { readonly ok: false; readonly error: string };

/** Reads the operator's policy data file: a JSON object, or a clear error. */
export async function readPolicyDataFile(file: string | undefined): Promise<object> {
  if (!file) return {};
  const text = await readFile(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `policy data file ${file} is not JSON: ${error instanceof Error ? error.message : ''}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`policy data file ${file} must hold a JSON object`);
  }
  return value;
}

export class PolicySource {
  readonly #engine: PolicyEngine;
  readonly #data: PolicyData;
  readonly #files: PolicyFiles;
  readonly #logger: Logger;
  #reloading: Promise<ReloadResult> | undefined;
  #again = false;
  #watchers: FSWatcher[] = [];
  #debounce: NodeJS.Timeout | undefined;

  constructor(engine: PolicyEngine, data: PolicyData, files: PolicyFiles, logger: Logger) {
    this.#engine = engine;
    this.#data = data;
    this.#files = files;
    this.#logger = logger;
  }

  /**
   * Reloads the bundle and the data file. Calls during a reload coalesce into one more
   * reload after it, so the last change on disk always wins.
   */
  reload(reason: string): Promise<ReloadResult> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      let result = await this.#reloadOnce(reason);
      // A trigger that arrived meanwhile may have seen files this reload did not.
      while (this.#takeAgain()) result = await this.#reloadOnce(reason);
      this.#reloading = undefined;
      return result;
    })();
    return this.#reloading;
  }

  #takeAgain(): boolean {
    const again = this.#again;
    this.#again = false;
    return again;
  }

  async #reloadOnce(reason: string): Promise<ReloadResult> {
    const previous = this.#engine.revision;
    try {
      const [bundle, base] = await Promise.all([
        readFile(this.#files.bundle).then((wasm) => CompiledPolicy.compile(wasm)),
        readPolicyDataFile(this.#files.data),
      ]);
      this.#data.replaceBase(base, bundle);
      this.#logger.info('policies reloaded', { reason, revision: bundle.revision, previous });
      return { ok: true, revision: bundle.revision };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.error('policy reload refused; the policies in force stay', {
        reason,
        revision: previous,
        error: message,
      });
      return { ok: false, error: message };
    }
  }

  /**
   * Reloads when either file changes. Watches the directories (editors and builds replace
   * files rather than write them in place), debounced.
   */
  watch(debounceMs = 150): void {
    if (this.#watchers.length > 0) return;
    const files = [this.#files.bundle, this.#files.data].filter((f): f is string => !!f);
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const dir = path.dirname(f);
      byDir.set(dir, (byDir.get(dir) ?? new Set()).add(path.basename(f)));
    }
    for (const [dir, names] of byDir) {
      const watcher = watch(dir, (_event, name) => {
        if (name !== null && !names.has(name)) return;
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(
          () => void this.reload(`changed on disk: ${name ?? dir}`),
          debounceMs,
        );
      });
      watcher.on('error', (error) => this.#logger.warn('policy watch failed', { dir, error }));
      this.#watchers.push(watcher);
    }
  }

  /** Stops watching; a reload in progress completes. */
  async close(): Promise<void> {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    clearTimeout(this.#debounce);
    await this.#reloading;
  }
}
