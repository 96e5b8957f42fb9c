/**
 * The one place that reads the environment. Every variable is validated once at start-up;
 * a bad or unsafe value stops the process with a message naming the variable.
 * README.md ("Configuration") documents each variable; keep the two in step.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/** Issuer of the locally generated development tokens (`npm run token`). Never valid in production. */
export const DEV_ISSUER = 'urn:gatehouse:dev-issuer';
/** Audience of the development tokens. */
export const DEV_AUDIENCE = 'gatehouse';

const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** The request pool's connections to PostgreSQL (DB_POOL_*, DB_*_TIMEOUT_MS). */
export interface PoolSettings {
  /** Most connections of this instance (DB_POOL_MAX). */
  readonly max: number;
  /** How long to wait for a connection, new or from the pool (DB_CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs: number;
  /** `statement_timeout` of every connection (DB_STATEMENT_TIMEOUT_MS; 0: none). */
  readonly statementTimeoutMs: number;
  /** An idle connection is closed after this (DB_POOL_IDLE_TIMEOUT_MS). */
  readonly idleTimeoutMs: number;
  /** `application_name`, as pg_stat_activity shows it (DB_APPLICATION_NAME). */
  readonly applicationName: string;
  /** How long the first connection is retried, with backoff, before giving up (DB_STARTUP_RETRY_MS). */
  readonly startupRetryMs: number;
  /** Distinct statements prepared on each connection (DB_PREPARED_STATEMENTS; 0: none). */
  readonly preparedStatements: number;
}

export type DatabaseConfig =
  | { readonly kind: 'embedded'; readonly dataDir: string }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly ownerUrl: string | undefined;
      /** Absent: the defaults ({@link DEFAULT_POOL}). */
      readonly pool?: PoolSettings;
    };

export const DEFAULT_POOL: PoolSettings = {
  max: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  applicationName: 'gatehouse',
  startupRetryMs: 60_000,
  preparedStatements: 200,
};

export type JwksSource =
  | { readonly kind: 'remote'; readonly url: URL }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'dev'; readonly keysDir: string };

export interface AuthConfig {
  readonly jwks: JwksSource;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly clockToleranceSeconds: number;
  /** Claim holding the tenant id: a top-level claim name, or a JSON pointer such as `/org/id`. */
  readonly tenantClaim: string;
  readonly rolesClaim: string;
  readonly scopesClaim: string;
  /**
   * Claim holding the identity provider's groups (name or JSON pointer), mapped to roles
   * and team memberships by each tenant's mapping; undefined: no group mapping.
   */
  readonly groupsClaim: string | undefined;
  /** Just-in-time provisioning of unknown subjects with a verified email (off by default). */
  readonly jitProvisioning: boolean;
}

export type SpiceDbConfig =
  | { readonly kind: 'embedded' }
  | {
      readonly kind: 'remote';
      readonly endpoint: string;
      readonly presharedKey: string;
      readonly insecure: boolean;
    };

export interface AuthzConfig {
  readonly spicedb: SpiceDbConfig;
  /** Deadline of one SpiceDB call; past it the decision is AUTHZ_UNAVAILABLE. */
  readonly deadlineMs: number;
  /** How often the outbox relay retries pending relationship writes. */
  readonly outboxSweepIntervalMs: number;
  /** Put the reasons of a denial into `extensions.explain` (development only). */
  readonly explain: boolean;
  /** Lifetime of a cached decision (0: no cache) and the cache's bound. */
  readonly cacheTtlMs: number;
  readonly cacheMaxEntries: number;
  /** JSON file of policy data (e.g. tenants' approval limits), or none. */
  readonly policyDataFile: string | undefined;
  /** How long a tenant's policy settings from the database are used before being re-read. */
  readonly policyDataTtlMs: number;
  /** Reload the bundle and the data file when they change on disk (development). */
  readonly watchPolicies: boolean;
  /** `@requiresScopes` binds identity-provider tokens too, not only API keys. */
  readonly requireUserScopes: boolean;
}

/** A key that seals credential secrets (domain/secretBox.ts). */
export interface SecretKey {
  readonly id: string;
  readonly key: Uint8Array;
}

/** Bytes of a credential key (AES-256). */
export const KEY_BYTES = 32;

/** Parses CREDENTIAL_KEYS; throws a message naming what is wrong (never the key). */
export function parseSecretKeys(value: string): SecretKey[] {
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry, i) => {
      const at = entry.indexOf(':');
      const id = at > 0 ? entry.slice(0, at) : '';
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
        throw new Error(`entry ${i + 1}: expected <id>:<base64 key>, id of [A-Za-z0-9_-]`);
      }
      const key = Buffer.from(entry.slice(at + 1), 'base64');
      if (key.length !== KEY_BYTES) {
        throw new Error(`key ${id}: must be ${KEY_BYTES} bytes, base64-encoded`);
      }
      return { id, key: new Uint8Array(key) };
    });
  if (keys.length === 0) throw new Error('no keys');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('duplicate key ids');
  return keys;
}

/** Keys that seal credential secrets: configured, or a generated development key. */
export type CredentialKeys =
  | { readonly kind: 'configured'; readonly keys: readonly SecretKey[] }
  | { readonly kind: 'dev'; readonly keysDir: string };

/** Fewest bytes of API_KEY_PEPPER (the HMAC-SHA256 key of API key hashes). */
export const API_KEY_PEPPER_MIN_BYTES = 32;

/**
 * Parses API_KEY_PEPPER: base64 (standard alphabet, padding optional) of at least
 * {@link API_KEY_PEPPER_MIN_BYTES} bytes. Errors never repeat the value.
 */
export function parseApiKeyPepper(value: string): Uint8Array {
  const text = value.trim();
  const bytes = Buffer.from(text, 'base64');
  const canonical = bytes.toString('base64').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || canonical !== text.replace(/=+$/, '')) {
    throw new Error('not base64');
  }
  if (bytes.length < API_KEY_PEPPER_MIN_BYTES) {
    throw new Error(
      `must be at least ${API_KEY_PEPPER_MIN_BYTES} random bytes (found ${bytes.length}), base64-encoded`,
    );
  }
  return new Uint8Array(bytes);
}

/**
 * The server's secret in every API key hash (authn/apiKeys.ts): configured, or a
 * development pepper generated into DEV_KEYS_DIR (authn/apiKeyPepper.ts).
 */
export type ApiKeyPepper =
  | { readonly kind: 'configured'; readonly pepper: Uint8Array }
  | { readonly kind: 'dev'; readonly keysDir: string };

/** The Ed25519 key that signs audit checkpoints: configured, or a generated development key. */
export type AuditSigningKey =
  | { readonly kind: 'configured'; readonly key: KeyObject }
  | { readonly kind: 'dev'; readonly keysDir: string };

export interface AuditConfig {
  readonly signingKey: AuditSigningKey;
  /** How often every tenant's chain head is signed (0: only on demand). */
  readonly checkpointIntervalMs: number;
  /** Most live-feed subscriptions one WebSocket connection may hold. */
  readonly maxSubscriptionsPerConnection: number;
}

/** Query limits (operation/limits/QueryLimits.ts), from QUERY_MAX_* and QUERY_LIST_SIZE. */
export interface QueryLimitsConfig {
  readonly maxTokens: number;
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxDirectives: number;
  readonly maxCost: number;
  readonly listSize: number;
}

/** Trusted documents (operation/TrustedDocuments.ts), from TRUSTED_DOCUMENTS_*. */
export interface TrustedDocumentsConfig {
  /** The manifest of the documents that may run; none: any document (and APQ) may. */
  readonly file: string | undefined;
  /** A token with this scope may send any document text. */
  readonly anyDocumentScope: string;
}

/** A token bucket: `burst` points at most, refilled at `perHour` points an hour. */
export interface BudgetConfig {
  /** The name clients see in the RateLimit headers. */
  readonly name: string;
  readonly perHour: number;
  readonly burst: number;
}

/** Rate limits (edge/RateLimiter.ts) and where their counters live. */
export interface RateLimitsConfig {
  /** Redis (shared by every replica) or this process's memory. */
  readonly store:
    | { readonly kind: 'memory' }
    | { readonly kind: 'redis'; readonly url: string; readonly prefix: string };
  readonly user: BudgetConfig;
  readonly premium: BudgetConfig;
  readonly anonymous: BudgetConfig;
  readonly premiumScopes: readonly string[];
  readonly premiumRoles: readonly string[];
  /** Query cost of one point. */
  readonly costPerPoint: number;
}

/** Failed authentication per client address (edge/AuthLockout.ts). */
export interface LockoutConfig {
  readonly maxAttempts: number;
  readonly windowMs: number;
  readonly lockMs: number;
}

/** TRUST_PROXY: nobody, the nearest `hops` proxies, or proxies at these addresses/CIDRs. */
export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'addresses'; readonly list: BlockList; readonly text: readonly string[] };

/** WebSocket connection limits (server/websocket.ts). */
export interface WebSocketConfig {
  readonly maxConnectionsPerPrincipal: number;
  readonly maxOperationsPerSecond: number;
  readonly connectionInitTimeoutMs: number;
}

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly database: DatabaseConfig;
  readonly transactionTimeoutMs: number;
  readonly seedDemoData: boolean;
  readonly auth: AuthConfig;
  readonly authz: AuthzConfig;
  readonly credentialKeys: CredentialKeys;
  readonly apiKeyPepper: ApiKeyPepper;
  readonly audit: AuditConfig;
  readonly queryLimits: QueryLimitsConfig;
  readonly trustedDocuments: TrustedDocumentsConfig;
  readonly rateLimits: RateLimitsConfig;
  readonly lockout: LockoutConfig;
  readonly trustProxy: TrustProxy;
  readonly webSocket: WebSocketConfig;
  readonly introspection: boolean;
  /** Serve the GraphiQL IDE on GET /graphql to browsers (server/graphiql/; GRAPHIQL_ENABLED). */
  readonly graphiql: boolean;
  readonly corsOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly shutdownGraceMs: number;
  /** The Prometheus scrape listener (METRICS_PORT, METRICS_HOST), or none. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
}

/** Thrown when the environment is invalid; `main` prints it and exits non-zero. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const booleanString = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');
const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

/** Points of a rate-limit budget (an hour's refill or a burst). */
const budget = z.coerce.number().int().min(1).max(1_000_000_000);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  AUTH_REQUIRE_SCOPES: booleanString.default(false),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_OWNER_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(1_000).default(DEFAULT_POOL.max),
  DB_CONNECT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(DEFAULT_POOL.connectTimeoutMs),
  DB_STATEMENT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(DEFAULT_POOL.statementTimeoutMs),
  DB_POOL_IDLE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(DEFAULT_POOL.idleTimeoutMs),
  DB_APPLICATION_NAME: z
    .string()
    .regex(/^[\x20-\x7e]{1,63}$/, 'printable ASCII, at most 63 characters')
    .default(DEFAULT_POOL.applicationName),
  DB_STARTUP_RETRY_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(DEFAULT_POOL.startupRetryMs),
  DB_PREPARED_STATEMENTS: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(DEFAULT_POOL.preparedStatements),
  PGLITE_DATA_DIR: z.string().min(1).default('.gatehouse/pgdata'),
  DB_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  SEED_DEMO_DATA: booleanString.optional(),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_JWKS_FILE: z.string().min(1).optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  AUTH_ALGORITHMS: csv.pipe(z.array(z.enum(JWT_ALGORITHMS)).min(1)).optional(),
  AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  AUTH_TENANT_CLAIM: z.string().min(1).default('tenant_id'),
  AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
  AUTH_SCOPES_CLAIM: z.string().min(1).default('scope'),
  AUTH_GROUPS_CLAIM: z.string().min(1).max(200).optional(),
  AUTH_JIT_PROVISIONING: booleanString.default(false),
  DEV_KEYS_DIR: z.string().min(1).default('.gatehouse/dev-keys'),
  GRAPHQL_INTROSPECTION: booleanString.optional(),
  GRAPHIQL_ENABLED: booleanString.optional(),
  // http(s) only: any other URL has the opaque origin "null", which sandboxed pages can send.
  CORS_ORIGINS: csv.pipe(z.array(z.url({ protocol: /^https?$/ }))).default([]),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(50_000_000).default(1_000_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  SPICEDB_ENDPOINT: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be host:port')
    .optional(),
  SPICEDB_PRESHARED_KEY: z.string().min(1).optional(),
  SPICEDB_DEADLINE_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  AUTHZ_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  AUTHZ_CACHE_MAX_ENTRIES: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  POLICY_DATA_FILE: z.string().min(1).optional(),
  POLICY_DATA_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
  POLICY_WATCH: booleanString.optional(),
  CREDENTIAL_KEYS: z.string().min(1).optional(),
  API_KEY_PEPPER: z.string().min(1).optional(),
  OUTBOX_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  AUDIT_SIGNING_KEY: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_INTERVAL: z
    .string()
    .regex(
      /^\d{1,7}(ms|s|m|h)?$/,
      'a duration such as 60s, 5m, 1h or 500ms (a bare number is seconds)',
    )
    .default('60s'),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(1000).default(20),
  WS_MAX_CONNECTIONS_PER_PRINCIPAL: z.coerce.number().int().min(1).max(10_000).default(20),
  WS_MAX_OPERATIONS_PER_SECOND: z.coerce.number().int().min(1).max(10_000).default(20),
  WS_CONNECTION_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  RATE_LIMIT_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,64}$/, 'letters, digits and : . _ - (at most 64)')
    .default('gatehouse:'),
  RATE_LIMIT_USER_PER_HOUR: budget.default(1_000),
  RATE_LIMIT_USER_BURST: budget.default(100),
  RATE_LIMIT_PREMIUM_PER_HOUR: budget.default(10_000),
  RATE_LIMIT_PREMIUM_BURST: budget.default(1_000),
  RATE_LIMIT_ANONYMOUS_PER_HOUR: budget.default(100),
  RATE_LIMIT_ANONYMOUS_BURST: budget.default(10),
  RATE_LIMIT_PREMIUM_SCOPES: csv.default(['gatehouse:premium']),
  RATE_LIMIT_PREMIUM_ROLES: csv.default(['premium']),
  RATE_LIMIT_COST_PER_POINT: z.coerce.number().int().min(1).max(1_000_000).default(100),
  AUTH_LOCKOUT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100_000_000).default(10),
  AUTH_LOCKOUT_WINDOW_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
  AUTH_LOCKOUT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
  TRUST_PROXY: z.string().optional(),
  QUERY_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5_000),
  QUERY_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(10),
  QUERY_MAX_ALIASES: z.coerce.number().int().min(0).max(10_000).default(15),
  QUERY_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(10_000).default(50),
  QUERY_MAX_COST: z.coerce.number().int().min(10).max(100_000_000).default(10_000),
  QUERY_LIST_SIZE: z.coerce.number().int().min(1).max(10_000).default(10),
  TRUSTED_DOCUMENTS_FILE: z.string().min(1).optional(),
  TRUSTED_DOCUMENTS_ANY_DOCUMENT_SCOPE: z
    .string()
    .regex(/^[\x21-\x7e]+$/, 'one scope: printable characters, no spaces')
    .default('graphql:any-document'),
});

const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `60s`, `5m`, `1h`, `500ms`; a bare number is seconds. */
function durationMs(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value);
  const unit = (match?.[2] ?? 's') as keyof typeof DURATION_UNIT_MS;
  return Number(match?.[1] ?? 0) * DURATION_UNIT_MS[unit];
}

/**
 * AUDIT_SIGNING_KEY: an Ed25519 private key as PEM (PKCS#8; `\n` may stand for line
 * breaks) or as base64 of its PKCS#8 DER. Errors never repeat the key.
 */
export function parseAuditSigningKey(value: string): KeyObject {
  let key: KeyObject;
  try {
    const text = value.trim().replaceAll('\\n', '\n');
    key = text.startsWith('-----BEGIN')
      ? createPrivateKey(text)
      : createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
  } catch {
    throw new Error('not a private key (PEM, or base64 of PKCS#8 DER)');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

/**
 * Parses TRUST_PROXY: empty or `false` (trust none), a hop count 1–10, or a comma list of
 * addresses and CIDRs (`10.0.0.0/8, 192.168.1.7, fd00::/8`). Throws a message naming the
 * bad entry. `true` (trust every hop) is refused: it would let any client choose its address.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = (value ?? '').trim();
  if (text === '' || text === 'false' || text === '0') return { kind: 'none' };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > 10) throw new Error('a hop count is at most 10');
    return { kind: 'hops', hops };
  }
  if (text === 'true') {
    throw new Error(
      '"true" would let any client choose its address: give a hop count or the proxies\' addresses',
    );
  }
  const list = new BlockList();
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || extra !== undefined || !/^\d+$/.test(bits ?? '0') || prefix > max) {
      throw new Error(`"${entry}" is not an address or CIDR`);
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { kind: 'addresses', list, text: entries };
}

/**
 * Reads and validates the configuration. Throws {@link ConfigError} naming every bad
 * variable, and refuses unsafe production settings (dev issuer, missing issuer/audience,
 * embedded database, HTTP JWKS).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      return `  ${name}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const problems: string[] = [];
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (metrics are never on the public port)');
  }

  if (e.AUTH_JWKS_URL && e.AUTH_JWKS_FILE) {
    problems.push('AUTH_JWKS_URL and AUTH_JWKS_FILE: set one, not both');
  }
  let jwks: JwksSource;
  if (e.AUTH_JWKS_URL) jwks = { kind: 'remote', url: new URL(e.AUTH_JWKS_URL) };
  else if (e.AUTH_JWKS_FILE) jwks = { kind: 'file', path: path.resolve(e.AUTH_JWKS_FILE) };
  else jwks = { kind: 'dev', keysDir: path.resolve(e.DEV_KEYS_DIR) };

  const dev = jwks.kind === 'dev';
  const issuer = e.AUTH_ISSUER ?? (dev ? DEV_ISSUER : undefined);
  const audience = e.AUTH_AUDIENCE ?? (dev ? DEV_AUDIENCE : undefined);
  if (!issuer) problems.push('AUTH_ISSUER: required when AUTH_JWKS_URL or AUTH_JWKS_FILE is set');
  if (!audience)
    problems.push('AUTH_AUDIENCE: required when AUTH_JWKS_URL or AUTH_JWKS_FILE is set');
  if (dev && (e.AUTH_ISSUER ?? DEV_ISSUER) !== DEV_ISSUER) {
    problems.push(
      'AUTH_ISSUER: the local development key only signs for the dev issuer; set AUTH_JWKS_URL or AUTH_JWKS_FILE',
    );
  }

  if (production) {
    if (dev)
      problems.push(
        'AUTH_JWKS_URL: production needs an identity provider (AUTH_JWKS_URL or AUTH_JWKS_FILE); the dev issuer is refused',
      );
    if (issuer === DEV_ISSUER)
      problems.push('AUTH_ISSUER: the dev issuer is refused in production');
    if (jwks.kind === 'remote' && jwks.url.protocol !== 'https:') {
      problems.push('AUTH_JWKS_URL: must be https in production');
    }
    if (!e.DATABASE_URL)
      problems.push(
        'DATABASE_URL: production needs a PostgreSQL server (the embedded database is for development)',
      );
  }
  if (e.DATABASE_OWNER_URL && !e.DATABASE_URL) {
    problems.push('DATABASE_OWNER_URL: only meaningful together with DATABASE_URL');
  }
  if (e.DATABASE_URL && e.DATABASE_OWNER_URL && e.DATABASE_URL === e.DATABASE_OWNER_URL) {
    problems.push(
      'DATABASE_URL: must connect as the app role, not the owner role of DATABASE_OWNER_URL',
    );
  }
  let credentialKeys: CredentialKeys = { kind: 'dev', keysDir: path.resolve(e.DEV_KEYS_DIR) };
  if (e.CREDENTIAL_KEYS) {
    try {
      credentialKeys = { kind: 'configured', keys: parseSecretKeys(e.CREDENTIAL_KEYS) };
    } catch (error) {
      problems.push(`CREDENTIAL_KEYS: ${error instanceof Error ? error.message : 'invalid'}`);
    }
  } else if (production) {
    problems.push('CREDENTIAL_KEYS: required in production (keys that encrypt credential secrets)');
  }
  let apiKeyPepper: ApiKeyPepper = { kind: 'dev', keysDir: path.resolve(e.DEV_KEYS_DIR) };
  if (e.API_KEY_PEPPER) {
    try {
      apiKeyPepper = { kind: 'configured', pepper: parseApiKeyPepper(e.API_KEY_PEPPER) };
    } catch (error) {
      problems.push(`API_KEY_PEPPER: ${error instanceof Error ? error.message : 'invalid'}`);
    }
  } else if (production) {
    problems.push('API_KEY_PEPPER: required in production (the secret key of API key hashes)');
  }
  let auditSigningKey: AuditSigningKey = { kind: 'dev', keysDir: path.resolve(e.DEV_KEYS_DIR) };
  if (e.AUDIT_SIGNING_KEY) {
    try {
      auditSigningKey = { kind: 'configured', key: parseAuditSigningKey(e.AUDIT_SIGNING_KEY) };
    } catch (error) {
      problems.push(`AUDIT_SIGNING_KEY: ${error instanceof Error ? error.message : 'invalid'}`);
    }
  } else if (production) {
    problems.push(
      'AUDIT_SIGNING_KEY: required in production (Ed25519 key that signs audit checkpoints)',
    );
  }
  if (e.SPICEDB_ENDPOINT && !e.SPICEDB_PRESHARED_KEY) {
    problems.push('SPICEDB_PRESHARED_KEY: required with SPICEDB_ENDPOINT');
  }
  let trustProxy: TrustProxy = { kind: 'none' };
  try {
    trustProxy = parseTrustProxy(e.TRUST_PROXY);
  } catch (error) {
    problems.push(`TRUST_PROXY: ${error instanceof Error ? error.message : 'invalid'}`);
  }
  for (const kind of ['USER', 'PREMIUM', 'ANONYMOUS'] as const) {
    if (e[`RATE_LIMIT_${kind}_BURST`] > e[`RATE_LIMIT_${kind}_PER_HOUR`]) {
      problems.push(
        `RATE_LIMIT_${kind}_BURST: must not exceed RATE_LIMIT_${kind}_PER_HOUR (a burst is part of the hour's budget)`,
      );
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  const spicedbHost = e.SPICEDB_ENDPOINT?.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const spicedb: SpiceDbConfig =
    e.SPICEDB_ENDPOINT && e.SPICEDB_PRESHARED_KEY
      ? {
          kind: 'remote',
          endpoint: e.SPICEDB_ENDPOINT,
          presharedKey: e.SPICEDB_PRESHARED_KEY,
          // Plaintext only on loopback; anything crossing a network uses TLS.
          insecure:
            spicedbHost === 'localhost' ||
            spicedbHost === '::1' ||
            /^127\./.test(spicedbHost ?? ''),
        }
      : { kind: 'embedded' };

  const database: DatabaseConfig = e.DATABASE_URL
    ? {
        kind: 'postgres',
        url: e.DATABASE_URL,
        ownerUrl: e.DATABASE_OWNER_URL,
        pool: {
          max: e.DB_POOL_MAX,
          connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
          statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
          idleTimeoutMs: e.DB_POOL_IDLE_TIMEOUT_MS,
          applicationName: e.DB_APPLICATION_NAME,
          startupRetryMs: e.DB_STARTUP_RETRY_MS,
          preparedStatements: e.DB_PREPARED_STATEMENTS,
        },
      }
    : {
        kind: 'embedded',
        dataDir: e.PGLITE_DATA_DIR === 'memory://' ? 'memory://' : path.resolve(e.PGLITE_DATA_DIR),
      };

  return {
    env: e.NODE_ENV,
    host: e.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    port: e.PORT,
    database,
    transactionTimeoutMs: e.DB_TRANSACTION_TIMEOUT_MS,
    seedDemoData: e.SEED_DEMO_DATA ?? (!production && database.kind === 'embedded'),
    auth: {
      jwks,
      issuer: issuer as string,
      audience: audience as string,
      algorithms: e.AUTH_ALGORITHMS ?? (dev ? ['ES256'] : ['RS256', 'PS256', 'ES256', 'EdDSA']),
      clockToleranceSeconds: e.AUTH_CLOCK_TOLERANCE_SECONDS,
      tenantClaim: e.AUTH_TENANT_CLAIM,
      rolesClaim: e.AUTH_ROLES_CLAIM,
      scopesClaim: e.AUTH_SCOPES_CLAIM,
      groupsClaim: e.AUTH_GROUPS_CLAIM,
      jitProvisioning: e.AUTH_JIT_PROVISIONING,
    },
    authz: {
      spicedb,
      requireUserScopes: e.AUTH_REQUIRE_SCOPES,
      deadlineMs: e.SPICEDB_DEADLINE_MS,
      outboxSweepIntervalMs: e.OUTBOX_SWEEP_INTERVAL_MS,
      explain: e.NODE_ENV === 'development',
      cacheTtlMs: e.AUTHZ_CACHE_TTL_MS,
      cacheMaxEntries: e.AUTHZ_CACHE_MAX_ENTRIES,
      policyDataFile: e.POLICY_DATA_FILE ? path.resolve(e.POLICY_DATA_FILE) : undefined,
      policyDataTtlMs: e.POLICY_DATA_TTL_MS,
      watchPolicies: e.POLICY_WATCH ?? e.NODE_ENV === 'development',
    },
    credentialKeys,
    apiKeyPepper,
    audit: {
      signingKey: auditSigningKey,
      checkpointIntervalMs: durationMs(e.AUDIT_CHECKPOINT_INTERVAL),
      maxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    },
    queryLimits: {
      maxTokens: e.QUERY_MAX_TOKENS,
      maxDepth: e.QUERY_MAX_DEPTH,
      maxAliases: e.QUERY_MAX_ALIASES,
      maxDirectives: e.QUERY_MAX_DIRECTIVES,
      maxCost: e.QUERY_MAX_COST,
      listSize: e.QUERY_LIST_SIZE,
    },
    trustedDocuments: {
      file: e.TRUSTED_DOCUMENTS_FILE ? path.resolve(e.TRUSTED_DOCUMENTS_FILE) : undefined,
      anyDocumentScope: e.TRUSTED_DOCUMENTS_ANY_DOCUMENT_SCOPE,
    },
    rateLimits: {
      store: e.REDIS_URL
        ? { kind: 'redis', url: e.REDIS_URL, prefix: e.RATE_LIMIT_REDIS_PREFIX }
        : { kind: 'memory' },
      user: { name: 'user', perHour: e.RATE_LIMIT_USER_PER_HOUR, burst: e.RATE_LIMIT_USER_BURST },
      premium: {
        name: 'premium',
        perHour: e.RATE_LIMIT_PREMIUM_PER_HOUR,
        burst: e.RATE_LIMIT_PREMIUM_BURST,
      },
      anonymous: {
        name: 'anonymous',
        perHour: e.RATE_LIMIT_ANONYMOUS_PER_HOUR,
        burst: e.RATE_LIMIT_ANONYMOUS_BURST,
      },
      premiumScopes: e.RATE_LIMIT_PREMIUM_SCOPES,
      premiumRoles: e.RATE_LIMIT_PREMIUM_ROLES,
      costPerPoint: e.RATE_LIMIT_COST_PER_POINT,
    },
    lockout: {
      maxAttempts: e.AUTH_LOCKOUT_MAX_ATTEMPTS,
      windowMs: e.AUTH_LOCKOUT_WINDOW_MS,
      lockMs: e.AUTH_LOCKOUT_MS,
    },
    trustProxy,
    webSocket: {
      maxConnectionsPerPrincipal: e.WS_MAX_CONNECTIONS_PER_PRINCIPAL,
      maxOperationsPerSecond: e.WS_MAX_OPERATIONS_PER_SECOND,
      connectionInitTimeoutMs: e.WS_CONNECTION_INIT_TIMEOUT_MS,
    },
    introspection: e.GRAPHQL_INTROSPECTION ?? !production,
    graphiql: e.GRAPHIQL_ENABLED ?? e.NODE_ENV === 'development',
    corsOrigins: e.CORS_ORIGINS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    logLevel: e.NODE_ENV === 'test' && env['LOG_LEVEL'] === undefined ? 'silent' : e.LOG_LEVEL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    metrics:
      e.METRICS_PORT === undefined ? undefined : { host: e.METRICS_HOST, port: e.METRICS_PORT },
  };
}
