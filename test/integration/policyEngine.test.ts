/**
 * The compiled policies (policies/policy.wasm) evaluated through @open-policy-agent/opa-wasm
 * from TypeScript: the same decision table as the Rego unit tests, fail-closed handling of
 * undefined results and bad bundles, policy data and atomic bundle swaps.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CompiledPolicy,
  POLICY_WASM_FILE,
  PolicyEngine,
} from '../../src/authz/opa/PolicyEngine.js';

const APPROVAL = 'gatehouse/workflow/approval/decision';
const CLASSIFICATION = 'gatehouse/classification/decision';

const carol = { userId: 'carol', tenantId: 'acme', roles: ['VP', 'MEMBER'] };
const alice = { userId: 'alice', tenantId: 'acme', roles: ['ADMIN', 'MEMBER'] };
const pending = (amount: string, ownerId = 'bob') => ({
  status: 'PENDING_APPROVAL',
  amount,
  ownerId,
});

describe('compiled policies (wasm)', () => {
  it.each([
    [
      'a VP approves 25,000',
      { principal: carol, action: 'approve', resource: pending('25000.00') },
      true,
      [],
    ],
    [
      'an admin approves 5,000',
      { principal: alice, action: 'approve', resource: pending('5000.00') },
      true,
      [],
    ],
    [
      'an admin approves 10,000 (the limit itself)',
      { principal: alice, action: 'approve', resource: pending('10000.00') },
      true,
      [],
    ],
    [
      'an admin cannot approve 25,000',
      { principal: alice, action: 'approve', resource: pending('25000.00') },
      false,
      ['an amount above 10000 needs a VP'],
    ],
    [
      'an admin may reject 25,000',
      { principal: alice, action: 'reject', resource: pending('25000.00') },
      true,
      [],
    ],
    [
      'nobody approves their own',
      { principal: carol, action: 'approve', resource: pending('500.00', 'carol') },
      false,
      ['nobody approves or rejects their own workflow (separation of duties)'],
    ],
    [
      'only pending workflows',
      {
        principal: carol,
        action: 'approve',
        resource: { status: 'DRAFT', amount: '5.00', ownerId: 'bob' },
      },
      false,
      ['only PENDING_APPROVAL workflows can be approved or rejected'],
    ],
    ['incomplete input', { action: 'approve' }, false, ['the input is incomplete']],
  ] as const)('%s', async (_title, input, allow, reasons) => {
    const engine = await PolicyEngine.loadFile();
    expect(engine.evaluate(APPROVAL, { context: { ip: '203.0.113.7' }, ...input })).toEqual({
      allow,
      reasons,
    });
  });

  it.each([
    ['restricted without MFA', ['pwd'], 'restricted', false],
    ['restricted with OTP', ['pwd', 'otp'], 'restricted', true],
    ['internal without MFA', ['pwd'], 'internal', true],
  ] as const)('classification: %s', async (_title, amr, classification, allow) => {
    const engine = await PolicyEngine.loadFile();
    expect(
      engine.evaluate(CLASSIFICATION, { principal: { amr }, resource: { classification } }).allow,
    ).toBe(allow);
  });

  it('reads context rules from policy data, changeable without a rebuild', async () => {
    const engine = await PolicyEngine.loadFile();
    const input = {
      principal: alice,
      action: 'approve',
      resource: pending('25000.00'),
      context: { ip: '203.0.113.7' },
    };
    expect(engine.evaluate(APPROVAL, input).allow).toBe(false);
    engine.swap({ data: { tenants: { acme: { approval_limit: 50_000 } } } });
    expect(engine.evaluate(APPROVAL, input)).toEqual({ allow: true, reasons: [] });
    engine.swap({
      data: {
        tenants: { acme: { approval_limit: 50_000, approval_networks: ['198.51.100.0/24'] } },
      },
    });
    expect(engine.evaluate(APPROVAL, input)).toEqual({
      allow: false,
      reasons: ['approvals are not accepted from this network'],
    });
  });

  it('fails closed: an input the policy cannot judge is a denial, never an allow', async () => {
    const engine = await PolicyEngine.loadFile();
    expect(engine.evaluate(APPROVAL, null).allow).toBe(false);
    expect(engine.evaluate(APPROVAL, 'garbage').allow).toBe(false);
    expect(engine.evaluate(CLASSIFICATION, {}).allow).toBe(false);
  });

  it('refuses a bundle that is not a policy, and swaps a new bundle in atomically', async () => {
    await expect(PolicyEngine.load(new Uint8Array([0, 1, 2, 3]))).rejects.toThrow();
    const engine = await PolicyEngine.loadFile();
    await expect(CompiledPolicy.compile(new Uint8Array([0, 97, 115, 109]))).rejects.toThrow();
    // The failed swap left the working policy in place.
    expect(
      engine.evaluate(APPROVAL, {
        principal: carol,
        action: 'approve',
        resource: pending('1.00'),
        context: {},
      }).allow,
    ).toBe(true);
    engine.swap({ bundle: await CompiledPolicy.compile(readFileSync(POLICY_WASM_FILE)) });
    expect(
      engine.evaluate(APPROVAL, {
        principal: carol,
        action: 'approve',
        resource: pending('1.00'),
        context: {},
      }).allow,
    ).toBe(true);
  });
});
