/**
 * The decisions Gatehouse asks the compiled policies for: one wasm entrypoint each. The
 * schema build refuses a `@policy` naming any other, and a bundle lacking one of these
 * is refused at load.
 */
export const POLICY_DECISIONS = [
  'gatehouse/workflow/approval/decision',
  'gatehouse/classification/decision',
] as const;
export type PolicyName = (typeof POLICY_DECISIONS)[number];

/** The entrypoint of the policy `name` (e.g. `workflow/approval`), or undefined if unknown. */
export function policyDecision(name: string): PolicyName | undefined {
  return POLICY_DECISIONS.find((d) => d === `gatehouse/${name}/decision`);
}
