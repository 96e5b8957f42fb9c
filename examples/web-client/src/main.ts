/**
 * The example client against a running Gatehouse:
 *
 *   GATEHOUSE_TOKEN=$(npm run -s token -- alice) npx tsx examples/web-client/src/main.ts
 *
 * Lists the workflows two per page (denied cells shown as their error code), then watches
 * the audit feed (admins and auditors), creates a workflow and prints the event its
 * creation wrote. GATEHOUSE_URL defaults to http://localhost:4000/graphql.
 */
import type { ErrorLike } from '@apollo/client';
import { auditHead, recordAuditFeed } from './auditFeed.js';
import { createGatehouseClient } from './client.js';
import { asError, errorCodesByPath } from './errors.js';
import type { WorkflowsQuery } from './gql/graphql.js';
import { CreateWorkflowMutation } from './operations.js';
import { loadNextPage, settled, watchWorkflows } from './workflowList.js';

const PAGE_SIZE = 2;

function printPage(page: WorkflowsQuery, error: ErrorLike | undefined): void {
  const denied = errorCodesByPath(error);
  page.workflows.edges.forEach(({ node }, i) => {
    const amount = denied.get(`workflows.edges.${i}.node.amount`) ?? node.amount ?? '—';
    console.log(
      `  ${node.name.padEnd(28)} ${amount.padStart(10)}  ${node.status.padEnd(16)} ${node.owner.displayName}`,
    );
  });
}

async function main(): Promise<number> {
  const token = process.env['GATEHOUSE_TOKEN'];
  if (!token) {
    console.error('GATEHOUSE_TOKEN is required, e.g. GATEHOUSE_TOKEN=$(npm run -s token -- alice)');
    return 2;
  }
  const url = process.env['GATEHOUSE_URL'] ?? 'http://localhost:4000/graphql';
  const gatehouse = createGatehouseClient({ url, token: () => token });
  const { apollo } = gatehouse;
  try {
    const list = watchWorkflows(apollo, PAGE_SIZE);
    const first = await settled(list);
    console.log(`workflows: ${first.data.workflows.totalCount} in all, ${PAGE_SIZE} per page`);
    printPage(first.data, first.error);
    for (let page = await loadNextPage(list); page; page = await loadNextPage(list)) {
      if (!page.data) throw asError(page.error, 'no page');
      console.log('  --- next page');
      printPage(page.data, page.error);
    }
    const loaded = (await settled(list)).data.workflows.edges.length;
    console.log(`loaded ${loaded} into the cache's one list`);

    let head: number | undefined;
    try {
      head = await auditHead(apollo);
    } catch (error) {
      // FORBIDDEN: only organisation admins and auditors read the trail.
      const codes = [...errorCodesByPath(error).values()].join(', ');
      if (!codes) throw error;
      console.log(`audit feed skipped: ${codes}`);
    }
    // Watch before acting, from the current head: the creation's event cannot be missed.
    const feed = head === undefined ? undefined : recordAuditFeed(apollo, head);
    try {
      const created = await apollo.mutate({
        mutation: CreateWorkflowMutation,
        variables: {
          input: { name: `Example client ${new Date().toISOString()}`, amount: '42.00' },
        },
      });
      if (!created.data || created.error) throw asError(created.error, 'no workflow created');
      const { id, status } = created.data.createWorkflow;
      console.log(`created workflow ${id} (${status})`);
      if (feed) {
        const event = await feed.waitFor(
          (e) => e.action === 'workflow.create' && e.resource?.id === id,
        );
        console.log(
          `audit event ${event.seq}: ${event.action} ${event.outcome} by ${event.actor.subject ?? 'the system'} on ${event.resource?.type ?? ''} ${event.resource?.id ?? ''}`,
        );
      }
    } finally {
      feed?.stop();
    }
    return 0;
  } finally {
    await gatehouse.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
