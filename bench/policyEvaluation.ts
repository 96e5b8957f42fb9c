/**
 * The cost of one gate-3 decision in Node: the compiled wasm (policies/policy.wasm)
 * evaluated through @open-policy-agent/opa-wasm with the inputs the server builds — the
 * classification decision a `@classified` field asks once per operation, and the approval
 * decision. Timed one call at a time (warm), reported as p50/p99 in microseconds.
 */
import { PolicyEngine, type PolicyName } from '../src/authz/opa/PolicyEngine.js';

export interface EvaluationCost {
  readonly decision: string;
  readonly p50us: number;
  readonly p99us: number;
  readonly calls: number;
}

const TENANT = '0a1c0000-0000-4000-8000-000000000001';
const principal = {
  subject: 'demo|carol',
  tenantId: TENANT,
  userId: '00000000-0000-4000-a000-000000000003',
  roles: ['VP', 'MEMBER'],
  amr: ['pwd', 'otp', 'mfa'],
  scopes: [],
};
const workflow = {
  tenantId: TENANT,
  id: '00000000-0000-4000-c000-000000025000',
  name: 'Datacenter expansion',
  description: '',
  amount: '25000',
  status: 'PENDING_APPROVAL',
  ownerId: '00000000-0000-4000-a000-000000000001',
  teamId: '00000000-0000-4000-b000-000000000001',
  version: 2,
  createdAt: '2026-11-22T10:00:00.000Z',
  updatedAt: '2026-11-22T10:00:00.000Z',
};
const context = { time: '2026-11-22T10:00:00.000Z', ip: '127.0.0.1', requestId: 'bench' };

const CASES: ReadonlyArray<{ name: PolicyName; input: object }> = [
  {
    name: 'gatehouse/classification/decision',
    input: {
      principal,
      action: 'read',
      resource: { type: 'workflow', classification: 'confidential' },
      field: 'Workflow.amount',
      context,
    },
  },
  {
    name: 'gatehouse/workflow/approval/decision',
    input: {
      principal,
      action: 'approve',
      resource: workflow,
      args: { id: workflow.id },
      field: 'Mutation.approveWorkflow',
      context,
    },
  },
];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

export async function measurePolicyEvaluation(calls = 20_000): Promise<EvaluationCost[]> {
  const engine = await PolicyEngine.loadFile(undefined, {
    tenants: { [TENANT]: { approval_limit: 10_000 } },
  });
  return CASES.map(({ name, input }) => {
    for (let i = 0; i < 2_000; i++) engine.evaluate(name, input);
    const samples = new Array<number>(calls);
    for (let i = 0; i < calls; i++) {
      const start = process.hrtime.bigint();
      const decision = engine.evaluate(name, input);
      samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
      if (!decision.allow) throw new Error(`${name} denied the benchmark input`);
    }
    samples.sort((a, b) => a - b);
    return {
      decision: name,
      p50us: percentile(samples, 50),
      p99us: percentile(samples, 99),
      calls,
    };
  });
}
