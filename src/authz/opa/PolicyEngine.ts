/**
 * Gate 3: Rego policies compiled to WebAssembly (`npm run policies:build`), evaluated
 * in-process with @open-policy-agent/opa-wasm. Every decision is `{ allow, reasons }`;
 * an undefined result, a malformed result or an evaluation error is a denial (fail closed).
 *
 * A new bundle or new policy data is swapped in atomically: evaluation is synchronous, so
 * a request sees either the old policy or the new one, never a mix.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { POLICY_DECISIONS, type PolicyName } from './decisions.js';

export type { PolicyName } from './decisions.js';

/** The compiled policies committed with the code (rebuilt and compared in CI). */
export const POLICY_WASM_FILE = fileURLToPath(
  new URL('../../../policies/policy.wasm', import.meta.url),
);

export interface PolicyDecision {
  readonly allow: boolean;
  readonly reasons: readonly string[];
}

/** A bundle compiled and checked, not yet in use (see PolicyEngine.swap). */
export class CompiledPolicy {
  readonly policy: LoadedPolicy;
  /** sha256 of the wasm, for logs: which policies are in force. */
  readonly revision: string;
  private constructor(policy: LoadedPolicy, revision: string) {
    this.policy = policy;
    this.revision = revision;
  }

  /** Compiles a bundle; refuses one that lacks a decision Gatehouse needs. */
  static async compile(wasm: Uint8Array): Promise<CompiledPolicy> {
    const policy = await loadPolicy(wasm);
    const entrypoints = Object.keys(policy.entrypoints as Record<string, number>);
    const missing = POLICY_DECISIONS.filter((d) => !entrypoints.includes(d));
    if (missing.length > 0) throw new Error(`policy bundle lacks decisions: ${missing.join(', ')}`);
    return new CompiledPolicy(policy, createHash('sha256').update(wasm).digest('hex').slice(0, 12));
  }
}

export class PolicyEngine {
  #bundle: CompiledPolicy;
  #data: object;

  private constructor(bundle: CompiledPolicy, data: object) {
    bundle.policy.setData(data);
    this.#bundle = bundle;
    this.#data = data;
  }

  static async load(wasm: Uint8Array, data: object = {}): Promise<PolicyEngine> {
    return new PolicyEngine(await CompiledPolicy.compile(wasm), data);
  }

  static async loadFile(file: string = POLICY_WASM_FILE, data: object = {}): Promise<PolicyEngine> {
    return PolicyEngine.load(await readFile(file), data);
  }

  /** sha256 prefix of the bundle in force. */
  get revision(): string {
    return this.#bundle.revision;
  }

  /**
   * Puts a new bundle and/or new data in place, together: evaluation is synchronous, so
   * every evaluation sees the old pair or the new pair, never a mix, and one in flight is
   * not disturbed. Data is validated by the wasm's own setData before anything changes.
   */
  swap(next: { bundle?: CompiledPolicy; data?: object }): void {
    const bundle = next.bundle ?? this.#bundle;
    const data = next.data ?? this.#data;
    bundle.policy.setData(data);
    this.#bundle = bundle;
    this.#data = data;
  }

  /**
   * Whether the bundle in force evaluates (readiness): a decision asked about an empty
   * input gives a result — a denial — rather than an evaluation failure.
   */
  evaluates(): boolean {
    try {
      const resultSet = this.#bundle.policy.evaluate({}, POLICY_DECISIONS[0]) as unknown;
      return Array.isArray(resultSet);
    } catch {
      return false;
    }
  }

  evaluate(name: PolicyName, input: unknown): PolicyDecision {
    let result: unknown;
    try {
      const resultSet = this.#bundle.policy.evaluate(input, name) as Array<{
        result?: unknown;
      }> | null;
      result = resultSet?.[0]?.result;
    } catch (error) {
      return {
        allow: false,
        reasons: [
          `policy evaluation failed: ${error instanceof Error ? error.message : String(error)}`,
        ],
      };
    }
    if (typeof result !== 'object' || result === null) {
      return { allow: false, reasons: ['the policy gave no decision'] };
    }
    const { allow, reasons } = result as { allow?: unknown; reasons?: unknown };
    const list = Array.isArray(reasons)
      ? reasons.filter((r): r is string => typeof r === 'string')
      : [];
    if (allow !== true)
      return { allow: false, reasons: list.length > 0 ? list : ['denied by policy'] };
    return { allow: true, reasons: list };
  }
}
