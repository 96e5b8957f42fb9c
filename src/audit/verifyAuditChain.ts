/**
 * Recomputes a tenant's chain (auditHash.ts) and reports the first sequence number at
 * which the stored trail stops being the one that was written: an event changed (its hash
 * no longer matches), removed (a gap), moved (its hash was computed for another seq),
 * inserted past the head, or a head that does not match the last event. The API
 * (`verifyAuditChain`), the operator CLI (`npm run audit:verify`) and the check of an
 * exported file all use {@link verifyEvents}.
 */
import { GENESIS_HASH, type AuditEvent } from './AuditEvent.js';
import { chainHash } from './auditHash.js';
import { readChainHead, readEventsAfter, type AuditQuery, type ChainHead } from './auditRows.js';

export interface ChainVerification {
  readonly valid: boolean;
  readonly checkedCount: number;
  readonly headSeq: number;
  readonly headHash: string;
  /** The first seq that does not verify (null when valid). */
  readonly firstInvalidSeq: number | null;
  /** Why it does not (null when valid). */
  readonly problem: string | null;
}

export interface VerifyOptions {
  /** First seq to check (default 1: the whole chain from its genesis). */
  readonly fromSeq?: number | undefined;
  /** Last seq to check (default: the head, and nothing may lie past it). */
  readonly toSeq?: number | undefined;
}

/**
 * Verifies `events` (ascending by seq, starting at `fromSeq`; no others) against `head`.
 * Within a range that starts after seq 1, the first event's link is taken as stored.
 */
export async function verifyEvents(
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>,
  head: ChainHead,
  options: VerifyOptions = {},
): Promise<ChainVerification> {
  const fromSeq = Math.max(1, options.fromSeq ?? 1);
  const toSeq = options.toSeq ?? Number.MAX_SAFE_INTEGER;
  let checked = 0;
  let expected = fromSeq;
  let prevHash: string | undefined = fromSeq === 1 ? GENESIS_HASH : undefined;
  let last: AuditEvent | undefined;
  const result = (firstInvalidSeq: number | null, problem: string | null): ChainVerification => ({
    valid: firstInvalidSeq === null,
    checkedCount: checked,
    headSeq: head.seq,
    headHash: head.hash,
    firstInvalidSeq,
    problem,
  });
  for await (const event of events) {
    if (event.seq > toSeq) break;
    if (event.seq !== expected) return result(expected, `event ${expected} is missing`);
    if (event.seq > head.seq) {
      return result(event.seq, `event ${event.seq} lies past the chain head (${head.seq})`);
    }
    if (prevHash !== undefined && event.prevHash !== prevHash) {
      return result(event.seq, `event ${event.seq} does not link to event ${event.seq - 1}`);
    }
    if (chainHash(event.prevHash, event) !== event.hash) {
      return result(event.seq, `event ${event.seq} does not match its hash`);
    }
    prevHash = event.hash;
    last = event;
    expected += 1;
    checked += 1;
  }
  const end = Math.min(toSeq, head.seq);
  if (expected <= end) return result(expected, `event ${expected} is missing`);
  if (end === head.seq && last?.seq === head.seq && last.hash !== head.hash) {
    return result(head.seq, `the chain head does not match event ${head.seq}`);
  }
  return result(null, null);
}

/** The stored events of a tenant from `fromSeq` on, ascending, read a page at a time. */
export async function* storedEvents(
  query: AuditQuery,
  tenantId: string,
  fromSeq: number,
  toSeq: number = Number.MAX_SAFE_INTEGER,
  pageSize = 1000,
): AsyncGenerator<AuditEvent> {
  let after = fromSeq - 1;
  for (;;) {
    const page = await readEventsAfter(query, tenantId, after, pageSize, toSeq);
    yield* page;
    if (page.length < pageSize) return;
    after = page.at(-1)!.seq;
  }
}

/** Verifies a tenant's stored chain (see {@link verifyEvents}). */
export async function verifyAuditChain(
  query: AuditQuery,
  tenantId: string,
  options: VerifyOptions = {},
): Promise<ChainVerification> {
  const head = await readChainHead(query, tenantId);
  const fromSeq = Math.max(1, options.fromSeq ?? 1);
  return verifyEvents(storedEvents(query, tenantId, fromSeq, options.toSeq), head, options);
}
