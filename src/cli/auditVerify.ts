/**
 * `npm run audit:verify [-- --tenant <id>] [--public-key <pem> [--checkpoints <ndjson>]]`
 * `npm run audit:verify -- --file <export.ndjson> [--public-key <pem>]`
 *
 * Recomputes every tenant's audit chain (or one tenant's) as the owner role and prints,
 * per tenant, `ok` or where it breaks: the tenant and the first broken seq. With
 * `--public-key`, it also holds each chain against signed checkpoints — those stored, or
 * the ones pinned outside the system (`--checkpoints`, as written by
 * `audit:export -- --checkpoints`) — so a history rewritten with every hash recomputed is
 * detected. With `--file`, it checks an export without any database. Exit code 1 when
 * anything is broken.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import type { AuditCheckpoint } from '../audit/AuditCheckpoint.js';
import { parseExport } from '../audit/auditExport.js';
import { listCheckpoints, readEventsAfter } from '../audit/auditRows.js';
import { chainTenants, inTenant } from '../audit/operatorAccess.js';
import { verifyCheckpoints, type CheckpointVerification } from '../audit/verifyCheckpoints.js';
import {
  verifyAuditChain,
  verifyEvents,
  type ChainVerification,
} from '../audit/verifyAuditChain.js';
import { runCli } from './runCli.js';
import { withOwnerSql } from './withOwnerSql.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function report(
  tenantId: string,
  chain: ChainVerification,
  checkpoints: CheckpointVerification | undefined,
): boolean {
  if (!chain.valid) {
    process.stdout.write(
      `tenant ${tenantId}: BROKEN at seq ${chain.firstInvalidSeq}: ${chain.problem}\n`,
    );
    return false;
  }
  if (checkpoints && checkpoints.firstInvalidSeq !== null) {
    process.stdout.write(
      `tenant ${tenantId}: BROKEN at checkpoint seq ${checkpoints.firstInvalidSeq}: ${checkpoints.problem}\n`,
    );
    return false;
  }
  const n = checkpoints?.checkedCount ?? 0;
  const signed = checkpoints ? `, ${n} checkpoint${n === 1 ? ' holds' : 's hold'}` : '';
  process.stdout.write(
    `tenant ${tenantId}: ok (${chain.checkedCount} events, head seq ${chain.headSeq}${signed})\n`,
  );
  return true;
}

runCli(async () => {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      'public-key': { type: 'string' },
      checkpoints: { type: 'string' },
      file: { type: 'string' },
    },
  });
  if (values.tenant !== undefined && !UUID.test(values.tenant)) {
    throw new Error('--tenant must be a tenant id (UUID)');
  }
  const publicKey: KeyObject | undefined = values['public-key']
    ? createPublicKey(await readFile(values['public-key'], 'utf8'))
    : undefined;
  if (values.checkpoints && !publicKey) throw new Error('--checkpoints needs --public-key');
  const pinned = values.checkpoints
    ? parseExport(await readFile(values.checkpoints, 'utf8')).checkpoints
    : undefined;
  let broken = 0;

  if (values.file) {
    const trail = parseExport(await readFile(values.file, 'utf8'));
    for (const [tenantId, head] of trail.heads) {
      if (values.tenant && tenantId !== values.tenant) continue;
      const events = trail.events.get(tenantId) ?? [];
      const chain = await verifyEvents(events, head, { fromSeq: events[0]?.seq ?? 1 });
      const bySeq = new Map(events.map((e) => [e.seq, e.hash]));
      const checkpoints = publicKey
        ? await verifyCheckpoints(
            pinned?.get(tenantId) ?? trail.checkpoints.get(tenantId) ?? [],
            publicKey,
            (seq) => Promise.resolve(bySeq.get(seq)),
          )
        : undefined;
      if (!report(tenantId, chain, checkpoints)) broken += 1;
    }
    return broken > 0 ? 1 : 0;
  }

  await withOwnerSql(loadConfig(), async (sql) => {
    const tenants = values.tenant ? [values.tenant] : await chainTenants(sql);
    for (const tenantId of tenants) {
      const { chain, checkpoints } = await inTenant(sql, tenantId, async (query) => {
        const chain = await verifyAuditChain(query, tenantId);
        if (!publicKey) return { chain, checkpoints: undefined };
        const held: readonly AuditCheckpoint[] =
          pinned?.get(tenantId) ??
          (await listCheckpoints(query, tenantId, {
            from: null,
            towards: 'older',
            limit: 100_000,
          }));
        const checked = await verifyCheckpoints(held, publicKey, async (seq) => {
          const [event] = await readEventsAfter(query, tenantId, seq - 1, 1, seq);
          return event?.hash;
        });
        return { chain, checkpoints: checked };
      });
      if (!report(tenantId, chain, checkpoints)) broken += 1;
    }
    if (tenants.length === 0) process.stdout.write('no audit chains yet\n');
  });
  return broken > 0 ? 1 : 0;
});
