/**
 * Gate 3: Rego policies compiled to WebAssembly (`npm run policies:build`), evaluated
 * in-process with @open-policy-agent/opa-wasm. Every decision is `{ allow, reasons }`;
 * an undefined result, a malformed result or an evaluation error is a denial (fail closed).
 *
 * A new bundle or new policy data is swapped in atomically: evaluation is synchronous, so
 * a request sees either the old policy or the new one, never a mix.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';

/** The compiled policies committed with the code (rebuilt and compared in CI). */
export const POLICY_WASM_FILE = fileURLToPath(
  new URL('../../../policies/policy.wasm', import.meta.url),
);

/** The decisions Gatehouse asks for: one wasm entrypoint each. */
export const POLICY_DECISIONS = [
  'gatehouse/workflow/approval/decision',
  'gatehouse/classification/decision',
] as const;
export type PolicyName = (typeof POLICY_DECISIONS)[number];

export function isPolicyName(value: string): value is PolicyName {
  return (POLICY_DECISIONS as readonly string[]).includes(value);
}

export interface PolicyDecision {
  readonly allow: boolean;
  readonly reasons: readonly string[];
}

export class PolicyEngine {
  #policy: LoadedPolicy;
  #data: object;

  private constructor(policy: LoadedPolicy, data: object) {
    this.#policy = policy;
    this.#data = data;
  }

  /** Loads and checks a compiled bundle; refuses one that lacks a decision Gatehouse needs. */
  static async load(wasm: Uint8Array, data: object = {}): Promise<PolicyEngine> {
    return new PolicyEngine(await PolicyEngine.#compile(wasm, data), data);
  }

  static async loadFile(file: string = POLICY_WASM_FILE, data: object = {}): Promise<PolicyEngine> {
    return PolicyEngine.load(await readFile(file), data);
  }

  static async #compile(wasm: Uint8Array, data: object): Promise<LoadedPolicy> {
    const policy = await loadPolicy(wasm);
    const entrypoints = Object.keys(policy.entrypoints as Record<string, number>);
    const missing = POLICY_DECISIONS.filter((d) => !entrypoints.includes(d));
    if (missing.length > 0) throw new Error(`policy bundle lacks decisions: ${missing.join(', ')}`);
    policy.setData(data);
    return policy;
  }

  /** Swaps in a new compiled bundle (with the current data) once it has loaded. */
  async replaceBundle(wasm: Uint8Array): Promise<void> {
    this.#policy = await PolicyEngine.#compile(wasm, this.#data);
  }

  /** Replaces the policy data (e.g. tenants' approval limits); takes effect for the next evaluation. */
  setData(data: object): void {
    this.#policy.setData(data);
    this.#data = data;
  }

  evaluate(name: PolicyName, input: unknown): PolicyDecision {
    let result: unknown;
    try {
      const resultSet = this.#policy.evaluate(input, name) as Array<{ result?: unknown }> | null;
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
