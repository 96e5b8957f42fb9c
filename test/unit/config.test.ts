import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_POOL,
  DEV_AUDIENCE,
  DEV_ISSUER,
  loadConfig,
} from '../../src/config.js';

const ed25519 = () => generateKeyPairSync('ed25519').privateKey;
const AUDIT_KEY_DER = ed25519().export({ type: 'pkcs8', format: 'der' }).toString('base64');

/** A production environment that passes every check; tests break one thing at a time. */
const PRODUCTION = {
  NODE_ENV: 'production',
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
  AUTH_ISSUER: 'https://idp.example.com/',
  AUTH_AUDIENCE: 'https://api.example.com',
  DATABASE_URL: 'postgres://gatehouse_app:pw@db.example.com:5432/gatehouse',
  CREDENTIAL_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
  AUDIT_SIGNING_KEY: AUDIT_KEY_DER,
  API_KEY_PEPPER: Buffer.alloc(32, 3).toString('base64'),
} as const;

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted the environment');
}

function without(name: keyof typeof PRODUCTION): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...PRODUCTION };
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
  delete env[name];
  return env;
}

describe('loadConfig', () => {
  describe('development defaults', () => {
    const config = loadConfig({});

    it('runs in development on loopback', () => {
      expect(config.env).toBe('development');
      expect(config.host).toBe('127.0.0.1');
      expect(config.port).toBe(4000);
    });

    it('uses the development issuer and key', () => {
      expect(config.auth.jwks).toEqual({
        kind: 'dev',
        keysDir: path.resolve('.gatehouse/dev-keys'),
      });
      expect(config.auth.issuer).toBe(DEV_ISSUER);
      expect(config.auth.audience).toBe(DEV_AUDIENCE);
      expect(config.auth.algorithms).toEqual(['ES256']);
      expect(config.auth.clockToleranceSeconds).toBe(5);
      expect(config.auth.tenantClaim).toBe('tenant_id');
      expect(config.auth.rolesClaim).toBe('roles');
      expect(config.auth.scopesClaim).toBe('scope');
    });

    it('uses the embedded database with demo data', () => {
      expect(config.database).toEqual({
        kind: 'embedded',
        dataDir: path.resolve('.gatehouse/pgdata'),
      });
      expect(config.seedDemoData).toBe(true);
    });

    it('enables introspection', () => {
      expect(config.introspection).toBe(true);
    });

    it('keeps an in-memory embedded database as is', () => {
      expect(loadConfig({ PGLITE_DATA_DIR: 'memory://' }).database).toEqual({
        kind: 'embedded',
        dataDir: 'memory://',
      });
    });

    it('is silent in tests unless LOG_LEVEL is set', () => {
      expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('silent');
      expect(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
      expect(config.logLevel).toBe('info');
    });
  });

  describe('production', () => {
    it('accepts a complete production environment', () => {
      const config = loadConfig(PRODUCTION);
      expect(config.env).toBe('production');
      expect(config.host).toBe('0.0.0.0');
      expect(config.auth.jwks).toEqual({ kind: 'remote', url: new URL(PRODUCTION.AUTH_JWKS_URL) });
      expect(config.auth.issuer).toBe(PRODUCTION.AUTH_ISSUER);
      expect(config.auth.audience).toBe(PRODUCTION.AUTH_AUDIENCE);
      expect(config.auth.algorithms).not.toContain('HS256');
      expect(config.database).toEqual({
        kind: 'postgres',
        url: PRODUCTION.DATABASE_URL,
        ownerUrl: undefined,
        pool: DEFAULT_POOL,
      });
      expect(config.seedDemoData).toBe(false);
    });

    it('reads the PostgreSQL connection settings, and refuses bad ones naming them', () => {
      const config = loadConfig({
        ...PRODUCTION,
        DB_POOL_MAX: '25',
        DB_CONNECT_TIMEOUT_MS: '2000',
        DB_STATEMENT_TIMEOUT_MS: '0',
        DB_POOL_IDLE_TIMEOUT_MS: '60000',
        DB_APPLICATION_NAME: 'gatehouse-eu-1',
        DB_STARTUP_RETRY_MS: '120000',
        DB_PREPARED_STATEMENTS: '0',
      });
      expect(config.database).toMatchObject({
        pool: {
          max: 25,
          connectTimeoutMs: 2000,
          statementTimeoutMs: 0,
          idleTimeoutMs: 60000,
          applicationName: 'gatehouse-eu-1',
          startupRetryMs: 120000,
          preparedStatements: 0,
        },
      });
      for (const [name, value] of [
        ['DB_POOL_MAX', '0'],
        ['DB_CONNECT_TIMEOUT_MS', 'soon'],
        ['DB_APPLICATION_NAME', 'x'.repeat(64)],
        ['DB_STARTUP_RETRY_MS', '-1'],
        ['DB_PREPARED_STATEMENTS', 'all'],
      ] as const) {
        expect(() => loadConfig({ ...PRODUCTION, [name]: value }), name).toThrow(name);
      }
    });

    it('reads CORS origins', () => {
      expect(
        loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' }).corsOrigins,
      ).toEqual(['https://app.example.com', 'http://localhost:3000']);
    });

    it('refuses to start without an identity provider (dev issuer)', () => {
      const error = configError({
        NODE_ENV: 'production',
        DATABASE_URL: PRODUCTION.DATABASE_URL,
      });
      expect(error.message).toContain('AUTH_JWKS_URL');
      expect(error.message).toContain('dev issuer is refused');
    });

    it('refuses AUTH_ISSUER equal to the dev issuer', () => {
      const error = configError({ ...PRODUCTION, AUTH_ISSUER: 'urn:gatehouse:dev-issuer' });
      expect(error.message).toContain('AUTH_ISSUER: the dev issuer is refused in production');
    });

    it('refuses the dev issuer with a JWKS file too', () => {
      const error = configError({
        ...without('AUTH_JWKS_URL'),
        AUTH_JWKS_FILE: '/etc/gatehouse/jwks.json',
        AUTH_ISSUER: DEV_ISSUER,
      });
      expect(error.message).toContain('AUTH_ISSUER');
    });

    it('refuses to start without AUTH_ISSUER', () => {
      expect(configError(without('AUTH_ISSUER')).message).toContain('AUTH_ISSUER: required');
    });

    it('refuses to start without AUTH_AUDIENCE', () => {
      expect(configError(without('AUTH_AUDIENCE')).message).toContain('AUTH_AUDIENCE: required');
    });

    it('refuses an http JWKS URL', () => {
      const error = configError({
        ...PRODUCTION,
        AUTH_JWKS_URL: 'http://idp.example.com/.well-known/jwks.json',
      });
      expect(error.message).toContain('AUTH_JWKS_URL: must be https in production');
    });

    it('refuses to start without DATABASE_URL (embedded database)', () => {
      expect(configError(without('DATABASE_URL')).message).toContain(
        'DATABASE_URL: production needs a PostgreSQL server',
      );
    });

    it('names every problem at once', () => {
      const error = configError({ NODE_ENV: 'production' });
      expect(error.message).toContain('AUTH_JWKS_URL');
      expect(error.message).toContain('AUTH_ISSUER');
      expect(error.message).toContain('DATABASE_URL');
    });

    it('turns introspection off by default, on with GRAPHQL_INTROSPECTION=true', () => {
      expect(loadConfig(PRODUCTION).introspection).toBe(false);
      expect(loadConfig({ ...PRODUCTION, GRAPHQL_INTROSPECTION: 'true' }).introspection).toBe(true);
      expect(loadConfig({ GRAPHQL_INTROSPECTION: 'false' }).introspection).toBe(false);
    });
  });

  describe('identity provider settings', () => {
    it('accepts an http JWKS URL outside production', () => {
      const config = loadConfig({
        AUTH_JWKS_URL: 'http://localhost:8080/jwks.json',
        AUTH_ISSUER: 'http://localhost:8080/',
        AUTH_AUDIENCE: 'gatehouse',
      });
      expect(config.auth.jwks.kind).toBe('remote');
      expect(config.auth.algorithms).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA']);
    });

    it('resolves a JWKS file and reads the claim settings', () => {
      const config = loadConfig({
        AUTH_JWKS_FILE: 'keys/jwks.json',
        AUTH_ISSUER: 'https://idp.example.com/',
        AUTH_AUDIENCE: 'gatehouse',
        AUTH_ALGORITHMS: 'RS256, ES384',
        AUTH_TENANT_CLAIM: '/org/id',
        AUTH_ROLES_CLAIM: 'https://example.com/roles',
        AUTH_SCOPES_CLAIM: 'scp',
        AUTH_GROUPS_CLAIM: '/ext/groups',
        AUTH_JIT_PROVISIONING: 'true',
        AUTH_CLOCK_TOLERANCE_SECONDS: '0',
      });
      expect(config.auth).toEqual({
        jwks: { kind: 'file', path: path.resolve('keys/jwks.json') },
        issuer: 'https://idp.example.com/',
        audience: 'gatehouse',
        algorithms: ['RS256', 'ES384'],
        clockToleranceSeconds: 0,
        tenantClaim: '/org/id',
        rolesClaim: 'https://example.com/roles',
        scopesClaim: 'scp',
        groupsClaim: '/ext/groups',
        jitProvisioning: true,
      });
    });

    it('maps no groups and provisions no one unless asked', () => {
      const { auth } = loadConfig({});
      expect(auth.groupsClaim).toBeUndefined();
      expect(auth.jitProvisioning).toBe(false);
    });

    it('refuses both AUTH_JWKS_URL and AUTH_JWKS_FILE', () => {
      const error = configError({
        AUTH_JWKS_URL: 'https://idp.example.com/jwks.json',
        AUTH_JWKS_FILE: 'jwks.json',
        AUTH_ISSUER: 'https://idp.example.com/',
        AUTH_AUDIENCE: 'gatehouse',
      });
      expect(error.message).toContain('AUTH_JWKS_URL and AUTH_JWKS_FILE');
    });

    it('refuses another issuer for the development key', () => {
      expect(configError({ AUTH_ISSUER: 'https://idp.example.com/' }).message).toContain(
        'AUTH_ISSUER',
      );
    });

    it('refuses the database app role equal to the owner role', () => {
      const url = 'postgres://owner:pw@localhost/db';
      expect(configError({ DATABASE_URL: url, DATABASE_OWNER_URL: url }).message).toContain(
        'DATABASE_URL',
      );
      expect(configError({ DATABASE_OWNER_URL: url }).message).toContain('DATABASE_OWNER_URL');
    });
  });

  describe('bad values name the variable', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['AUTH_ALGORITHMS', 'HS256'],
      ['AUTH_ALGORITHMS', 'none'],
      ['AUTH_ALGORITHMS', 'ES256,HS256'],
      ['AUTH_ALGORITHMS', ''],
      ['DATABASE_URL', 'mysql://x'],
      ['DATABASE_URL', 'not a url'],
      ['AUTH_JWKS_URL', 'ftp://idp.example.com/jwks.json'],
      ['AUTH_CLOCK_TOLERANCE_SECONDS', '3600'],
      ['NODE_ENV', 'staging'],
      ['GRAPHQL_INTROSPECTION', 'yes'],
      ['LOG_LEVEL', 'verbose'],
      ['CORS_ORIGINS', 'not-an-origin'],
      // Not http(s): its origin would be "null", which any sandboxed page can send.
      ['CORS_ORIGINS', 'file:///srv/app'],
      ['CORS_ORIGINS', 'https://app.example.com,javascript:alert(1)'],
      ['MAX_BODY_BYTES', '10'],
    ])('%s=%s', (name, value) => {
      const error = configError({ [name]: value });
      expect(error.message).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
    });
  });
});

describe('SpiceDB configuration', () => {
  it('embeds SpiceDB by default, with a 1 s deadline and a 5 s decision cache', () => {
    const config = loadConfig({});
    expect(config.authz.spicedb).toEqual({ kind: 'embedded' });
    expect(config.authz.deadlineMs).toBe(1_000);
    expect(config.authz.cacheTtlMs).toBe(5_000);
    expect(config.authz.explain).toBe(true); // development
    expect(loadConfig({ NODE_ENV: 'test' }).authz.explain).toBe(false);
  });

  it.each([
    ['127.0.0.1:50051', true],
    ['localhost:50051', true],
    ['[::1]:50051', true],
    ['spicedb.internal:50051', false],
    ['authz.example.com:443', false],
  ])('connects to %s with plaintext=%s (TLS unless loopback)', (endpoint, insecure) => {
    const config = loadConfig({ SPICEDB_ENDPOINT: endpoint, SPICEDB_PRESHARED_KEY: 'key' });
    expect(config.authz.spicedb).toEqual({
      kind: 'remote',
      endpoint,
      presharedKey: 'key',
      insecure,
    });
  });

  it('refuses an endpoint without a preshared key, or one that is not host:port', () => {
    expect(configError({ SPICEDB_ENDPOINT: '127.0.0.1:50051' }).message).toContain(
      'SPICEDB_PRESHARED_KEY',
    );
    expect(
      configError({ SPICEDB_ENDPOINT: 'grpc://x', SPICEDB_PRESHARED_KEY: 'k' }).message,
    ).toContain('SPICEDB_ENDPOINT');
    expect(configError({ SPICEDB_DEADLINE_MS: '0' }).message).toContain('SPICEDB_DEADLINE_MS');
    expect(configError({ AUTHZ_CACHE_TTL_MS: '-1' }).message).toContain('AUTHZ_CACHE_TTL_MS');
  });
});

describe('credential keys and policy data', () => {
  const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

  it('uses a generated development key unless CREDENTIAL_KEYS is set', () => {
    const config = loadConfig({ DEV_KEYS_DIR: '/tmp/k' });
    expect(config.credentialKeys).toEqual({ kind: 'dev', keysDir: path.resolve('/tmp/k') });
  });

  it('reads a key ring: the first key seals, every key opens', () => {
    const config = loadConfig({ CREDENTIAL_KEYS: `new:${key(2)}, old:${key(1)}` });
    expect(config.credentialKeys.kind).toBe('configured');
    const keys = config.credentialKeys.kind === 'configured' ? config.credentialKeys.keys : [];
    expect(
      keys.map((k) => [k.id, Buffer.from(k.key).equals(Buffer.alloc(32, k.id === 'new' ? 2 : 1))]),
    ).toEqual([
      ['new', true],
      ['old', true],
    ]);
  });

  it('requires CREDENTIAL_KEYS in production', () => {
    const { CREDENTIAL_KEYS: _omitted, ...env } = PRODUCTION;
    expect(configError(env).message).toContain('CREDENTIAL_KEYS: required in production');
  });

  it.each([
    ['no id', key(1)],
    ['short key', `k:${Buffer.alloc(16).toString('base64')}`],
    ['bad id', `bad id:${key(1)}`],
    ['duplicate ids', `a:${key(1)},a:${key(2)}`],
  ])('refuses bad keys (%s) without echoing key material', (_case, value) => {
    const message = configError({ CREDENTIAL_KEYS: value }).message;
    expect(message).toContain('CREDENTIAL_KEYS:');
    expect(message).not.toContain(key(1));
    expect(message).not.toContain(key(2));
  });

  it('re-reads tenant policy settings every 5 s by default; watches files in development', () => {
    expect(loadConfig({}).authz.policyDataTtlMs).toBe(5_000);
    expect(loadConfig({ NODE_ENV: 'development' }).authz.watchPolicies).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).authz.watchPolicies).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', POLICY_WATCH: 'true' }).authz.watchPolicies).toBe(true);
    expect(configError({ POLICY_DATA_TTL_MS: '-5' }).message).toContain('POLICY_DATA_TTL_MS');
  });
});

describe('API key pepper', () => {
  const pepper = (bytes: number, fill = 9) => Buffer.alloc(bytes, fill).toString('base64');

  it('uses a generated development pepper unless API_KEY_PEPPER is set', () => {
    const config = loadConfig({ DEV_KEYS_DIR: '/tmp/k' });
    expect(config.apiKeyPepper).toEqual({ kind: 'dev', keysDir: path.resolve('/tmp/k') });
    expect(loadConfig({ NODE_ENV: 'test', DEV_KEYS_DIR: '/tmp/k' }).apiKeyPepper.kind).toBe('dev');
  });

  it('reads base64 of 32 bytes or more, padded or not', () => {
    for (const [value, bytes] of [
      [pepper(32), 32],
      [pepper(32).replace(/=+$/, ''), 32],
      [pepper(64), 64],
    ] as const) {
      const config = loadConfig({ API_KEY_PEPPER: value });
      expect(config.apiKeyPepper.kind).toBe('configured');
      if (config.apiKeyPepper.kind === 'configured') {
        expect(Buffer.from(config.apiKeyPepper.pepper).equals(Buffer.alloc(bytes, 9))).toBe(true);
      }
    }
  });

  it('requires API_KEY_PEPPER in production', () => {
    expect(loadConfig(PRODUCTION).apiKeyPepper.kind).toBe('configured');
    expect(configError(without('API_KEY_PEPPER')).message).toContain(
      'API_KEY_PEPPER: required in production',
    );
  });

  it.each([
    ['too short', pepper(31), 'must be at least 32 random bytes (found 31)'],
    ['not base64', `${pepper(32).slice(0, 20)}!${pepper(32).slice(21)}`, 'not base64'],
    ['base64url', Buffer.alloc(33, 0xfb).toString('base64url'), 'not base64'],
    ['spaces inside', `${pepper(32).slice(0, 20)} ${pepper(32).slice(20)}`, 'not base64'],
  ])('refuses a bad pepper (%s), naming the variable, never echoing it', (_case, value, why) => {
    const message = configError({ API_KEY_PEPPER: value }).message;
    expect(message).toContain(`API_KEY_PEPPER: ${why}`);
    expect(message).not.toContain(value.slice(0, 12));
  });
});

describe('audit signing and checkpoints', () => {
  it('uses a generated development key and signs every 60 s unless configured', () => {
    const config = loadConfig({ DEV_KEYS_DIR: '/tmp/k' });
    expect(config.audit.signingKey).toEqual({ kind: 'dev', keysDir: path.resolve('/tmp/k') });
    expect(config.audit.checkpointIntervalMs).toBe(60_000);
    expect(config.audit.maxSubscriptionsPerConnection).toBe(20);
  });

  it('reads an Ed25519 key as base64 PKCS#8 DER or as PEM (with \\n for line breaks)', () => {
    const key = ed25519();
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    for (const value of [
      key.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
      pem,
      pem.replaceAll('\n', '\\n'),
    ]) {
      const config = loadConfig({ AUDIT_SIGNING_KEY: value });
      expect(config.audit.signingKey.kind).toBe('configured');
      if (config.audit.signingKey.kind === 'configured') {
        expect(config.audit.signingKey.key.asymmetricKeyType).toBe('ed25519');
      }
    }
  });

  it('requires AUDIT_SIGNING_KEY in production', () => {
    const { AUDIT_SIGNING_KEY: _omitted, ...env } = PRODUCTION;
    expect(configError(env).message).toContain('AUDIT_SIGNING_KEY: required in production');
  });

  it('refuses a key that is not Ed25519, or not a key, without echoing it', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'der' })
      .toString('base64');
    const notEd = configError({ AUDIT_SIGNING_KEY: rsa }).message;
    expect(notEd).toContain('AUDIT_SIGNING_KEY: must be an Ed25519 key, not rsa');
    expect(notEd).not.toContain(rsa.slice(0, 40));
    const garbage = configError({ AUDIT_SIGNING_KEY: 'c2VjcmV0LWJ1dC1ub3QtYS1rZXk=' }).message;
    expect(garbage).toContain('AUDIT_SIGNING_KEY: not a private key');
    expect(garbage).not.toContain('c2VjcmV0');
  });

  it.each([
    ['60', 60_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['500ms', 500],
    ['0', 0],
  ])('reads AUDIT_CHECKPOINT_INTERVAL=%s as %i ms', (value, ms) => {
    expect(loadConfig({ AUDIT_CHECKPOINT_INTERVAL: value }).audit.checkpointIntervalMs).toBe(ms);
  });

  it('refuses a malformed interval and a subscription limit out of range', () => {
    expect(configError({ AUDIT_CHECKPOINT_INTERVAL: '1 minute' }).message).toContain(
      'AUDIT_CHECKPOINT_INTERVAL',
    );
    expect(configError({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' }).message).toContain(
      'WS_MAX_SUBSCRIPTIONS_PER_CONNECTION',
    );
  });
});

describe('query limits', () => {
  it('defaults to 5,000 tokens, depth 10, 15 aliases, 50 directives, cost 10,000, lists of 10', () => {
    expect(loadConfig({}).queryLimits).toEqual({
      maxTokens: 5000,
      maxDepth: 10,
      maxAliases: 15,
      maxDirectives: 50,
      maxCost: 10_000,
      listSize: 10,
    });
    expect(loadConfig({ QUERY_MAX_DEPTH: '7', QUERY_MAX_COST: '500' }).queryLimits).toMatchObject({
      maxDepth: 7,
      maxCost: 500,
    });
  });

  it.each([
    ['QUERY_MAX_TOKENS', '10'],
    ['QUERY_MAX_DEPTH', '1'],
    ['QUERY_MAX_ALIASES', '-1'],
    ['QUERY_MAX_COST', 'lots'],
    ['QUERY_LIST_SIZE', '0'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });
});

describe('the metrics endpoint', () => {
  it('is off by default, on its own port when set, never on the public one', () => {
    expect(loadConfig({}).metrics).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9464' }).metrics).toEqual({
      host: '127.0.0.1',
      port: 9464,
    });
    expect(loadConfig({ METRICS_PORT: '0', METRICS_HOST: '10.0.0.5' }).metrics).toEqual({
      host: '10.0.0.5',
      port: 0,
    });
    expect(configError({ PORT: '4000', METRICS_PORT: '4000' }).message).toContain(
      'METRICS_PORT: must differ from PORT',
    );
    expect(configError({ METRICS_PORT: 'http' }).message).toContain('METRICS_PORT');
  });
});

describe('AUTH_REQUIRE_SCOPES', () => {
  it('holds only API keys to scopes by default; identity-provider tokens too when true', () => {
    expect(loadConfig({}).authz.requireUserScopes).toBe(false);
    expect(loadConfig({ AUTH_REQUIRE_SCOPES: 'true' }).authz.requireUserScopes).toBe(true);
    expect(configError({ AUTH_REQUIRE_SCOPES: 'yes' }).message).toContain('AUTH_REQUIRE_SCOPES');
  });
});
