/**
 * Policy data and bundles change without a restart (gate 3), through the compiled wasm:
 * PolicyData overlays each tenant's database settings on the operator's file, re-reading
 * them after the TTL or at once after a local change; PolicySource reloads the bundle and
 * the file together, refuses bad ones (the policies in force stay), and reloads on file
 * changes when watching. Evaluations running during reloads always get a real decision.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyData, type TenantPolicySettings } from '../../src/authz/opa/PolicyData.js';
import { POLICY_WASM_FILE, PolicyEngine } from '../../src/authz/opa/PolicyEngine.js';
import { PolicySource } from '../../src/authz/opa/PolicySource.js';
import { createLogger } from '../../src/observability/logger.js';

const TENANT = '0a1c0000-0000-4000-8000-000000000001';
const APPROVAL = 'gatehouse/workflow/approval/decision';

/** A non-VP approving `amount` of someone else's pending workflow from 127.0.0.1. */
function approve(engine: PolicyEngine, amount: string) {
  return engine.evaluate(APPROVAL, {
    principal: { tenantId: TENANT, userId: 'u1', roles: ['MEMBER'], amr: ['pwd'] },
    action: 'approve',
    resource: { status: 'PENDING_APPROVAL', amount, ownerId: 'u2' },
    context: { ip: '127.0.0.1' },
  });
}

function source(settings: () => TenantPolicySettings | null) {
  const calls = { count: 0 };
  return {
    calls,
    source: {
      tenantId: TENANT,
      policySettings: () => {
        calls.count += 1;
        return Promise.resolve(settings());
      },
    },
  };
}

describe('PolicyData: the file, overlaid by tenant settings from the database', () => {
  it('re-reads a tenant after the TTL, or at once after invalidate', async () => {
    let now = 1_000;
    const engine = await PolicyEngine.loadFile();
    const data = new PolicyData(engine, { ttlMs: 5_000, now: () => now });
    let limit = 30_000;
    const s = source(() => ({ approval_limit: limit }));
    await data.refresh(s.source);
    expect(approve(engine, '25000').allow).toBe(true);
    limit = 20_000;
    now += 4_999;
    await data.refresh(s.source);
    expect(s.calls.count).toBe(1); // within the TTL: no read
    expect(approve(engine, '25000').allow).toBe(true);
    now += 1;
    await data.refresh(s.source);
    expect(s.calls.count).toBe(2);
    expect(approve(engine, '25000').reasons).toEqual(['an amount above 20000 needs a VP']);
    limit = 40_000;
    data.invalidate(TENANT);
    await data.refresh(s.source);
    expect(s.calls.count).toBe(3);
    expect(approve(engine, '35000').allow).toBe(true);
  });

  it('tenant settings override the file field by field; without them the file applies', async () => {
    const engine = await PolicyEngine.loadFile();
    const data = new PolicyData(
      engine,
      { ttlMs: 0 },
      {
        tenants: { [TENANT]: { approval_limit: 50_000, approval_networks: ['10.0.0.0/8'] } },
      },
    );
    let settings: TenantPolicySettings | null = null;
    const s = source(() => settings);
    await data.refresh(s.source);
    expect(approve(engine, '100').reasons).toEqual([
      'approvals are not accepted from this network',
    ]);
    settings = { approval_networks: ['127.0.0.0/8'] };
    await data.refresh(s.source);
    // The network comes from the tenant, the limit still from the file.
    expect(approve(engine, '45000').allow).toBe(true);
    expect(approve(engine, '55000').reasons).toEqual(['an amount above 50000 needs a VP']);
  });

  it('one tenant’s settings never reach another tenant’s decisions', async () => {
    const OTHER = '0b1e0000-0000-4000-8000-000000000002';
    const engine = await PolicyEngine.loadFile();
    const data = new PolicyData(engine, { ttlMs: 0 });
    await data.refresh({
      tenantId: OTHER,
      policySettings: () => Promise.resolve({ approval_limit: 1_000_000 }),
    });
    // The other tenant raised its limit; this tenant still has the default 10,000.
    expect(approve(engine, '25000').reasons).toEqual(['an amount above 10000 needs a VP']);
    await data.refresh({
      tenantId: OTHER,
      policySettings: () => Promise.resolve({ approval_networks: ['10.0.0.0/8'] }),
    });
    expect(approve(engine, '500')).toEqual({ allow: true, reasons: [] });
  });

  it('fails closed: a settings read that fails is an error, not a decision on stale data', async () => {
    const engine = await PolicyEngine.loadFile();
    const data = new PolicyData(engine, { ttlMs: 0 });
    await expect(
      data.refresh({
        tenantId: TENANT,
        policySettings: () => Promise.reject(new Error('database down')),
      }),
    ).rejects.toThrow('database down');
  });

  it('refuses a base document that is not an object, keeping the one in force', async () => {
    const engine = await PolicyEngine.loadFile();
    const data = new PolicyData(
      engine,
      { ttlMs: 0 },
      {
        tenants: { [TENANT]: { approval_limit: 50_000 } },
      },
    );
    expect(() => data.replaceBase([1, 2])).toThrow('JSON object');
    expect(() => data.replaceBase({ tenants: [] })).toThrow('"tenants"');
    expect(approve(engine, '45000').allow).toBe(true);
  });
});

describe('PolicySource: reloading bundle and data from disk', () => {
  let dir: string;
  let bundle: string;
  let dataFile: string;
  const logger = createLogger('silent');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-reload-'));
    bundle = path.join(dir, 'policy.wasm');
    dataFile = path.join(dir, 'policy-data.json');
    await copyFile(POLICY_WASM_FILE, bundle);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function setup(limit: number) {
    await writeFile(dataFile, JSON.stringify({ tenants: { [TENANT]: { approval_limit: limit } } }));
    const engine = await PolicyEngine.loadFile(bundle);
    const data = new PolicyData(
      engine,
      { ttlMs: 0 },
      {
        tenants: { [TENANT]: { approval_limit: limit } },
      },
    );
    return { engine, policies: new PolicySource(engine, data, { bundle, data: dataFile }, logger) };
  }

  it('swaps in a new data file; refuses bad data or a bad bundle and keeps what is in force', async () => {
    const { engine, policies } = await setup(10_000);
    const revision = engine.revision;
    await writeFile(
      dataFile,
      JSON.stringify({ tenants: { [TENANT]: { approval_limit: 60_000 } } }),
    );
    expect(await policies.reload('test')).toEqual({ ok: true, revision });
    expect(approve(engine, '55000').allow).toBe(true);

    await writeFile(dataFile, '{ not json');
    const refused = await policies.reload('test');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toContain('not JSON');
    expect(approve(engine, '55000').allow).toBe(true);

    await writeFile(dataFile, JSON.stringify({ tenants: { [TENANT]: { approval_limit: 1 } } }));
    await writeFile(bundle, Buffer.from('not a wasm module'));
    expect((await policies.reload('test')).ok).toBe(false);
    // Neither half of the failed reload took effect: the old limit still applies.
    expect(approve(engine, '55000').allow).toBe(true);
    expect(engine.revision).toBe(revision);

    await copyFile(POLICY_WASM_FILE, bundle);
    expect(await policies.reload('test')).toEqual({ ok: true, revision });
    expect(approve(engine, '55000').reasons).toEqual(['an amount above 1 needs a VP']);
    await policies.close();
  });

  it('evaluations during reloads always get a real decision (no gap, no mix)', async () => {
    const { engine, policies } = await setup(10_000);
    const seen = new Set<string>();
    const state = { running: true };
    const evaluating = (async () => {
      while (state.running) {
        const d = approve(engine, '25000');
        seen.add(d.allow ? 'allow' : d.reasons.join('|'));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let i = 0; i < 20; i++) {
      const limit = i % 2 === 0 ? 30_000 : 10_000;
      await writeFile(
        dataFile,
        JSON.stringify({ tenants: { [TENANT]: { approval_limit: limit } } }),
      );
      expect((await policies.reload(`round ${i}`)).ok).toBe(true);
    }
    state.running = false;
    await evaluating;
    expect([...seen].sort()).toEqual(['allow', 'an amount above 10000 needs a VP']);
    await policies.close();
  });

  it('watching: a change of the data file on disk applies by itself', async () => {
    const { engine, policies } = await setup(10_000);
    policies.watch(20);
    await writeFile(
      dataFile,
      JSON.stringify({ tenants: { [TENANT]: { approval_limit: 70_000 } } }),
    );
    const deadline = Date.now() + 20_000;
    while (!approve(engine, '65000').allow && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(approve(engine, '65000').allow).toBe(true);
    await policies.close();
  });
});
