/**
 * A unique constraint refused the write (Prisma P2002): a concurrent command got there
 * first. Uniqueness is per tenant (RLS), so it says nothing about another tenant.
 */
import { Prisma } from '../generated/prisma/client.js';

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
