/**
 * The list benchmark's query on each server, and the check run before measuring that
 * both answer it with the same rows (bench/authzList.ts).
 *
 * Gatehouse: `workflows(first: n)`, newest first (created_at, id descending). PostGraphile
 * (amber preset): `allWorkflows` in the same order — the columns Gatehouse's paging index
 * covers (`workflows_page_idx`) — with the same columns: the `id` column (PostGraphile's
 * `rowId`; its `id` is the Node id), `name`, `amount` and the shares' `role`.
 */
export type ServerKind = 'gatehouse' | 'postgraphile';

export function listQuery(kind: ServerKind, pageSize: number): string {
  return kind === 'gatehouse'
    ? `{ workflows(first: ${pageSize}) { edges { node { id name amount shares { role } } } } }`
    : `{ allWorkflows(first: ${pageSize}, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { edges { node { rowId name amount workflowSharesByTenantIdAndWorkflowId { nodes { role } } } } } }`;
}

export interface ListRow {
  readonly id: string;
  readonly name: string;
  readonly amount: string | null;
  readonly shareRoles: readonly string[] | null;
}

export interface ListAnswer {
  readonly status: number;
  /** Undefined when the answer has no list. */
  readonly rows: readonly ListRow[] | undefined;
  readonly errors: readonly unknown[];
}

interface GatehouseBody {
  data?: {
    workflows?: {
      edges: Array<{
        node: {
          id: string;
          name: string;
          amount: string | null;
          shares: Array<{ role: string }> | null;
        };
      }>;
    };
  };
  errors?: unknown[];
}

interface PostGraphileBody {
  data?: {
    allWorkflows?: {
      edges: Array<{
        node: {
          rowId: string;
          name: string;
          amount: string;
          workflowSharesByTenantIdAndWorkflowId: { nodes: Array<{ role: string }> };
        };
      }>;
    };
  };
  errors?: unknown[];
}

export async function fetchList(
  kind: ServerKind,
  endpoint: string,
  authorization: string | undefined,
  pageSize: number,
): Promise<ListAnswer> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(authorization ? { authorization } : {}),
    },
    body: JSON.stringify({ query: listQuery(kind, pageSize) }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status: response.status, rows: undefined, errors: [text.slice(0, 200)] };
  }
  if (kind === 'gatehouse') {
    const b = body as GatehouseBody;
    return {
      status: response.status,
      rows: b.data?.workflows?.edges.map(({ node }) => ({
        id: node.id,
        name: node.name,
        amount: node.amount,
        shareRoles: node.shares === null ? null : node.shares.map((s) => s.role),
      })),
      errors: b.errors ?? [],
    };
  }
  const b = body as PostGraphileBody;
  return {
    status: response.status,
    rows: b.data?.allWorkflows?.edges.map(({ node }) => ({
      id: node.rowId,
      name: node.name,
      amount: node.amount,
      shareRoles: node.workflowSharesByTenantIdAndWorkflowId.nodes.map((s) => s.role),
    })),
    errors: b.errors ?? [],
  };
}

export interface SameRowsCheck {
  readonly gatehouse: string;
  readonly postgraphile: string;
  /** The bench tenant: a token of it, and its workflows' ids. */
  readonly token: string;
  readonly ids: readonly string[];
  /** Another tenant: a token of it, and its workflows' ids. */
  readonly otherToken: string;
  readonly otherIds: readonly string[];
  /** The bench tenant's claims, signed by a key neither server trusts. */
  readonly foreignToken: string;
}

function fail(message: string): never {
  throw new Error(`same-rows check failed: ${message}`);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return a.length === b.length && set.size === b.length && b.every((x) => set.has(x));
}

/**
 * Before anything is measured: both servers list the same 100 rows (ids, names, amounts,
 * share roles, in the same order) for the bench tenant, exactly its workflows; the other
 * tenant's token gets its own rows and none of the bench tenant's from both (RLS, on
 * PostGraphile, is the only thing that separates them); no token gets no row from
 * PostGraphile; a token signed by another key is refused by both. Throws otherwise.
 * Returns what it checked, for the report.
 */
export async function checkSameRows(c: SameRowsCheck): Promise<string> {
  const size = c.ids.length;
  const gh = await fetchList('gatehouse', c.gatehouse, c.token, size);
  const pg = await fetchList('postgraphile', c.postgraphile, c.token, size);
  for (const [name, answer] of [
    ['Gatehouse', gh],
    ['PostGraphile', pg],
  ] as const) {
    if (answer.status !== 200 || answer.errors.length > 0 || !answer.rows) {
      fail(`${name} answered ${answer.status}: ${JSON.stringify(answer.errors).slice(0, 300)}`);
    }
    if (
      !sameSet(
        answer.rows.map((r) => r.id),
        c.ids,
      )
    ) {
      fail(`${name} did not list exactly the tenant's ${size} workflows`);
    }
  }
  const ghRows = gh.rows!;
  const pgRows = pg.rows!;
  ghRows.forEach((row, i) => {
    const other = pgRows[i]!;
    if (
      row.id !== other.id ||
      row.name !== other.name ||
      row.amount !== other.amount ||
      JSON.stringify(row.shareRoles) !== JSON.stringify(other.shareRoles)
    ) {
      fail(
        `row ${i} differs: Gatehouse ${JSON.stringify(row)}, PostGraphile ${JSON.stringify(other)}`,
      );
    }
  });
  for (const [kind, endpoint] of [
    ['gatehouse', c.gatehouse],
    ['postgraphile', c.postgraphile],
  ] as const) {
    const other = await fetchList(kind, endpoint, c.otherToken, size);
    if (!other.rows || other.errors.length > 0) {
      fail(`${kind}, other tenant: ${other.status} ${JSON.stringify(other.errors).slice(0, 300)}`);
    }
    const ids = new Set(c.ids);
    if (other.rows.some((r) => ids.has(r.id))) fail(`${kind} gave the other tenant our rows`);
    if (
      !sameSet(
        other.rows.map((r) => r.id),
        c.otherIds,
      )
    ) {
      fail(`${kind} did not list exactly the other tenant's ${c.otherIds.length} workflows`);
    }
    const foreign = await fetchList(kind, endpoint, c.foreignToken, size);
    if (foreign.status !== 401 || (foreign.rows?.length ?? 0) > 0) {
      fail(`${kind} did not refuse a token of another key (${foreign.status})`);
    }
  }
  const anonymous = await fetchList('postgraphile', c.postgraphile, undefined, size);
  if ((anonymous.rows?.length ?? 0) > 0) fail('PostGraphile listed rows without a token');
  return (
    `same rows: both servers list the tenant's ${size} workflows identically (ids, names, amounts, share roles, order); ` +
    `the other tenant's token gets its ${c.otherIds.length} and none of them from either; ` +
    `PostGraphile without a token gets none (${anonymous.status}); a token of another key: 401 from both`
  );
}
