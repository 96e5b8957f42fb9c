/**
 * The data policies evaluate with (`data` in Rego), changeable without a redeploy:
 *
 * - a base document from POLICY_DATA_FILE (operator defaults; reloaded with the bundle on
 *   SIGHUP or, in development, when the file changes — see PolicySource), overlaid with
 * - each tenant's settings from the database (`tenant_policy_settings`, kept by the
 *   tenant's admins with `updatePolicySettings`), under `data.tenants[<tenant id>]`.
 *
 * A tenant's settings are read inside one of its own requests (RLS applies as everywhere)
 * when a policy is about to be evaluated for it and its copy is older than `ttlMs`, and at
 * once after this process changed them; other instances see a change within `ttlMs`.
 * Loading failures propagate, so the decision fails closed rather than using stale limits.
 */
import type { PolicyEngine } from './PolicyEngine.js';
import type { CompiledPolicy } from './PolicyEngine.js';

/** A tenant's own settings; an absent value inherits the base document (then the policy default). */
export interface TenantPolicySettings {
  readonly approval_limit?: number;
  readonly approval_networks?: readonly string[];
}

export interface TenantSettingsSource {
  readonly tenantId: string;
  /** Reads the tenant's settings row (memoised per request), or null when it has none. */
  policySettings(): Promise<TenantPolicySettings | null>;
}

interface Entry {
  readonly settings: TenantPolicySettings | null;
  readonly json: string;
  readonly loadedAt: number;
}

type Document = Record<string, unknown> & { tenants?: Record<string, unknown> };

export class PolicyData {
  readonly #engine: PolicyEngine;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #base: Document;
  readonly #tenants = new Map<string, Entry>();
  /** Tenants whose next refresh must read the database whatever the TTL says. */
  readonly #stale = new Set<string>();

  constructor(
    engine: PolicyEngine,
    options: { ttlMs: number; now?: () => number },
    base: object = {},
  ) {
    this.#engine = engine;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#base = PolicyData.#checkBase(base);
    this.#engine.swap({ data: this.document() });
  }

  static #checkBase(base: unknown): Document {
    if (typeof base !== 'object' || base === null || Array.isArray(base)) {
      throw new Error('policy data must be a JSON object');
    }
    const tenants: unknown = (base as Record<string, unknown>)['tenants'];
    if (
      tenants !== undefined &&
      (typeof tenants !== 'object' || tenants === null || Array.isArray(tenants))
    ) {
      throw new Error('policy data: "tenants" must be an object keyed by tenant id');
    }
    return base as Document;
  }

  /** The whole document: the base with every loaded tenant's settings laid over it. */
  document(): object {
    const tenants: Record<string, unknown> = { ...(this.#base.tenants ?? {}) };
    for (const [tenantId, entry] of this.#tenants) {
      if (!entry.settings) continue;
      const inherited = tenants[tenantId];
      tenants[tenantId] = {
        ...(typeof inherited === 'object' && inherited !== null ? inherited : {}),
        ...entry.settings,
      };
    }
    return { ...this.#base, tenants };
  }

  /**
   * Replaces the base document and, optionally, the bundle, in one swap (see
   * PolicyEngine.swap). Throws, changing nothing, when the document is not valid.
   */
  replaceBase(base: unknown, bundle?: CompiledPolicy): void {
    const previous = this.#base;
    this.#base = PolicyData.#checkBase(base);
    try {
      this.#engine.swap({ ...(bundle ? { bundle } : {}), data: this.document() });
    } catch (error) {
      this.#base = previous;
      throw error;
    }
  }

  /** Makes the next refresh for this tenant read the database (after a local change). */
  invalidate(tenantId: string): void {
    this.#stale.add(tenantId);
  }

  /** Makes sure the engine holds this tenant's current settings before a decision. */
  async refresh(source: TenantSettingsSource): Promise<void> {
    const tenantId = source.tenantId;
    const entry = this.#tenants.get(tenantId);
    if (entry && !this.#stale.has(tenantId) && this.#now() - entry.loadedAt < this.#ttlMs) return;
    this.#stale.delete(tenantId);
    const settings = await source.policySettings();
    const json = JSON.stringify(settings);
    const current = this.#tenants.get(tenantId);
    this.#tenants.set(tenantId, { settings, json, loadedAt: this.#now() });
    if (current?.json !== json && !(current === undefined && settings === null)) {
      this.#engine.swap({ data: this.document() });
    }
  }
}
