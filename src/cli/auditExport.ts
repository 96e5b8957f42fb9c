/**
 * `npm run audit:export -- --tenant <id> [--since <ISO time>] [--checkpoints]`: writes the
 * tenant's audit trail to standard output as NDJSON (src/audit/auditExport.ts: the chain
 * head, then every event with its hashes, in seq order, then with `--checkpoints` its
 * signed checkpoints), streamed a page at a time, as the owner role. Check it anywhere with
 * `npm run audit:verify -- --file <export> --public-key <pem>`.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { checkpointLine, eventLine, headLine } from '../audit/auditExport.js';
import { listCheckpoints, readChainHead } from '../audit/auditRows.js';
import { inTenant } from '../audit/operatorAccess.js';
import { storedEvents } from '../audit/verifyAuditChain.js';
import { runCli } from './runCli.js';
import { withOwnerSql } from './withOwnerSql.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function write(line: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(`${line}\n`, (error) => (error ? reject(error) : resolve())),
  );
}

runCli(async () => {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      since: { type: 'string' },
      checkpoints: { type: 'boolean', default: false },
    },
  });
  const tenantId = values.tenant;
  if (!tenantId || !UUID.test(tenantId)) throw new Error('--tenant <tenant id> is required');
  const since = values.since ? new Date(values.since) : undefined;
  if (since && Number.isNaN(since.getTime())) throw new Error('--since must be an ISO 8601 time');
  await withOwnerSql(loadConfig(), (sql) =>
    inTenant(sql, tenantId, async (query) => {
      await write(headLine(tenantId, await readChainHead(query, tenantId)));
      // From the first event at or after --since: the exported part stays contiguous.
      const [first] = since
        ? await query<{ seq: string | number | bigint }>(
            `select seq from audit_events where tenant_id = $1::uuid and occurred_at >= $2
              order by seq limit 1`,
            [tenantId, since],
          )
        : [{ seq: 1 }];
      if (first) {
        for await (const event of storedEvents(query, tenantId, Number(first.seq))) {
          await write(eventLine(event));
        }
      }
      if (values.checkpoints) {
        const checkpoints = await listCheckpoints(query, tenantId, {
          from: null,
          towards: 'older',
          limit: 100_000,
        });
        for (const c of checkpoints.reverse()) await write(checkpointLine(c));
      }
    }),
  );
});
