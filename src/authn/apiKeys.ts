/**
 * The API key format and its hash (gate 1, service accounts).
 *
 * A key is `ghk_<id>_<secret>`:
 * - `ghk_`: a fixed prefix, so secret scanners (and the log redaction) recognise a key;
 * - `<id>`: 12 random bytes as 24 lower-case hex characters, the key's public name (the
 *   primary key of `api_keys`, shown in listings and logs);
 * - `<secret>`: 32 random bytes as base64url without padding (43 characters).
 *
 * 352 random bits in all, 256 of them in the secret. Only HMAC-SHA256(pepper, key) is
 * stored. A slow password hash would add nothing: a key cannot be guessed or found in a
 * dictionary, and the pepper (API_KEY_PEPPER, never in the database) means a stolen
 * table cannot be checked offline at all.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'ghk_';
/** Random bytes in a key's id (24 hex characters). */
export const API_KEY_ID_BYTES = 12;
/** Random bytes in a key's secret (43 base64url characters). */
export const API_KEY_SECRET_BYTES = 32;
/** Bytes of a key's hash (HMAC-SHA256). */
export const API_KEY_HASH_BYTES = 32;

/** The whole key, nothing before or after it: exact lengths, exact alphabets. */
const API_KEY = /^ghk_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;
/** A key anywhere in a text, in any case (a key pasted where it does not belong). */
export const API_KEY_IN_TEXT = /ghk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}/gi;
/** Characters in a key. */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + 24 + 1 + 43;

export interface GeneratedApiKey {
  /** The full key: shown to its creator once, never stored. */
  readonly key: string;
  /** The public id (`api_keys.id`). */
  readonly id: string;
  /** The key's last four characters, to tell keys apart in a listing. */
  readonly lastFour: string;
}

export interface ParsedApiKey {
  readonly id: string;
  readonly secret: string;
}

export function generateApiKey(): GeneratedApiKey {
  const id = randomBytes(API_KEY_ID_BYTES).toString('hex');
  const secret = randomBytes(API_KEY_SECRET_BYTES).toString('base64url');
  const key = `${API_KEY_PREFIX}${id}_${secret}`;
  return { key, id, lastFour: key.slice(-4) };
}

/**
 * The id and secret of a well-formed key, or null. Strict: the prefix, one `_`, 24
 * lower-case hex characters, one `_`, 43 base64url characters, and nothing else (no
 * whitespace, no padding). The last secret character carries 2 bits of padding
 * (43 × 6 = 258 bits for 256); a key whose padding bits are not zero is not one this
 * server generated (it would decode to the same bytes as another text), and is refused.
 */
export function parseApiKey(text: string): ParsedApiKey | null {
  if (text.length !== API_KEY_LENGTH) return null;
  const match = API_KEY.exec(text);
  const id = match?.[1];
  const secret = match?.[2];
  if (id === undefined || secret === undefined) return null;
  if (Buffer.from(secret, 'base64url').toString('base64url') !== secret) return null;
  return { id, secret };
}

/** HMAC-SHA256 of the whole key (prefix, id and secret) with the server's pepper. */
export function hashApiKey(pepper: Uint8Array, key: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', pepper).update(key, 'utf8').digest());
}

/**
 * Compares two hashes in time independent of their contents. Hashes of different lengths
 * (never two real ones) are unequal; the length is not a secret.
 */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
