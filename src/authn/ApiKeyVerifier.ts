/**
 * Gate 1 for service accounts: verifies an API key (`ghk_<id>_<secret>`, authn/apiKeys.ts)
 * and turns it into a {@link Principal} of kind `service`.
 *
 * The key's id finds its row through {@link ApiKeyLookup} (the database's
 * `api_key_lookup`, the one path to a key whose tenant is not known yet); the HMAC of the
 * presented key is compared with the stored hash in constant time. Every refusal after
 * parsing — unknown id, wrong secret, revoked, expired, deactivated service account — is
 * the same AuthenticationError, reason `invalid_api_key`: the client learns nothing from
 * it (the log-only `detail` says which). And they all take the same work: an unknown id
 * is hashed and compared against a dummy hash exactly as a known id with a wrong secret
 * is against its own, so the comparison tells a caller nothing about which ids exist.
 * (The lookup itself may take a little longer for an id that exists; an id is no secret.)
 *
 * `last_used_at` is recorded in batches: used ids are collected and written by one
 * `api_keys_touch` call every 30 s and on {@link ApiKeyVerifier.close}, never one UPDATE
 * per request. It is therefore accurate to about the flush interval.
 */
import { randomBytes } from 'node:crypto';
import { createLogger, type Logger } from '../observability/logger.js';
import { API_KEY_HASH_BYTES, hashApiKey, parseApiKey, sameHash } from './apiKeys.js';
import { NEVER_EXPIRES, type Principal } from './Principal.js';
import { AuthenticationError, type TokenVerifier } from './TokenVerifier.js';

/** What the verifier needs to know of a stored key (a row of `api_key_lookup`). */
export interface StoredApiKey {
  readonly tenantId: string;
  readonly serviceAccountId: string;
  /** HMAC-SHA256(pepper, key). */
  readonly hash: Uint8Array;
  readonly scopes: readonly string[];
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  /** Whether the key's service account is active. */
  readonly accountActive: boolean;
}

/**
 * The verifier's way to the stored keys, across tenants (the data layer implements it:
 * data/ApiKeyLookup.ts). Keeps this module free of the database client.
 */
export interface ApiKeyLookup {
  /** The key with this id, whatever its tenant, or null. */
  find(id: string): Promise<StoredApiKey | null>;
  /** Sets `last_used_at` to now for these keys. */
  touch(ids: readonly string[]): Promise<void>;
}

export interface ApiKeyVerifierOptions {
  readonly lookup: ApiKeyLookup;
  /** The HMAC key of the stored hashes (API_KEY_PEPPER; authn/apiKeyPepper.ts). */
  readonly pepper: Uint8Array;
  /** How often used keys' `last_used_at` is written (default 30 s; 0: only on flush/close). */
  readonly touchIntervalMs?: number;
  /** Where a failed `last_used_at` write is reported (default: silent). */
  readonly logger?: Logger;
  /** Milliseconds since the epoch (tests). */
  readonly now?: () => number;
  /** The hash and the comparison (tests count the calls). */
  readonly hash?: (pepper: Uint8Array, key: string) => Uint8Array;
  readonly compare?: (a: Uint8Array, b: Uint8Array) => boolean;
}

export const INVALID_API_KEY = 'invalid_api_key';
export const MALFORMED_API_KEY = 'malformed_api_key';
const DEFAULT_TOUCH_INTERVAL_MS = 30_000;

export class ApiKeyVerifier implements TokenVerifier {
  readonly #lookup: ApiKeyLookup;
  readonly #pepper: Uint8Array;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #hash: (pepper: Uint8Array, key: string) => Uint8Array;
  readonly #compare: (a: Uint8Array, b: Uint8Array) => boolean;
  /** What an unknown id is compared against: random, so nothing can ever match it. */
  readonly #dummyHash = new Uint8Array(randomBytes(API_KEY_HASH_BYTES));
  /** Ids of keys verified since the last flush. */
  readonly #used = new Set<string>();
  readonly #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(options: ApiKeyVerifierOptions) {
    this.#lookup = options.lookup;
    this.#pepper = options.pepper;
    this.#logger = options.logger ?? createLogger('silent');
    this.#now = options.now ?? Date.now;
    this.#hash = options.hash ?? hashApiKey;
    this.#compare = options.compare ?? sameHash;
    const interval = options.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.flush(), interval);
      this.#timer.unref();
    }
  }

  async verify(key: string): Promise<Principal> {
    const parsed = parseApiKey(key);
    if (!parsed) throw new AuthenticationError(MALFORMED_API_KEY);
    const stored = await this.#lookup.find(parsed.id);
    // The same work whether the id exists or not: one HMAC, one constant-time compare.
    const matches = this.#compare(this.#hash(this.#pepper, key), stored?.hash ?? this.#dummyHash);
    const refusal = this.#refusal(stored, matches);
    if (refusal !== undefined || stored === null) {
      throw new AuthenticationError(INVALID_API_KEY, undefined, refusal ?? 'unknown_id');
    }
    this.#used.add(parsed.id);
    return {
      kind: 'service',
      subject: `service:${stored.serviceAccountId}`,
      tenantId: stored.tenantId.toLowerCase(),
      roles: [],
      scopes: [...stored.scopes],
      amr: ['api_key'],
      expiresAt:
        stored.expiresAt === null ? NEVER_EXPIRES : Math.floor(stored.expiresAt.getTime() / 1000),
      tokenId: parsed.id,
    };
  }

  /** Why a looked-up key is refused (log detail), or undefined when it is good. */
  #refusal(stored: StoredApiKey | null, matches: boolean): string | undefined {
    if (stored === null) return 'unknown_id';
    if (!matches) return 'wrong_secret';
    if (stored.revokedAt !== null) return 'revoked';
    if (stored.expiresAt !== null && stored.expiresAt.getTime() <= this.#now()) return 'expired';
    if (!stored.accountActive) return 'account_inactive';
    return undefined;
  }

  /**
   * Writes `last_used_at` for the keys verified since the last flush, in one call. A
   * failure is logged and those ids are kept for the next flush. One flush at a time.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    if (this.#used.size === 0) return;
    const ids = [...this.#used];
    this.#used.clear();
    try {
      await this.#lookup.touch(ids);
    } catch (error) {
      for (const id of ids) this.#used.add(id);
      this.#logger.warn('recording API key use failed', { error, keys: ids.length });
    }
  }

  /** Stops the timer and writes what is pending. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#flushing;
    await this.flush();
  }
}
