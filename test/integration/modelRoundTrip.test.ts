/**
 * prisma/schema.prisma and the SQL migrations describe the same tables twice; this file
 * proves they agree. For every model Prisma knows (enumerated at run time from
 * `Prisma.ModelName`, so a new model without a case here fails), rows with every scalar
 * field set — every enum value, arrays, decimals at their limits, nullable fields both null
 * and set, explicit timestamps — are written and read back in a new transaction and must
 * come back equal. The table must also have exactly as many columns as the model has
 * scalar fields, and every Prisma enum must match its PostgreSQL type label for label.
 *
 * Tenants are created by the owner role (the app role may only read them); every other
 * model goes through the app-role path, so RLS and grants apply as in production.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenDatabase } from '../../src/data/openDatabase.js';
import { TenantDatabase, type AccessMode, type TenantTx } from '../../src/data/TenantDatabase.js';
import {
  ApprovalDecision,
  OrgRole,
  Prisma,
  ShareRole,
  TeamRole,
  WorkflowStatus,
  type ApiKey,
  type Approval,
  type Credential,
  type GroupMapping,
  type RoleMappingVersion,
  type ServiceAccount,
  type ServiceAccountTeamMembership,
  type Team,
  type TenantPolicySettings,
  type TeamMembership,
  type Tenant,
  type User,
  type Workflow,
  type WorkflowShare,
} from '../../src/generated/prisma/client.js';
import * as PrismaEnums from '../../src/generated/prisma/enums.js';
import { createTestTenant, openTestDatabase, type TestTenant } from '../support/testDatabase.js';

type Row = object;

interface RoundTrip {
  /** The table the model maps to (for the column count). */
  readonly table: string;
  /** Each row as written (all scalar fields) and as read back in a later transaction. */
  readonly rows: ReadonlyArray<{ readonly written: Row; readonly read: Row | null }>;
}

let db: OpenDatabase;
let fx: TestTenant;

function as<T>(tenantId: string, mode: AccessMode, work: (tx: TenantTx) => Promise<T>): Promise<T> {
  return db.tenants.transaction({ tenantId, subject: 'round-trip' }, mode, work);
}

/** Distinct instants with millisecond precision (the columns are timestamptz(3)). */
const at = (n: number) => new Date(Date.UTC(2021, 2, 4, 5, 6, 7, 100 + n));

const TEXT = `O'Brien “quoted” \\ backslash — ünïcødé 🚀 ${'x'.repeat(20)}`;

/** One case per model; `Record<Prisma.ModelName, …>` also makes a missing case a type error. */
const cases: Record<Prisma.ModelName, () => Promise<RoundTrip>> = {
  async Tenant() {
    const id = randomUUID();
    const written: Tenant = {
      id,
      slug: `rt-${id.slice(0, 8)}`,
      name: 'Round-trip tenant',
      createdAt: at(1),
    };
    // Tenants are provisioned by the owner role, as createTestTenant does.
    await db.asOwner(async (_sql, prisma) => {
      const owner = new TenantDatabase(prisma, { timeoutMs: 20_000 });
      await owner.transaction({ tenantId: id, subject: 'test-setup' }, 'write', (tx) =>
        tx.tenant.create({ data: written }),
      );
    });
    const read = await as(id, 'read', (tx) => tx.tenant.findUnique({ where: { id } }));
    return { table: 'tenants', rows: [{ written, read }] };
  },

  async User() {
    const all: User = {
      tenantId: fx.id,
      id: randomUUID(),
      subject: `idp|${randomUUID()}`,
      email: `all-roles-${randomUUID()}@round-trip.example`,
      displayName: TEXT,
      roles: Object.values(OrgRole),
      grantedRoles: ['ADMIN', 'MEMBER'],
      mappedRoles: ['MEMBER', 'VP', 'AUDITOR'],
      groupsFingerprint: 'v1:fingerprint',
      deactivatedAt: at(5),
      invitedAt: at(1),
      createdAt: at(2),
    };
    const none: User = {
      ...all,
      id: randomUUID(),
      subject: `idp|${randomUUID()}`,
      email: `no-roles-${randomUUID()}@round-trip.example`,
      displayName: 'N',
      roles: [],
      grantedRoles: [],
      mappedRoles: [],
      groupsFingerprint: null,
      deactivatedAt: null,
      invitedAt: null,
      createdAt: at(3),
    };
    // An invitation: no subject yet.
    const invited: User = {
      ...none,
      id: randomUUID(),
      subject: null,
      email: `invited-${randomUUID()}@round-trip.example`,
      invitedAt: at(4),
    };
    return roundTrip('users', [all, none, invited], {
      create: (tx, data) => tx.user.create({ data }),
      find: (tx, row) =>
        tx.user.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: row.id } } }),
    });
  },

  async Team() {
    const team: Team = { tenantId: fx.id, id: randomUUID(), name: TEXT, createdAt: at(4) };
    return roundTrip('teams', [team], {
      create: (tx, data) => tx.team.create({ data }),
      find: (tx, row) =>
        tx.team.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: row.id } } }),
    });
  },

  async TeamMembership() {
    const teamId = await as(fx.id, 'write', async (tx) => {
      const team = await tx.team.create({
        data: { tenantId: fx.id, name: `Members ${randomUUID()}` },
      });
      return team.id;
    });
    const rows = Object.values(TeamRole).map((role, i): TeamMembership => ({
      tenantId: fx.id,
      teamId,
      userId: fx.users[i]!.id,
      role,
      viaGroups: i % 2 === 0,
      createdAt: at(10 + i),
    }));
    return roundTrip('team_memberships', rows, {
      create: (tx, data) => tx.teamMembership.create({ data }),
      find: (tx, row) =>
        tx.teamMembership.findUnique({
          where: {
            tenantId_teamId_userId: { tenantId: fx.id, teamId: row.teamId, userId: row.userId },
          },
        }),
    });
  },

  async Workflow() {
    const amounts = ['0.00', '999999999999.99', '0.01', '1234.50'];
    const rows = Object.values(WorkflowStatus).map((status, i): Workflow => ({
      tenantId: fx.id,
      id: randomUUID(),
      name: `${TEXT} ${i}`,
      description: i === 0 ? '' : `${TEXT}\nline two\ttabbed`,
      amount: new Prisma.Decimal(amounts[i % amounts.length]!),
      status,
      ownerId: fx.users[i % fx.users.length]!.id,
      // Nullable: both null and set.
      teamId: i % 2 === 0 ? null : fx.teamId,
      version: 1 + i * 1000,
      createdAt: at(20 + i),
      updatedAt: at(30 + i),
    }));
    return roundTrip('workflows', rows, {
      create: (tx, data) => tx.workflow.create({ data }),
      find: (tx, row) =>
        tx.workflow.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: row.id } } }),
    });
  },

  async WorkflowShare() {
    const workflowId = await newWorkflow();
    const rows = Object.values(ShareRole).map((role, i): WorkflowShare => ({
      tenantId: fx.id,
      workflowId,
      userId: fx.users[i]!.id,
      role,
      createdAt: at(40 + i),
    }));
    return roundTrip('workflow_shares', rows, {
      create: (tx, data) => tx.workflowShare.create({ data }),
      find: (tx, row) =>
        tx.workflowShare.findUnique({
          where: {
            tenantId_workflowId_userId: {
              tenantId: fx.id,
              workflowId: row.workflowId,
              userId: row.userId,
            },
          },
        }),
    });
  },

  async Approval() {
    const workflowId = await newWorkflow();
    const rows = Object.values(ApprovalDecision).map((decision, i): Approval => ({
      tenantId: fx.id,
      id: randomUUID(),
      workflowId,
      approverId: fx.users[i]!.id,
      decision,
      comment: i === 0 ? '' : TEXT,
      createdAt: at(50 + i),
    }));
    return roundTrip('approvals', rows, {
      create: (tx, data) => tx.approval.create({ data }),
      find: (tx, row) =>
        tx.approval.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: row.id } } }),
    });
  },

  async Credential() {
    const rows = [1, 200, 16_384].map((bytes, i): Credential => ({
      tenantId: fx.id,
      id: randomUUID(),
      ownerId: fx.users[i % fx.users.length]!.id,
      name: i === 1 ? TEXT : `key ${i}`,
      // Ciphertext as bytes, from the smallest sealed form (29 bytes) to the largest.
      secretCiphertext: new Uint8Array(Math.max(29, bytes)).map((_, j) => (j * 7 + i) % 256),
      secretKeyId: i === 2 ? 'k_2026-11' : 'dev',
      createdAt: at(60 + i),
      updatedAt: at(70 + i),
    }));
    return roundTrip('credentials', rows, {
      create: (tx, data) => tx.credential.create({ data }),
      find: (tx, row) =>
        tx.credential.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: row.id } } }),
    });
  },

  async ServiceAccount() {
    const rows = [true, false].map((active, i): ServiceAccount => ({
      tenantId: fx.id,
      id: randomUUID(),
      name: i === 0 ? TEXT : `robot ${randomUUID()}`,
      // Nullable: both null and set.
      description: i === 0 ? null : `${TEXT}\nline two`,
      active,
      createdAt: at(90 + i),
      deactivatedAt: active ? null : at(95 + i),
      // Organisation roles: none (the default) and several.
      roles: i === 0 ? [] : ['MEMBER', 'AUDITOR'],
    }));
    return roundTrip('service_accounts', rows, {
      create: (tx, data) => tx.serviceAccount.create({ data }),
      find: (tx, row) =>
        tx.serviceAccount.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: row.id } } }),
    });
  },

  async ServiceAccountTeamMembership() {
    const serviceAccountId = randomUUID();
    await as(fx.id, 'write', (tx) =>
      tx.serviceAccount.create({
        data: { tenantId: fx.id, id: serviceAccountId, name: `teams ${serviceAccountId}` },
      }),
    );
    const row: ServiceAccountTeamMembership = {
      tenantId: fx.id,
      teamId: fx.teamId,
      serviceAccountId,
      createdAt: at(97),
    };
    return roundTrip('service_account_team_memberships', [row], {
      create: (tx, data) => tx.serviceAccountTeamMembership.create({ data }),
      find: (tx, r) =>
        tx.serviceAccountTeamMembership.findUnique({
          where: {
            tenantId_teamId_serviceAccountId: {
              tenantId: fx.id,
              teamId: r.teamId,
              serviceAccountId: r.serviceAccountId,
            },
          },
        }),
    });
  },

  async ApiKey() {
    const serviceAccountId = randomUUID();
    await as(fx.id, 'write', (tx) =>
      tx.serviceAccount.create({
        data: { tenantId: fx.id, id: serviceAccountId, name: `keys ${serviceAccountId}` },
      }),
    );
    const id = (n: number) => randomUUID().replace(/-/g, '').slice(0, 23) + n.toString(16);
    const first = id(1);
    const rows: ApiKey[] = [
      {
        tenantId: fx.id,
        id: first,
        serviceAccountId,
        hash: new Uint8Array(32).map((_, j) => (j * 11) % 256),
        lastFour: 'a_Z-',
        scopes: [],
        createdAt: at(100),
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        replaces: null,
      },
      {
        tenantId: fx.id,
        id: id(2),
        serviceAccountId,
        hash: new Uint8Array(32).fill(255),
        lastFour: '0009',
        scopes: ['workflows:read', 'audit:*', 'a-b_c:d-e_*'],
        createdAt: at(101),
        expiresAt: at(102),
        revokedAt: at(103),
        lastUsedAt: at(104),
        replaces: first,
      },
    ];
    return roundTrip('api_keys', rows, {
      create: (tx, data) => tx.apiKey.create({ data }),
      find: (tx, row) =>
        tx.apiKey.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: row.id } } }),
    });
  },

  async RoleMappingVersion() {
    const row: RoleMappingVersion = {
      tenantId: fx.id,
      version: 2_147_483_647,
      updatedAt: at(90),
      updatedBy: fx.users[0]!.id,
    };
    return roundTrip('role_mapping_versions', [row], {
      create: (tx, data) => tx.roleMappingVersion.create({ data }),
      find: (tx, r) => tx.roleMappingVersion.findUnique({ where: { tenantId: r.tenantId } }),
    });
  },

  async GroupMapping() {
    // Its tenant's mapping version row (RoleMappingVersion's case may not have run yet).
    const teamId = await as(fx.id, 'write', async (tx) => {
      await tx.roleMappingVersion.upsert({
        where: { tenantId: fx.id },
        create: { tenantId: fx.id, version: 1, updatedBy: fx.users[0]!.id },
        update: {},
      });
      return (await tx.team.create({ data: { tenantId: fx.id, name: `Mapped ${randomUUID()}` } }))
        .id;
    });
    const rows: GroupMapping[] = [
      {
        tenantId: fx.id,
        id: randomUUID(),
        groupName: `/${TEXT}/admins`,
        orgRole: 'ADMIN',
        teamId: null,
        teamRole: null,
      },
      {
        tenantId: fx.id,
        id: randomUUID(),
        groupName: 'x'.repeat(255),
        orgRole: null,
        teamId,
        teamRole: 'MAINTAINER',
      },
    ];
    return roundTrip('group_mappings', rows, {
      create: (tx, data) => tx.groupMapping.create({ data }),
      find: (tx, r) =>
        tx.groupMapping.findUnique({ where: { tenantId_id: { tenantId: fx.id, id: r.id } } }),
    });
  },

  async TenantPolicySettings() {
    // One row per tenant: nulls and empty list here, every column set in a second tenant.
    const other = await createTestTenant(db, 1);
    const rows: TenantPolicySettings[] = [
      {
        tenantId: fx.id,
        approvalLimit: null,
        approvalNetworks: [],
        version: 1,
        updatedAt: at(80),
        updatedBy: null,
      },
      {
        tenantId: other.id,
        approvalLimit: new Prisma.Decimal('999999999999.99'),
        approvalNetworks: ['10.0.0.0/8', '2001:db8::/32'],
        version: 7,
        updatedAt: at(81),
        updatedBy: other.users[0]!.id,
      },
    ];
    const written: Array<{ written: Row; read: Row | null }> = [];
    for (const row of rows) {
      const one = await roundTripIn(row.tenantId, 'tenant_policy_settings', [row], {
        create: (tx, data) => tx.tenantPolicySettings.create({ data }),
        find: (tx, r) => tx.tenantPolicySettings.findUnique({ where: { tenantId: r.tenantId } }),
      });
      written.push(...one.rows);
    }
    return { table: 'tenant_policy_settings', rows: written };
  },
};

async function newWorkflow(): Promise<string> {
  return as(fx.id, 'write', async (tx) => {
    const workflow = await tx.workflow.create({
      data: { tenantId: fx.id, name: 'Parent', amount: '1', ownerId: fx.users[0]!.id },
    });
    return workflow.id;
  });
}

interface RoundTripOps<T> {
  create: (tx: TenantTx, data: T) => Promise<unknown>;
  find: (tx: TenantTx, row: T) => Promise<Row | null>;
}

/** Writes `rows` in one app-role transaction and reads each back in another. */
function roundTrip<T extends Row>(
  table: string,
  rows: readonly T[],
  ops: RoundTripOps<T>,
): Promise<RoundTrip> {
  return roundTripIn(fx.id, table, rows, ops);
}

async function roundTripIn<T extends Row>(
  tenantId: string,
  table: string,
  rows: readonly T[],
  ops: RoundTripOps<T>,
): Promise<RoundTrip> {
  await as(tenantId, 'write', async (tx) => {
    for (const row of rows) await ops.create(tx, row);
  });
  const read = await as(tenantId, 'read', async (tx) => {
    const found: Array<Row | null> = [];
    for (const row of rows) found.push(await ops.find(tx, row));
    return found;
  });
  return { table, rows: rows.map((written, i) => ({ written, read: read[i] ?? null })) };
}

/** The scalar fields of a model, from the generated client (`<Model>ScalarFieldEnum`). */
function scalarFields(model: string): string[] {
  const fields = (Prisma as unknown as Record<string, Record<string, string> | undefined>)[
    `${model}ScalarFieldEnum`
  ];
  if (!fields) throw new Error(`Prisma.${model}ScalarFieldEnum is missing`);
  return Object.values(fields).sort();
}

/** Comparable form of a value that keeps its type: a string is not equal to a Date. */
function comparable(value: unknown): unknown {
  if (value instanceof Date) return { Date: value.toISOString() };
  if (Prisma.Decimal.isDecimal(value)) return { Decimal: value.toFixed() };
  if (Array.isArray(value)) return value.map(comparable);
  return value;
}

function comparableRow(row: Row): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row)
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([k, v]) => [k, comparable(v)]),
  );
}

beforeAll(async () => {
  db = await openTestDatabase();
  fx = await createTestTenant(db, 3);
});

afterAll(async () => {
  await db.close();
});

describe('Prisma schema and SQL migrations agree', () => {
  const models = Object.values(Prisma.ModelName);

  it('has a round-trip case for every Prisma model', () => {
    expect(models.length).toBeGreaterThan(0);
    expect(Object.keys(cases).sort()).toEqual([...models].sort());
  });

  it.each(models)('%s: every field round-trips unchanged', async (model) => {
    const lookup: Partial<Record<string, () => Promise<RoundTrip>>> = cases;
    const run = lookup[model];
    if (!run) throw new Error(`no round-trip case for model ${model}: add one to this file`);
    const { table, rows } = await run();
    const fields = scalarFields(model);

    expect(rows.length).toBeGreaterThan(0);
    for (const { written, read } of rows) {
      // Every scalar field was set explicitly (no database default hides a mismatch)…
      expect(Object.keys(written).sort()).toEqual(fields);
      // …and comes back equal, with nothing extra.
      expect(read).not.toBeNull();
      expect(comparableRow(read!)).toEqual(comparableRow(written));
    }

    // Every column of the table is a field of the model: the round trip proved each field
    // maps to a distinct existing column, so equal counts leave no unmapped column.
    const columns = await as(fx.id, 'read', (tx) =>
      tx.$queryRawUnsafe<Array<{ name: string }>>(
        `select column_name as name from information_schema.columns
          where table_schema = 'public' and table_name = $1`,
        table,
      ),
    );
    expect(columns).toHaveLength(fields.length);
  });

  it('every Prisma enum matches its PostgreSQL enum type, value for value and in order', async () => {
    const types = await as(fx.id, 'read', (tx) =>
      tx.$queryRawUnsafe<Array<{ name: string; labels: string[] }>>(
        `select t.typname as name, array_agg(e.enumlabel::text order by e.enumsortorder) as labels
           from pg_type t
           join pg_enum e on e.enumtypid = t.oid
           join pg_namespace n on n.oid = t.typnamespace
          where n.nspname = 'public'
          group by t.typname`,
      ),
    );
    types.sort((x, y) => x.name.localeCompare(y.name));
    const prismaEnums = Object.entries(PrismaEnums as Record<string, Record<string, string>>)
      .map(([name, values]) => ({ name, labels: Object.values(values) }))
      .sort((x, y) => x.name.localeCompare(y.name));
    expect(prismaEnums.length).toBeGreaterThan(0);
    expect(types).toEqual(prismaEnums);
  });
});
