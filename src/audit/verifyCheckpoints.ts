/**
 * Holds a chain against signed checkpoints: each must carry a valid signature by the
 * auditor's public key, and the event at its seq must still have the hash it signed. A
 * history rewritten with every hash recomputed (and the head moved) passes the chain check
 * but fails here, at the first checkpoint it contradicts.
 */
import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH } from './AuditEvent.js';
import { verifyCheckpoint, type AuditCheckpoint } from './AuditCheckpoint.js';

export interface CheckpointVerification {
  readonly checkedCount: number;
  /** The seq of the first checkpoint that does not hold (null: all hold). */
  readonly firstInvalidSeq: number | null;
  readonly problem: string | null;
}

export async function verifyCheckpoints(
  checkpoints: readonly AuditCheckpoint[],
  publicKey: KeyObject,
  /** The stored hash of the event at `seq`, or undefined when there is none. */
  hashAt: (seq: number) => Promise<string | undefined>,
): Promise<CheckpointVerification> {
  let checked = 0;
  for (const c of [...checkpoints].sort((a, b) => a.seq - b.seq)) {
    const fail = (problem: string): CheckpointVerification => ({
      checkedCount: checked,
      firstInvalidSeq: c.seq,
      problem,
    });
    if (!verifyCheckpoint(c, publicKey)) {
      return fail(`checkpoint ${c.seq} is not signed by this key`);
    }
    const stored = c.seq === 0 ? GENESIS_HASH : await hashAt(c.seq);
    if (stored === undefined)
      return fail(`event ${c.seq}, which checkpoint ${c.seq} signed, is missing`);
    if (stored !== c.hash) {
      return fail(
        `event ${c.seq} no longer has the hash checkpoint ${c.seq} signed: history was rewritten`,
      );
    }
    checked += 1;
  }
  return { checkedCount: checked, firstInvalidSeq: null, problem: null };
}
