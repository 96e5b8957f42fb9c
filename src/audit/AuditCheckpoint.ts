/**
 * Signed checkpoints of a tenant's chain head (Ed25519, RFC 8032). A checkpoint commits to
 * every event up to its seq: an auditor who keeps one outside the system (exported with
 * `npm run audit:export -- --checkpoints`) detects a rewritten history even when whoever
 * rewrote it recomputed every hash and the head, because the event at that seq no longer
 * has the signed hash, and no new signature can be made without the private key.
 *
 * Signed bytes: the canonical JSON (RFC 8785) of
 *   { v: 1, tenantId, seq, hash, signedAt (ISO 8601, milliseconds, Z) }.
 * The key id is the first 16 hex digits of SHA-256 of the public key (SPKI, DER).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { TenantTx } from '../data/TenantDatabase.js';
import { canonicalJson } from './canonicalJson.js';
import { lockChainHead } from './appendAuditEvents.js';

export interface AuditCheckpoint {
  readonly tenantId: string;
  readonly seq: number;
  readonly hash: string;
  readonly signedAt: Date;
  readonly keyId: string;
  /** base64url */
  readonly signature: string;
}

export type UnsignedCheckpoint = Pick<AuditCheckpoint, 'tenantId' | 'seq' | 'hash' | 'signedAt'>;

/** The bytes a checkpoint's signature covers. */
function checkpointPayload(c: UnsignedCheckpoint): Buffer {
  return Buffer.from(
    canonicalJson({
      v: 1,
      tenantId: c.tenantId,
      seq: c.seq,
      hash: c.hash,
      signedAt: c.signedAt.toISOString(),
    }),
    'utf8',
  );
}

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Signs chain heads with the server's Ed25519 key. */
export class AuditSigner {
  readonly #privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new Error('the audit signing key must be an Ed25519 private key');
    }
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  /** The public key as PEM (SPKI), for auditors. */
  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  sign(c: UnsignedCheckpoint): AuditCheckpoint {
    const signature = sign(null, checkpointPayload(c), this.#privateKey).toString('base64url');
    return { ...c, keyId: this.keyId, signature };
  }
}

/** Whether `c` carries a valid signature by `publicKey` (and names that key). */
export function verifyCheckpoint(c: AuditCheckpoint, publicKey: KeyObject): boolean {
  if (c.keyId !== keyIdOf(publicKey)) return false;
  try {
    return verify(null, checkpointPayload(c), publicKey, Buffer.from(c.signature, 'base64url'));
  } catch {
    return false;
  }
}

export interface CheckpointRow extends Record<string, unknown> {
  tenant_id: string;
  seq: bigint | number | string;
  hash: string;
  signed_at: Date | string;
  key_id: string;
  signature: string;
}

export const CHECKPOINT_COLUMNS = 'tenant_id, seq, hash, signed_at, key_id, signature';

export function checkpointFromRow(row: CheckpointRow): AuditCheckpoint {
  return {
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    hash: row.hash,
    signedAt: new Date(row.signed_at),
    keyId: row.key_id,
    signature: row.signature,
  };
}

/** Records a signed checkpoint (the caller's transaction). */
export async function insertCheckpoint(tx: TenantTx, c: AuditCheckpoint): Promise<void> {
  await tx.$executeRawUnsafe(
    `insert into audit_checkpoints (${CHECKPOINT_COLUMNS})
     values ($1::uuid, $2, $3, $4::timestamptz, $5, $6) on conflict do nothing`,
    c.tenantId,
    c.seq,
    c.hash,
    c.signedAt,
    c.keyId,
    c.signature,
  );
}

/**
 * Signs the tenant's chain head now, in the caller's tenant transaction (the head is
 * locked, so the checkpoint is of a committed state); when the newest checkpoint is already
 * of this head, returns it instead.
 */
export async function signChainHead(
  tx: TenantTx,
  tenantId: string,
  signer: AuditSigner,
): Promise<AuditCheckpoint> {
  const head = await lockChainHead(tx, tenantId);
  const [row] = await tx.$queryRawUnsafe<CheckpointRow[]>(
    `select ${CHECKPOINT_COLUMNS} from audit_checkpoints
      where tenant_id = $1::uuid order by seq desc limit 1`,
    tenantId,
  );
  const latest = row ? checkpointFromRow(row) : undefined;
  if (latest && latest.seq === head.seq && latest.keyId === signer.keyId) return latest;
  const checkpoint = signer.sign({
    tenantId,
    seq: head.seq,
    hash: head.hash,
    signedAt: head.now,
  });
  await insertCheckpoint(tx, checkpoint);
  return checkpoint;
}
