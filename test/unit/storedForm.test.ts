/**
 * What a policy receives of an object (`input.resource`): its scalar columns as JSON, and
 * nothing that could carry secret material or hidden structure.
 */
import { describe, expect, it } from 'vitest';
import { storedForm } from '../../src/authz/opa/storedForm.js';
import { Prisma } from '../../src/generated/prisma/client.js';

describe('storedForm', () => {
  it('keeps scalars, writes decimals exactly and dates as ISO-8601', () => {
    expect(
      storedForm({
        id: 'w1',
        amount: new Prisma.Decimal('25000.10'),
        createdAt: new Date('2026-11-22T10:00:00.000Z'),
        version: 3,
        archived: false,
        teamId: null,
        roles: ['VP', 'MEMBER'],
        big: 12n,
      }),
    ).toEqual({
      id: 'w1',
      amount: '25000.1',
      createdAt: '2026-11-22T10:00:00.000Z',
      version: 3,
      archived: false,
      teamId: null,
      roles: ['VP', 'MEMBER'],
      big: '12',
    });
  });

  it('never passes bytes (a ciphertext), nested objects, functions or non-finite numbers', () => {
    const form = storedForm({
      id: 'c1',
      secretCiphertext: new Uint8Array([1, 2, 3]),
      buffer: Buffer.from('sealed'),
      owner: { email: 'bob@acme.example' },
      mixed: ['ok', { nested: true }],
      toString: () => 'x',
      ratio: Number.NaN,
      invalidDate: new Date('nope'),
    });
    expect(form).toEqual({ id: 'c1' });
    expect(JSON.stringify(form)).not.toMatch(/sealed|bob@acme|nested/);
  });

  it('is null for anything that is not a row', () => {
    for (const value of [null, undefined, 'text', 42, [1], new Uint8Array(2), new Date()]) {
      expect(storedForm(value)).toBeNull();
    }
  });
});
