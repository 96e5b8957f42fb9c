/**
 * Signs every tenant's chain head that moved since its last checkpoint, every
 * AUDIT_CHECKPOINT_INTERVAL. Across tenants, so it runs as the signer role, which reads
 * chain heads and writes checkpoints and reaches nothing else (like the outbox relay's).
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { AUDIT_SIGNER_ROLE } from '../data/roles.js';
import type { Logger } from '../observability/logger.js';
import { insertCheckpoint, type AuditSigner } from './AuditCheckpoint.js';

export interface AuditCheckpointerOptions {
  readonly prisma: PrismaClient;
  readonly signer: AuditSigner;
  /** 0: no timer (on demand only). */
  readonly intervalMs: number;
  readonly logger: Logger;
}

export class AuditCheckpointer {
  readonly #options: AuditCheckpointerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(options: AuditCheckpointerOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#options.intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      this.checkpointAll().catch((error: unknown) =>
        this.#options.logger.warn('audit checkpoints failed; will retry', { error }),
      );
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Signs the heads that moved; resolves with how many checkpoints were written. */
  checkpointAll(): Promise<number> {
    this.#running ??= this.#checkpointAll().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #checkpointAll(): Promise<number> {
    const { prisma, signer } = this.#options;
    return prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`select set_config('role', $1, true)`, AUDIT_SIGNER_ROLE);
      const heads = await tx.$queryRawUnsafe<
        Array<{ tenant_id: string; seq: bigint; hash: string; now: Date }>
      >(
        `select h.tenant_id, h.seq, h.hash, date_trunc('milliseconds', clock_timestamp()) as now
           from audit_chain_heads h
          where h.seq > coalesce(
                  (select max(c.seq) from audit_checkpoints c where c.tenant_id = h.tenant_id), -1)
          order by h.tenant_id`,
      );
      for (const head of heads) {
        await insertCheckpoint(
          tx,
          signer.sign({
            tenantId: head.tenant_id,
            seq: Number(head.seq),
            hash: head.hash,
            signedAt: head.now,
          }),
        );
      }
      if (heads.length > 0) {
        this.#options.logger.debug('audit checkpoints signed', { tenants: heads.length });
      }
      return heads.length;
    });
  }
}
