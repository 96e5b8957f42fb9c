/**
 * A tenant's policy settings (gate 3 data): the approval limit and the networks approvals
 * are accepted from. Kept by the tenant's admins; read by PolicyData for the policies.
 */
import { isIP } from 'node:net';
import type { TenantTx } from '../data/TenantDatabase.js';
import { type Prisma, type TenantPolicySettings as Row } from '../generated/prisma/client.js';
import type { TenantPolicySettings } from '../authz/opa/PolicyData.js';
import { badUserInput, conflict } from '../errors/clientErrors.js';
import type { Actor } from './workflowCommands.js';
import { diff, type Changed } from './Changed.js';
import { isUniqueViolation } from './uniqueViolation.js';

export const MAX_NETWORKS = 100;

/** A tenant's settings as the API shows them (defaults where it has set nothing). */
export interface PolicySettingsModel {
  readonly approvalLimit: Prisma.Decimal | null;
  readonly approvalNetworks: readonly string[];
  readonly version: number;
  readonly updatedAt: Date | null;
  readonly updatedBy: string | null;
}

/** Bits of an IPv4 or IPv6 address, most significant first; undefined if not an address. */
function addressBits(address: string): string | undefined {
  const version = isIP(address);
  if (version === 4) {
    return address
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('');
  }
  if (version !== 6 || address.includes('.')) return undefined; // no IPv4-mapped tails
  const [head = '', tail] = address.split('::');
  const groups = (part: string): string[] => (part ? part.split(':') : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right]
    .map((g) => parseInt(g, 16).toString(2).padStart(16, '0'))
    .join('');
}

/**
 * A network in CIDR notation with no host bits set (what PostgreSQL's cidr and OPA's
 * net.cidr_contains accept), e.g. `10.0.0.0/8` or `2001:db8::/32`.
 */
export function requireNetwork(value: string): string {
  const invalid = (): never => {
    throw badUserInput(`approvalNetworks: "${value.slice(0, 60)}" is not a network (CIDR)`, {
      field: 'approvalNetworks',
    });
  };
  const match = /^([0-9A-Fa-f.:]{2,45})\/(\d{1,3})$/.exec(value.trim());
  if (!match) return invalid();
  const bits = addressBits(match[1] as string);
  const prefix = Number(match[2]);
  if (bits === undefined || prefix > bits.length) return invalid();
  if (/1/.test(bits.slice(prefix))) {
    throw badUserInput(
      `approvalNetworks: "${value.slice(0, 60)}" has host bits set; use the network address`,
      { field: 'approvalNetworks' },
    );
  }
  return `${(match[1] as string).toLowerCase()}/${prefix}`;
}

function toModel(row: Row | null): PolicySettingsModel {
  return {
    approvalLimit: row?.approvalLimit ?? null,
    approvalNetworks: row?.approvalNetworks ?? [],
    version: row?.version ?? 0,
    updatedAt: row?.updatedAt ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

/** The policy data form of a row (see PolicyData): only what the tenant set. */
export function toPolicyData(row: Row | null): TenantPolicySettings | null {
  if (!row) return null;
  const data: { approval_limit?: number; approval_networks?: string[] } = {};
  if (row.approvalLimit !== null) data.approval_limit = row.approvalLimit.toNumber();
  if (row.approvalNetworks.length > 0) data.approval_networks = [...row.approvalNetworks];
  return Object.keys(data).length > 0 ? data : null;
}

export async function readPolicySettings(
  tx: TenantTx,
  tenantId: string,
): Promise<PolicySettingsModel> {
  return toModel(await tx.tenantPolicySettings.findFirst({ where: { tenantId } }));
}

export interface PolicySettingsPatch {
  /** undefined: unchanged; null: back to the default. */
  readonly approvalLimit?: string | null | undefined;
  readonly approvalNetworks?: readonly string[] | null | undefined;
}

export async function updatePolicySettings(
  tx: TenantTx,
  actor: Actor,
  patch: PolicySettingsPatch,
  expectedVersion: number | null | undefined,
): Promise<Changed<PolicySettingsModel>> {
  if (patch.approvalNetworks === null) {
    throw badUserInput('approvalNetworks: pass [] to return to the default', {
      field: 'approvalNetworks',
    });
  }
  const networks =
    patch.approvalNetworks === undefined
      ? undefined
      : [...new Set(patch.approvalNetworks.map(requireNetwork))];
  if (networks && networks.length > MAX_NETWORKS) {
    throw badUserInput(`approvalNetworks: at most ${MAX_NETWORKS} networks`, {
      field: 'approvalNetworks',
    });
  }
  const current = await tx.tenantPolicySettings.findFirst({
    where: { tenantId: actor.tenantId },
  });
  const version = current?.version ?? 0;
  if (expectedVersion !== undefined && expectedVersion !== null && expectedVersion !== version) {
    throw conflict('The policy settings were changed by someone else; reload them and retry');
  }
  const changes = {
    ...(patch.approvalLimit !== undefined ? { approvalLimit: patch.approvalLimit } : {}),
    ...(networks !== undefined ? { approvalNetworks: networks } : {}),
    updatedAt: new Date(),
    updatedBy: actor.userId,
  };
  const before = toModel(current);
  const changed = (after: PolicySettingsModel): Changed<PolicySettingsModel> => ({
    value: after,
    resource: { type: 'policy_settings', id: null },
    changes: diff(before, after, ['approvalLimit', 'approvalNetworks', 'version']),
  });
  if (!current) {
    try {
      return changed(
        toModel(
          await tx.tenantPolicySettings.create({ data: { tenantId: actor.tenantId, ...changes } }),
        ),
      );
    } catch (error) {
      // Another admin created them at the same moment.
      if (isUniqueViolation(error)) {
        throw conflict('The policy settings were changed by someone else; reload them and retry');
      }
      throw error;
    }
  }
  // Compare-and-set on the version: a concurrent change makes this update match no row.
  const [updated] = await tx.tenantPolicySettings.updateManyAndReturn({
    where: { tenantId: actor.tenantId, version },
    data: { ...changes, version: { increment: 1 } },
  });
  if (!updated) {
    throw conflict('The policy settings were changed by someone else; reload them and retry');
  }
  return changed(toModel(updated));
}
