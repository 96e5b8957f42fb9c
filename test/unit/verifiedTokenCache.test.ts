/** The cache of verified tokens (src/authn/VerifiedTokenCache.ts). */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/authn/Principal.js';
import type { TokenVerifier } from '../../src/authn/TokenVerifier.js';
import { AuthenticationError } from '../../src/authn/TokenVerifier.js';
import { cachingTokenVerifier, MAX_AGE_MS } from '../../src/authn/VerifiedTokenCache.js';

const T0 = 1_800_000_000_000;

function principal(subject: string, expiresAt: number): Principal {
  return {
    kind: 'user',
    subject,
    tenantId: '00000000-0000-4000-8000-000000000001',
    roles: [],
    scopes: [],
    amr: [],
    expiresAt,
    tokenId: undefined,
  };
}

/** A verifier that accepts `good:<subject>:<exp seconds>` and counts its calls. */
function counting(): TokenVerifier & { calls: number } {
  const inner = {
    calls: 0,
    verify(token: string): Promise<Principal> {
      inner.calls += 1;
      const [kind, subject, exp] = token.split(':');
      if (kind !== 'good') return Promise.reject(new AuthenticationError('bad_signature'));
      return Promise.resolve(principal(subject!, Number(exp)));
    },
  };
  return inner;
}

describe('cachingTokenVerifier', () => {
  it('verifies a token once, then answers from memory until a minute has passed', async () => {
    let now = T0;
    const inner = counting();
    const verifier = cachingTokenVerifier(inner, { now: () => now });
    const token = `good:alice:${T0 / 1000 + 3600}`;
    const first = await verifier.verify(token);
    now += MAX_AGE_MS - 1;
    expect(await verifier.verify(token)).toBe(first);
    expect(inner.calls).toBe(1);
    now += 1;
    await verifier.verify(token);
    expect(inner.calls).toBe(2);
  });

  it('never answers from memory after the token expired', async () => {
    let now = T0;
    const inner = counting();
    const verifier = cachingTokenVerifier(inner, { now: () => now });
    const token = `good:alice:${T0 / 1000 + 10}`;
    await verifier.verify(token);
    now += 10_000;
    await verifier.verify(token);
    expect(inner.calls).toBe(2);
  });

  it('keeps no refusal: every bad token is verified again', async () => {
    const inner = counting();
    const verifier = cachingTokenVerifier(inner, { now: () => T0 });
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify('forged:alice:0')).rejects.toThrow(AuthenticationError);
    }
    expect(inner.calls).toBe(3);
  });

  it('holds at most maxEntries tokens, dropping the oldest', async () => {
    const inner = counting();
    const verifier = cachingTokenVerifier(inner, { now: () => T0, maxEntries: 2 });
    const exp = T0 / 1000 + 3600;
    for (const user of ['a', 'b', 'c']) await verifier.verify(`good:${user}:${exp}`);
    expect(inner.calls).toBe(3);
    await verifier.verify(`good:c:${exp}`);
    await verifier.verify(`good:b:${exp}`);
    expect(inner.calls).toBe(3);
    await verifier.verify(`good:a:${exp}`);
    expect(inner.calls).toBe(4);
  });

  it('tells two tokens of the same subject apart', async () => {
    const inner = counting();
    const verifier = cachingTokenVerifier(inner, { now: () => T0 });
    const exp = T0 / 1000 + 3600;
    const a = await verifier.verify(`good:alice:${exp}`);
    const b = await verifier.verify(`good:bob:${exp}`);
    expect([a.subject, b.subject]).toEqual(['alice', 'bob']);
  });
});
