/** The PostgreSQL errors behind failures, for tests that assert exact SQLSTATEs. */
import { Prisma } from '../../src/generated/prisma/client.js';

export interface SqlFailure {
  readonly code: string;
  readonly message: string;
}

/** The PostgreSQL error (SQLSTATE and message) behind a Prisma error. */
export function sqlFailure(error: unknown): SqlFailure {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) {
    throw new Error(`expected a PrismaClientKnownRequestError, got ${String(error)}`);
  }
  const adapterError = error.meta?.['driverAdapterError'] as
    { cause?: { originalCode?: string; originalMessage?: string } } | undefined;
  const code = adapterError?.cause?.originalCode;
  const message = adapterError?.cause?.originalMessage;
  if (code === undefined || message === undefined) {
    throw new Error(`no PostgreSQL error in ${JSON.stringify(error.meta)}`);
  }
  return { code, message };
}

/** Awaits `work`, which must reject, and returns the rejection. */
export async function rejection(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to be rejected');
}

export async function sqlRejection(work: Promise<unknown>): Promise<SqlFailure> {
  return sqlFailure(await rejection(work));
}
