/**
 * The hot read of the `workflows` list: one page of workflows — and, when the selection
 * asks for them, each one's shares — in one statement, in the operation's transaction and
 * under RLS like every other read. The rows come back as one JSON document, so the driver
 * and Prisma's raw path handle one value instead of eleven columns per row (the model
 * layer's per-value mapping was the largest cost of a list request), and the shares need
 * no second round trip. Every value is a parameter.
 *
 * It returns what `workflow.findMany` and `workflowShare.findMany` would (the same models,
 * values and order): test/integration/workflowPage.test.ts compares the two for every demo
 * user, filter and paging direction.
 */
import { Prisma, type Workflow, type WorkflowShare } from '../generated/prisma/client.js';
import type { TenantTx } from '../data/TenantDatabase.js';
import type { OrgRole, ShareRole, WorkflowStatus } from '../generated/prisma/enums.js';
import { visibleWorkflows } from '../domain/workflowVisibility.js';
import type { CursorPosition } from './cursor.js';
import { keysetSql, type PageRequest } from './resolvers/paging.js';

/**
 * Each row is a JSON object of a row of the subquery (its column names are the keys: cheaper
 * for PostgreSQL than building each object by name). Times travel as milliseconds since the
 * epoch (exact for timestamptz(3); no time zone), the decimal as its exact text.
 */
const SHARES = Prisma.sql`(select coalesce(json_agg(sh order by sh."createdAt", sh."userId"), '[]'::json)
  from (select s.user_id as "userId", s.role,
               (extract(epoch from s.created_at) * 1000)::bigint as "createdAt"
          from workflow_shares s where s.tenant_id = w.tenant_id and s.workflow_id = w.id) sh)`;

interface ShareJson {
  readonly userId: string;
  readonly role: ShareRole;
  readonly createdAt: number;
}

interface WorkflowJson {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** The exact decimal, as text. */
  readonly amount: string;
  readonly status: WorkflowStatus;
  readonly ownerId: string;
  readonly teamId: string | null;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Present when asked for. */
  readonly shares?: readonly ShareJson[];
}

/**
 * The rows of the list `caller` may see, of `status` when given: SQL over `workflows w`,
 * for the page and for `totalCount`.
 */
export function listCondition(
  caller: { kind: 'user' | 'service_account'; id: string; roles: readonly OrgRole[] },
  status: WorkflowStatus | null | undefined,
): Prisma.Sql {
  const visible = visibleWorkflows(caller);
  return status ? Prisma.sql`${visible} and w.status = ${status}::"WorkflowStatus"` : visible;
}

/** A page's rows, in the request's order, and their shares when asked for. */
export interface WorkflowPageRows {
  readonly rows: Workflow[];
  /** Workflow id → its shares, oldest first (undefined: not read). */
  readonly shares: ReadonlyMap<string, WorkflowShare[]> | undefined;
}

/**
 * Reads `size + 1` rows of the tenant's workflows matching `condition` (SQL over
 * `workflows w`), in the order of `request` (paging.ts keysetSql).
 */
export async function readWorkflowPage(
  tx: TenantTx,
  tenantId: string,
  condition: Prisma.Sql,
  request: PageRequest<CursorPosition>,
  withShares: boolean,
): Promise<WorkflowPageRows> {
  const page = keysetSql(request, 'w');
  const order = Prisma.raw(page.order);
  const [result] = await tx.$queryRaw<Array<{ page: string }>>`
    select coalesce(json_agg(p order by p."createdAt" ${order}, p.id ${order}), '[]')::text as page
      from (select w.id, w.name, w.description, w.amount::text as amount, w.status,
                   w.owner_id as "ownerId", w.team_id as "teamId", w.version,
                   (extract(epoch from w.created_at) * 1000)::bigint as "createdAt",
                   (extract(epoch from w.updated_at) * 1000)::bigint as "updatedAt"
                   ${withShares ? Prisma.sql`, ${SHARES} as shares` : Prisma.empty}
              from workflows w
             where w.tenant_id = ${tenantId}::uuid and ${condition} and ${page.where}
             order by ${page.orderBy} limit ${page.limit}) p`;
  const parsed = JSON.parse(result!.page) as WorkflowJson[];
  const rows = parsed.map((w): Workflow => ({
    tenantId,
    id: w.id,
    name: w.name,
    description: w.description,
    amount: new Prisma.Decimal(w.amount),
    status: w.status,
    ownerId: w.ownerId,
    teamId: w.teamId,
    version: w.version,
    createdAt: new Date(w.createdAt),
    updatedAt: new Date(w.updatedAt),
  }));
  if (!withShares) return { rows, shares: undefined };
  const shares = new Map<string, WorkflowShare[]>();
  for (const w of parsed) {
    shares.set(
      w.id,
      (w.shares ?? []).map((s) => ({
        tenantId,
        workflowId: w.id,
        userId: s.userId,
        role: s.role,
        createdAt: new Date(s.createdAt),
      })),
    );
  }
  return { rows, shares };
}
