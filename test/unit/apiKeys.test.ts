/**
 * The API key format (`ghk_<24 hex id>_<43 base64url secret>`) and its hash: what
 * generateApiKey makes, what parseApiKey accepts (exactly that, no near miss), and that
 * the hash is HMAC-SHA256 with the pepper, compared in constant time.
 */
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiKeyPepper } from '../../src/authn/apiKeyPepper.js';
import {
  API_KEY_LENGTH,
  generateApiKey,
  hashApiKey,
  parseApiKey,
  sameHash,
} from '../../src/authn/apiKeys.js';

const FORMAT = /^ghk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/;
/** base64url characters whose 2 low bits are zero: the only possible last characters. */
const LAST_CHARACTERS = 'AEIMQUYcgkosw048';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('generateApiKey', () => {
  it('makes ghk_<id>_<secret>: 24 hex characters, then 43 base64url characters', () => {
    const { key, id, lastFour } = generateApiKey();
    expect(key).toMatch(FORMAT);
    expect(key).toHaveLength(API_KEY_LENGTH);
    expect(API_KEY_LENGTH).toBe(72);
    expect(key.startsWith(`ghk_${id}_`)).toBe(true);
    expect(lastFour).toBe(key.slice(-4));
    expect(parseApiKey(key)).toEqual({ id, secret: key.slice(29) });
  });

  it('draws 12 random bytes for the id and 32 (256 bits) for the secret', () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey());
    for (const { key, id } of keys.slice(0, 50)) {
      expect(Buffer.from(id, 'hex')).toHaveLength(12);
      expect(Buffer.from(key.slice(29), 'base64url')).toHaveLength(32);
    }
    expect(new Set(keys.map((k) => k.id)).size).toBe(keys.length);
    expect(new Set(keys.map((k) => k.key.slice(29))).size).toBe(keys.length);
    // Every character of the secret varies (nothing fixed hides among random ones), and its
    // last character takes all 16 values that 4 bits of data allow.
    const secrets = keys.map((k) => k.key.slice(29));
    for (let i = 0; i < 42; i++) {
      expect(new Set(secrets.map((s) => s[i])).size, `position ${i}`).toBeGreaterThan(40);
    }
    expect([...new Set(secrets.map((s) => s[42]))].sort().join('')).toBe(
      LAST_CHARACTERS.split('').sort().join(''),
    );
    // The bits are balanced: about half of all secret bits are set.
    const ones = secrets
      .flatMap((s) => [...Buffer.from(s, 'base64url')])
      .reduce((n, byte) => n + byte.toString(2).replaceAll('0', '').length, 0);
    expect(ones / (secrets.length * 256)).toBeCloseTo(0.5, 2);
  });
});

describe('parseApiKey', () => {
  const { key, id } = generateApiKey();
  const secret = key.slice(29);
  const last = secret.at(-1) ?? 'A';
  const otherLast = ALPHABET[(ALPHABET.indexOf(last) + 1) % 64] ?? 'B';

  it('returns the id and secret of a well-formed key', () => {
    expect(parseApiKey(key)).toEqual({ id, secret });
    // A secret may itself contain `_` and `-`.
    const dashes = `ghk_${'abcdef'.repeat(4)}_${'_-'.repeat(21)}A`;
    expect(parseApiKey(dashes)).toEqual({ id: 'abcdef'.repeat(4), secret: `${'_-'.repeat(21)}A` });
  });

  it.each([
    ['empty', ''],
    ['the prefix alone', 'ghk_'],
    ['no prefix', key.slice(4)],
    ['upper-case prefix', `GHK_${key.slice(4)}`],
    ['another prefix', `ghp_${key.slice(4)}`],
    ['- after the prefix', `ghk-${key.slice(4)}`],
    ['- between id and secret', `ghk_${id}-${secret}`],
    ['no separator', `ghk_${id}${secret}`],
    ['upper-case hex in the id', `ghk_${'ABCDEF'.repeat(4)}_${secret}`],
    ['a non-hex id', `ghk_${'g'.repeat(24)}_${secret}`],
    ['a 23-character id', `ghk_${id.slice(1)}_${secret}`],
    ['a 25-character id', `ghk_${id}0_${secret}`],
    ['a 42-character secret', key.slice(0, -1)],
    ['a 44-character secret', `${key}A`],
    ['base64 padding', `${key.slice(0, -1)}=`],
    ['padding after the secret', `${key}=`],
    ['+ in the secret (base64, not base64url)', `${key.slice(0, 40)}+${key.slice(41)}`],
    ['/ in the secret', `${key.slice(0, 40)}/${key.slice(41)}`],
    ['non-zero padding bits', `${key.slice(0, -1)}${otherLast}`],
    ['a leading space', ` ${key}`],
    ['a trailing space', `${key} `],
    ['a trailing newline', `${key}\n`],
    ['a NUL inside', `${key.slice(0, 40)}\u0000${key.slice(41)}`],
    ['a look-alike letter (Cyrillic а)', `${key.slice(0, 40)}\u0430${key.slice(41)}`],
    ['two keys', `${key}${key}`],
    ['a Bearer prefix', `Bearer ${key}`],
  ])('refuses %s', (_case, text) => {
    expect(parseApiKey(text)).toBeNull();
  });
});

describe('hashApiKey and sameHash', () => {
  it('is HMAC-SHA256 keyed with the pepper over the whole key (RFC 4231 test case 1)', () => {
    const hash = hashApiKey(Buffer.alloc(20, 0x0b), 'Hi There');
    expect(Buffer.from(hash).toString('hex')).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });

  it('depends on the pepper and on every part of the key', () => {
    const pepper = Buffer.alloc(32, 1);
    const { key } = generateApiKey();
    const hash = hashApiKey(pepper, key);
    expect(hash).toHaveLength(32);
    expect(hash).toEqual(new Uint8Array(createHmac('sha256', pepper).update(key, 'utf8').digest()));
    expect(sameHash(hash, hashApiKey(pepper, key))).toBe(true);
    expect(sameHash(hash, hashApiKey(Buffer.alloc(32, 2), key))).toBe(false);
    const otherId = `ghk_${'0'.repeat(24)}${key.slice(28)}`;
    expect(sameHash(hash, hashApiKey(pepper, otherId))).toBe(false);
    const otherSecret = `${key.slice(0, 29)}${generateApiKey().key.slice(29)}`;
    expect(sameHash(hash, hashApiKey(pepper, otherSecret))).toBe(false);
  });

  it('compares equal hashes equal, any other unequal, and lengths without throwing', () => {
    const a = hashApiKey(Buffer.alloc(32, 1), generateApiKey().key);
    const flipped = Uint8Array.from(a);
    flipped[31] = (flipped[31] ?? 0) ^ 1;
    expect(sameHash(a, Uint8Array.from(a))).toBe(true);
    expect(sameHash(a, flipped)).toBe(false);
    expect(sameHash(a, a.subarray(0, 31))).toBe(false);
    expect(sameHash(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});

describe('loadApiKeyPepper', () => {
  it('returns the configured pepper', async () => {
    const pepper = new Uint8Array(Buffer.alloc(32, 5));
    expect(await loadApiKeyPepper({ kind: 'configured', pepper })).toBe(pepper);
  });

  it('generates a development pepper once (0600) and reads it back after', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-pepper-'));
    try {
      const keysDir = path.join(dir, 'dev-keys');
      const [first, concurrent] = await Promise.all([
        loadApiKeyPepper({ kind: 'dev', keysDir }),
        loadApiKeyPepper({ kind: 'dev', keysDir }),
      ]);
      expect(first).toHaveLength(32);
      expect(concurrent).toEqual(first);
      const file = path.join(keysDir, 'api-key-pepper');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readFile(file, 'utf8')).toBe(Buffer.from(first).toString('base64'));
      expect(await loadApiKeyPepper({ kind: 'dev', keysDir })).toEqual(first);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
