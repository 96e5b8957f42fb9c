/**
 * The logger (pino behind src/observability/logger.ts): the shape of a line, levels, what
 * is kept of errors, collisions with pino's own keys, values that cannot be serialised,
 * bounds, redaction — and every kind of error the server logs, with secrets everywhere.
 */
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { callErrorFromStatus } from '@grpc/grpc-js/build/src/call.js';
import { GraphQLError } from 'graphql';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../src/authn/TokenVerifier.js';
import { AuthzUnavailableError } from '../../src/authz/AuthzError.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { badUserInput, codedError } from '../../src/errors/clientErrors.js';
import { ErrorCode } from '../../src/errors/ErrorCode.js';
import { Prisma } from '../../src/generated/prisma/client.js';
import { createLogger, type LogLevel } from '../../src/observability/logger.js';

type Line = Record<string, unknown>;

function capture(level: LogLevel = 'debug') {
  const raw: string[] = [];
  const logger = createLogger(level, (line) => raw.push(line));
  const lines = (): Line[] => raw.map((l) => JSON.parse(l) as Line);
  const last = (): Line => lines().at(-1)!;
  return { logger, raw, lines, last };
}

/** The value at a path of keys and indexes in parsed JSON. */
function at(value: unknown, ...keys: (string | number)[]): unknown {
  let v = value;
  for (const k of keys) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v;
}

const base64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const JWT = [
  base64url({ alg: 'RS256', typ: 'JWT', kid: 'dev-1' }),
  base64url({ sub: 'alice', tenant: 'acme', exp: 2_000_000_000 }),
  'c2lnbmF0dXJlLW9mLWEtcmVhbC1sb29raW5nLWp3dA',
].join('.');
const API_KEY = 'ghk_live_4f9c2b7e1d8a6035c9e4';
const PASSWORD = 'hunter2-Correct-Horse';
const COOKIE_VALUE = 'Zm9vYmFyYmF6cXV4c2Vzc2lvbg';
const CLIENT_SECRET = 'cs-8d1f0e2a9b7c5566';
/** A private key made for this run (none is kept in the repository). */
const PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
/** Its first line of base64: what must never reach a log line. */
const PEM_BODY = PRIVATE_KEY.split('\n')[1]!;
const PSK = 'psk-1c0ffee1c0ffee42';
const CREDENTIAL_KEYS = 'k1:3q2+7wAAAABBBB==';
const REFRESH = 'rt-opaque-77aa88bbcc';
const OPAQUE = 'opaque-access-0a1b2c3d4e5f60718293';
const JWK_D = 'd-private-exponent-0123456789abcdef';

/** Every substring that must never appear in a line. */
const SECRETS = [
  JWT,
  ...JWT.split('.'),
  API_KEY,
  API_KEY.slice(4),
  PASSWORD,
  COOKIE_VALUE,
  CLIENT_SECRET,
  PEM_BODY,
  PSK,
  CREDENTIAL_KEYS,
  REFRESH,
  OPAQUE,
  JWK_D,
];

function expectNoSecret(raw: readonly string[]): void {
  const text = raw.join('');
  for (const secret of SECRETS) expect(text, secret).not.toContain(secret);
}

describe('a line', () => {
  it('is one JSON object with the level label, an ISO time and msg, and no pid or hostname', () => {
    const { logger, raw, last } = capture('info');
    const before = Date.now();
    logger.info('started', { port: 4000 });
    expect(raw).toHaveLength(1);
    expect(raw[0]).toMatch(/^\{.*\}\n$/);
    const line = last();
    expect(Object.keys(line)).toEqual(['level', 'time', 'port', 'msg']);
    expect(line).toMatchObject({ level: 'info', msg: 'started', port: 4000 });
    expect(line['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(line['time'] as string)).toBeGreaterThanOrEqual(before - 1);
  });

  it('keeps the message as given: no printf formatting', () => {
    const { logger, last } = capture();
    logger.info('100% of %s and %d %j %%', { a: 1 });
    expect(last()['msg']).toBe('100% of %s and %d %j %%');
    logger.warn('no fields');
    expect(last()).toEqual({
      level: 'warn',
      time: expect.any(String) as unknown,
      msg: 'no fields',
    });
  });
});

describe('levels', () => {
  const methods = ['debug', 'info', 'warn', 'error'] as const;
  it.each([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
    ['silent', []],
  ] as const)('LOG_LEVEL=%s writes %j', (level, written) => {
    const configured = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: level }).logLevel;
    const { logger, raw, lines } = capture(configured);
    const child = logger.child({ requestId: 'r-1' });
    for (const m of methods) {
      logger[m](`${m} line`, { n: 1 });
      child[m](`${m} child line`);
    }
    expect(lines().map((l) => l['level'])).toEqual(written.flatMap((l) => [l, l]));
    if (level === 'silent') expect(raw).toEqual([]);
  });
});

describe('errors', () => {
  it('keep name, message, stack, code (string or number) and their own properties', () => {
    const { logger, last } = capture();
    const error = Object.assign(new Error('disk full'), { code: 'ENOSPC', retry: false });
    logger.error('write failed', { error, numeric: Object.assign(new Error('n'), { code: 42 }) });
    expect(last()['error']).toEqual({
      name: 'Error',
      message: 'disk full',
      stack: error.stack,
      code: 'ENOSPC',
      retry: false,
    });
    expect(at(last(), 'numeric', 'code')).toBe(42);
  });

  it('of grpc-js (SpiceDB): code and details, not the metadata', () => {
    const { logger, last } = capture();
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${OPAQUE}`);
    const error = callErrorFromStatus(
      { code: status.UNAVAILABLE, details: 'No connection established', metadata },
      'at SpiceDbConnection.checkPermission',
    );
    logger.error('relationship check failed', { error });
    const logged = last()['error'] as Line;
    expect(logged).toMatchObject({
      name: 'Error',
      message: '14 UNAVAILABLE: No connection established',
      code: 14,
      details: 'No connection established',
    });
    expect(logged['stack']).toContain('for call at');
    expect(logged).not.toHaveProperty('metadata');
  });

  it('of Prisma: code, meta and clientVersion', () => {
    const { logger, last } = capture();
    const error = new Prisma.PrismaClientKnownRequestError('Unique constraint failed', {
      code: 'P2002',
      clientVersion: Prisma.prismaVersion.client,
      meta: { modelName: 'Workflow', target: ['name'] },
    });
    logger.error('commit failed', { error });
    expect(last()['error']).toMatchObject({
      name: 'PrismaClientKnownRequestError',
      message: 'Unique constraint failed',
      code: 'P2002',
      meta: { modelName: 'Workflow', target: ['name'] },
      clientVersion: Prisma.prismaVersion.client,
      stack: expect.stringContaining('PrismaClientKnownRequestError') as unknown,
    });
  });

  it('of Node: errno, syscall, address, port, path', async () => {
    const { logger, lines } = capture();
    let enoent: unknown;
    try {
      readFileSync('/nonexistent/gatehouse.json');
    } catch (error) {
      enoent = error;
    }
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const refused = await new Promise<Error>((resolve) =>
      net.connect(port, '127.0.0.1').once('error', resolve),
    );
    logger.warn('read failed', { error: enoent });
    logger.warn('connect failed', { error: refused });
    const [read, connect] = lines();
    expect(read!['error']).toMatchObject({
      code: 'ENOENT',
      errno: expect.any(Number) as unknown,
      syscall: 'open',
      path: '/nonexistent/gatehouse.json',
    });
    expect(connect!['error']).toMatchObject({
      code: 'ECONNREFUSED',
      errno: expect.any(Number) as unknown,
      syscall: 'connect',
      address: '127.0.0.1',
      port,
    });
  });

  it('keep cause (recursively, bounded), AggregateError.errors and GraphQLError path and code', () => {
    const { logger, last } = capture();
    const cause = Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' });
    const wrapped = new TypeError('fetch failed', { cause });
    const aggregate = new AggregateError([new Error('first'), wrapped], 'both failed');
    const graphql = new GraphQLError('Not allowed', {
      path: ['workflows', 0, 'secretNotes'],
      extensions: { code: ErrorCode.FORBIDDEN },
      originalError: new Error('denied by policy'),
    });
    logger.error('failed', { aggregate, graphql });
    const line = last();
    expect(at(line, 'aggregate', 'errors', 0, 'message')).toBe('first');
    expect(at(line, 'aggregate', 'errors', 1)).toMatchObject({
      name: 'TypeError',
      message: 'fetch failed',
      cause: { name: 'Error', message: 'ECONNRESET', code: 'ECONNRESET' },
    });
    expect(line['graphql']).toMatchObject({
      name: 'GraphQLError',
      message: 'Not allowed',
      path: ['workflows', 0, 'secretNotes'],
      extensions: { code: 'FORBIDDEN' },
      originalError: { message: 'denied by policy' },
    });

    // A cause chain longer than the depth bound ends in a marker, not a stack overflow.
    let deep = new Error('root');
    for (let i = 0; i < 50; i++) deep = new Error(`level ${String(i)}`, { cause: deep });
    logger.error('deep', { error: deep });
    const text = JSON.stringify(last());
    expect(text).toContain('"[Truncated]"');
    expect(text).not.toContain('root');
    const selfCaused = new Error('loop');
    (selfCaused as { cause?: unknown }).cause = selfCaused;
    logger.error('loop', { error: selfCaused });
    expect(at(last(), 'error', 'cause')).toBe('[Circular]');
  });

  it('inside fields and arrays are serialised, not {}', () => {
    const { logger, last } = capture();
    logger.warn('nested', {
      failure: { error: new Error('x') },
      errors: [new Error('a'), new RangeError('b')],
      list: new Set([new Error('in a set')]),
      byId: new Map([['w-1', new Error('in a map')]]),
    });
    const line = last();
    expect(at(line, 'failure', 'error', 'message')).toBe('x');
    expect(at(line, 'errors', 1)).toMatchObject({ name: 'RangeError', message: 'b' });
    expect(at(line, 'list', 0, 'message')).toBe('in a set');
    expect(at(line, 'byId', 'w-1', 'message')).toBe('in a map');
  });

  it('passed as the fields themselves are logged under error', () => {
    const { logger, last } = capture();
    logger.error('oops', new Error('whole') as unknown as Record<string, unknown>);
    expect(at(last(), 'error', 'message')).toBe('whole');
  });
});

describe('keys of pino’s own', () => {
  it('collide in plain pino: two level keys on one line (why the rule exists)', () => {
    const raw: string[] = [];
    const plain = pino(
      { base: null, formatters: { level: (label) => ({ level: label }) } },
      { write: (l: string) => raw.push(l) },
    );
    plain.info({ level: 'fatal' }, 'm');
    expect(raw[0]!.match(/"level":/g)).toHaveLength(2);
    expect((JSON.parse(raw[0]!) as Line)['level']).toBe('fatal');
  });

  it('are written field_<key>: exactly one level, time and msg, the real ones', () => {
    const { logger, raw, last } = capture();
    logger.info('real message', {
      level: 'fatal',
      time: 0,
      msg: 'forged',
      pid: 1,
      hostname: 'forged-host',
      field_level: 'already taken',
    });
    for (const key of ['level', 'time', 'msg', 'pid', 'hostname']) {
      expect(raw[0]!.match(new RegExp(`"${key}":`, 'g')) ?? [], key).toHaveLength(
        key === 'pid' || key === 'hostname' ? 0 : 1,
      );
    }
    expect(last()).toMatchObject({
      level: 'info',
      msg: 'real message',
      field_level: 'fatal',
      field_time: 0,
      field_msg: 'forged',
      field_pid: 1,
      field_hostname: 'forged-host',
      field_field_level: 'already taken',
    });
    expect(last()['time']).not.toBe(0);
  });

  it('and bound keys: a child’s bindings come first, the call’s fields do not override them', () => {
    const { logger, raw, last } = capture();
    const request = logger.child({ requestId: 'r-1', level: 'fatal', msg: 'bound' });
    const tenant = request.child({ tenantId: 't-1', requestId: 'r-2' });
    tenant.warn('denied', { requestId: 'r-3', tenantId: 't-2', reason: 'NO_ACCOUNT' });
    expect(raw[0]!.match(/"level":/g)).toHaveLength(1);
    expect(raw[0]!.match(/"requestId":/g)).toHaveLength(1);
    expect(last()).toEqual({
      level: 'warn',
      time: expect.any(String) as unknown,
      requestId: 'r-1',
      field_level: 'fatal',
      field_msg: 'bound',
      tenantId: 't-1',
      field_requestId: 'r-2',
      field_field_requestId: 'r-3',
      field_tenantId: 't-2',
      reason: 'NO_ACCOUNT',
      msg: 'denied',
    });
    // The parent is unchanged.
    request.info('parent');
    expect(last()).not.toHaveProperty('tenantId');
  });
});

describe('a key named __proto__', () => {
  it('is an ordinary key, in fields and bindings, and pollutes nothing', () => {
    const { logger, raw } = capture();
    const bindings = JSON.parse('{"__proto__": "bound"}') as Record<string, unknown>;
    const fields = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Line;
    logger.child(bindings).info('proto', fields);
    const line = JSON.parse(raw[0]!) as Line;
    expect(Object.getOwnPropertyDescriptor(line, '__proto__')?.value).toBe('bound');
    expect(line['field___proto__']).toEqual({ polluted: true });
    expect(line['a']).toBe(1);
    expect(({} as Line)['polluted']).toBeUndefined();
  });
});

describe('values that JSON.stringify cannot take', () => {
  it('BigInt as a string, cycles as [Circular], Buffers summarised, undefined left out', () => {
    const { logger, last } = capture();
    const cycle: Record<string, unknown> = { name: 'a' };
    cycle['self'] = cycle;
    cycle['list'] = [cycle, { back: cycle }];
    logger.info('odd values', {
      big: 12345678901234567890n,
      nested: { big: [1n] },
      cycle,
      buffer: Buffer.from(PASSWORD),
      date: new Date(0),
      missing: undefined,
      fn: () => 1,
      symbol: Symbol('s'),
      nan: Number.NaN,
    });
    expect(last()).toMatchObject({
      big: '12345678901234567890',
      nested: { big: ['1'] },
      cycle: { name: 'a', self: '[Circular]', list: ['[Circular]', { back: '[Circular]' }] },
      buffer: `[Buffer ${String(PASSWORD.length)} bytes]`,
      date: '1970-01-01T00:00:00.000Z',
      symbol: 'Symbol(s)',
      nan: null,
    });
    expect(last()).not.toHaveProperty('missing');
    expect(last()).not.toHaveProperty('fn');
  });

  it('never make a log call throw: getters, toJSON, Proxies, odd messages, a failing sink', () => {
    const { logger, raw, lines } = capture();
    const getter = {
      ok: 1,
      get broken(): never {
        throw new Error('getter');
      },
    };
    const toJSON = {
      toJSON(): never {
        throw new Error('toJSON');
      },
    };
    const trap = (): never => {
      throw new Error('trap');
    };
    const hostile = new Proxy({}, { ownKeys: trap, get: trap, getPrototypeOf: trap });
    const lying = new Proxy({ a: 1 }, { get: trap });
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const errorWithThrowingStack = new Error('stack getter');
    Object.defineProperty(errorWithThrowingStack, 'stack', { get: trap });
    const badString = {
      toString(): never {
        throw new Error('toString');
      },
    };
    expect(() => {
      logger.info('getter', { getter });
      logger.info('toJSON', { toJSON });
      logger.info('proxies', { hostile, lying, revoked });
      logger.info('fields are a proxy', hostile);
      logger.info('fields are revoked', revoked);
      logger.error('error', { error: errorWithThrowingStack });
      logger.info(badString as unknown as string, { a: 1 });
      logger.info(42 as unknown as string);
      logger.child(hostile).info('child of a proxy');
      logger.info('fields are a string', 'text' as unknown as Record<string, unknown>);
      createLogger('info', trap).error('the sink throws', { a: 1 });
    }).not.toThrow();
    const [g, t, p, fp, fr, e, bs, n, c, s] = lines();
    expect(g).toMatchObject({ getter: { ok: 1, broken: '[Unserializable]' } });
    expect(t).toMatchObject({ toJSON: '[Unserializable]' });
    expect(p).toMatchObject({
      hostile: '[Unserializable]',
      lying: { a: '[Unserializable]' },
      revoked: '[Unserializable]',
    });
    expect(fp).toMatchObject({ level: 'info', msg: 'fields are a proxy' });
    expect(fr).toMatchObject({ level: 'info', msg: 'fields are revoked' });
    expect(e).toMatchObject({ error: { message: 'stack getter', stack: '[Unserializable]' } });
    expect(bs).toMatchObject({ msg: '[Unserializable]', a: 1 });
    expect(n).toMatchObject({ msg: '42' });
    expect(c).toMatchObject({ msg: 'child of a proxy' });
    expect(s).toMatchObject({ fields: 'text' });
    expect(raw).toHaveLength(10);
  });
});

describe('bounds', () => {
  it('cut depth, arrays, keys and strings, with a marker', () => {
    const { logger, last } = capture();
    let deep: Record<string, unknown> = { bottom: true };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${String(i)}`, i]));
    logger.info('big', {
      deep,
      list: Array.from({ length: 10_000 }, (_, i) => i),
      wide,
      text: 'x'.repeat(1_000_000),
    });
    const line = last();
    let node = line['deep'];
    let levels = 0;
    while (typeof node === 'object' && node !== null) {
      node = (node as Line)['next'];
      levels++;
    }
    expect(node).toBe('[Truncated]');
    expect(levels).toBe(8);
    const list = line['list'] as unknown[];
    expect(list).toHaveLength(51);
    expect(list.at(-1)).toBe('[… 9950 more]');
    expect(Object.keys(line['wide'] as Line)).toHaveLength(101);
    expect((line['wide'] as Line)['…']).toBe('900 more keys');
    expect(line['text']).toBe(`${'x'.repeat(8192)}…`);
  });

  it('bound the work on a shared graph (no exponential walk) and the size of a line', () => {
    const { logger, raw } = capture();
    let shared: Record<string, unknown> = { leaf: 'x'.repeat(100) };
    for (let i = 0; i < 10; i++) {
      shared = Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`k${String(k)}`, shared]));
    }
    const started = performance.now();
    logger.info('graph', { shared, again: shared });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(raw[0]!.length).toBeLessThan(300_000);
    expect(raw[0]).toContain('"[Truncated]"');
  });

  it('mask a secret that straddles the cut of a long string', () => {
    const { logger, raw } = capture();
    logger.info('long', { body: `${'a'.repeat(8180)}${JWT} and ${API_KEY}` });
    expectNoSecret(raw);
  });
});

describe('redaction', () => {
  const KEYS = [
    'authorization',
    'Authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'token',
    'accessToken',
    'idToken',
    'refreshToken',
    'id_token',
    'apiKey',
    'api_key',
    'x-api-key',
    'X-API-KEY',
    'password',
    'dbPassword',
    'apiKeyPepper',
    'API_KEY_PEPPER',
    'secret',
    'clientSecret',
    'client_secret',
    'credentialKeys',
    'CREDENTIAL_KEYS',
    'privateKey',
    'preSharedKey',
    'presharedKey',
    'PRESHARED_KEY',
  ];

  it.each(KEYS)('redacts the value under %s at any depth', (key) => {
    const { logger, raw, last } = capture();
    const value = { nested: PASSWORD };
    logger.info('request', {
      [key]: PASSWORD,
      headers: { [key]: PASSWORD },
      deep: { a: [{ b: { [key]: value } }] },
      error: Object.assign(new Error('e'), { [key]: PASSWORD, config: { headers: { [key]: 1 } } }),
    });
    expectNoSecret(raw);
    expect(last()[key]).toBe('[REDACTED]');
    expect(at(last(), 'headers', key)).toBe('[REDACTED]');
    expect(at(last(), 'deep', 'a', 0, 'b', key)).toBe('[REDACTED]');
    expect(at(last(), 'error', key)).toBe('[REDACTED]');
    expect(at(last(), 'error', 'config', 'headers', key)).toBe('[REDACTED]');
  });

  it('keeps keys that only look alike (counts, limits, names)', () => {
    const { logger, last } = capture();
    logger.info('limits', { tokens: 1200, maxTokens: 5000, tokenCount: 3, keyId: 'k1', key: 'ip' });
    expect(last()).toMatchObject({ tokens: 1200, maxTokens: 5000, tokenCount: 3, keyId: 'k1' });
  });

  it('masks JWTs, ghk_ keys and other credentials in any string, message or key', () => {
    const { logger, raw, last } = capture();
    const error = new Error(`token ${JWT} rejected for key ${API_KEY}`);
    logger.child({ subject: `apikey:${API_KEY}` }).warn(`authentication rejected: Bearer ${JWT}`, {
      error,
      header: `Bearer ${OPAQUE}`,
      basic: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`,
      url: `postgres://gatehouse:${PASSWORD}@db:5432/gatehouse`,
      callback: `https://idp.example/cb?state=s1&access_token=${OPAQUE}&x=1`,
      pem: PRIVATE_KEY,
      [JWT]: 'a token as a key',
      list: [JWT, `ghk_${'z'.repeat(30)}`],
      symbol: Symbol(API_KEY),
    });
    expectNoSecret(raw);
    expect(raw.join('')).not.toContain('ghk_z');
    expect(last()).toMatchObject({
      msg: 'authentication rejected: Bearer [REDACTED]',
      subject: 'apikey:[REDACTED]',
      header: 'Bearer [REDACTED]',
      url: 'postgres://gatehouse:[REDACTED]@db:5432/gatehouse',
      callback: 'https://idp.example/cb?state=s1&access_token=[REDACTED]&x=1',
      pem: '[REDACTED]\n',
      '[REDACTED]': 'a token as a key',
      error: { message: 'token [REDACTED] rejected for key [REDACTED]' },
    });
    expect(at(last(), 'error', 'stack')).toMatch(/^Error: token \[REDACTED\] rejected/);
  });

  it('redacts Map and Headers entries, raw header lists, JWK private members and bindings', () => {
    const { logger, raw, last } = capture();
    const jwk = { kty: 'RSA', kid: 'dev-1', n: 'modulus', e: 'AQAB', d: JWK_D, p: JWK_D };
    logger
      .child({ credentials: { user: 'svc', password: PASSWORD }, cookie: COOKIE_VALUE })
      .info('request', {
        map: new Map<unknown, unknown>([
          ['authorization', PASSWORD],
          ['accept', 'application/json'],
        ]),
        headers: new Headers({ Cookie: `s=${COOKIE_VALUE}`, 'X-Api-Key': CLIENT_SECRET }),
        rawHeaders: ['Host', 'x', 'Authorization', `Token ${OPAQUE}`, 'Cookie', COOKIE_VALUE],
        jwk,
      });
    expectNoSecret(raw);
    expect(last()).toMatchObject({
      credentials: '[REDACTED]',
      cookie: '[REDACTED]',
      map: { authorization: '[REDACTED]', accept: 'application/json' },
      headers: { cookie: '[REDACTED]', 'x-api-key': '[REDACTED]' },
      rawHeaders: ['Host', 'x', 'Authorization', '[REDACTED]', 'Cookie', '[REDACTED]'],
      jwk: { kty: 'RSA', kid: 'dev-1', n: 'modulus', e: 'AQAB', d: '[REDACTED]' },
    });
  });
});

describe('every kind of error the server logs, with secrets everywhere', () => {
  function serverErrors(): [string, unknown][] {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${JWT}`);
    metadata.set('x-api-key', API_KEY);
    const grpc = callErrorFromStatus(
      {
        code: status.PERMISSION_DENIED,
        details: `token ${JWT} lacks permission; api key ${API_KEY}`,
        metadata,
      },
      `at check (token=${API_KEY})`,
    );
    const embedded = new Error(`rpc error: code = Unavailable desc = dial ${API_KEY}: refused`);
    const driver = Object.assign(new Error(`connection for ${JWT} lost`), {
      name: 'DriverAdapterError',
      cause: { kind: 'postgres', originalMessage: `password=${PASSWORD}`, password: PASSWORD },
    });
    const prisma = new Prisma.PrismaClientKnownRequestError(
      `Invalid \`prisma.apiKey.create()\`: Unique constraint failed, value ${API_KEY}`,
      {
        code: 'P2002',
        clientVersion: Prisma.prismaVersion.client,
        meta: { target: ['secret'], secret: CLIENT_SECRET, driverAdapterError: driver },
      },
    );
    const prismaInit = new Prisma.PrismaClientInitializationError(
      `Can't reach database server at postgres://gatehouse:${PASSWORD}@db:5432`,
      Prisma.prismaVersion.client,
      'P1001',
    );
    const database = Object.assign(
      new pg.DatabaseError(`permission denied for ${JWT}`, 120, 'error'),
      {
        code: '42501',
        detail: `Key (api_key)=(${API_KEY}) already exists.`,
        where: `SQL statement "SET app.token = '${JWT}'"`,
      },
    );
    const graphql = new GraphQLError(`Variable "$token" got invalid value "${JWT}"`, {
      path: ['login'],
      extensions: {
        code: ErrorCode.BAD_USER_INPUT,
        http: { headers: { 'set-cookie': `s=${COOKIE_VALUE}` } },
        apiKey: API_KEY,
      },
      originalError: Object.assign(new Error(`bad ${API_KEY}`), {
        headers: { authorization: `Bearer ${OPAQUE}` },
      }),
    });
    const authn = new AuthenticationError(`jwt malformed: ${JWT}`, `refused ${API_KEY}`);
    const authz = new AuthzUnavailableError(`SpiceDB deadline exceeded for ${API_KEY}`, {
      cause: grpc,
    });
    const config = new ConfigError(
      `AUTH_JWKS_URL: https://idp/jwks?api_key=${CLIENT_SECRET} unreachable; DATABASE_URL postgres://u:${PASSWORD}@h/db`,
    );
    const typeError = new TypeError(`Cannot read properties of undefined (reading '${JWT}')`, {
      cause: Object.assign(new Error('fetch failed'), {
        request: {
          method: 'POST',
          headers: { Authorization: `Bearer ${OPAQUE}`, Cookie: `s=${COOKIE_VALUE}` },
          body: { refreshToken: REFRESH, client_secret: CLIENT_SECRET },
        },
      }),
    });
    const aggregate = new AggregateError(
      [
        grpc,
        Object.assign(new Error(`key ${API_KEY}`), { privateKey: PRIVATE_KEY, preSharedKey: PSK }),
        { credentialKeys: CREDENTIAL_KEYS, CREDENTIAL_KEYS },
      ],
      `several failures for ${JWT}`,
    );
    const system = Object.assign(new Error(`connect ECONNREFUSED 10.0.0.1:5432 ${API_KEY}`), {
      errno: -111,
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '10.0.0.1',
      port: 5432,
    });
    return [
      ['grpc', grpc],
      ['embedded spicedb', embedded],
      ['prisma', prisma],
      ['prisma init', prismaInit],
      ['database', database],
      ['graphql', graphql],
      ['client error', badUserInput(`bad token ${JWT}`, { token: JWT })],
      ['coded', codedError(ErrorCode.RATE_LIMITED, `key ${API_KEY} over budget`)],
      ['authentication', authn],
      ['authz unavailable', authz],
      ['config', config],
      ['type error with cause', typeError],
      ['aggregate', aggregate],
      ['system', system],
      ['string', `failed with ${JWT}`],
      ['object', { message: `not an Error ${API_KEY}`, password: PASSWORD }],
    ];
  }

  it('writes valid JSON with the real level and message and no secret, and never throws', () => {
    const { logger, raw, lines } = capture();
    const request = logger.child({
      requestId: 'req-1',
      subject: `apikey:${API_KEY}`,
      authorization: `Bearer ${JWT}`,
    });
    const errors = serverErrors();
    expect(() => {
      for (const [kind, error] of errors) {
        request.error(`${kind} failed`, {
          error,
          level: 'debug',
          headers: { cookie: COOKIE_VALUE },
        });
        logger.warn(`${kind} retried`, { failure: { error }, errors: [error, error] });
      }
    }).not.toThrow();
    expect(raw).toHaveLength(errors.length * 2);
    for (const line of raw) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expectNoSecret(raw);
    expect(lines().map((l) => [l['level'], l['msg']])).toEqual(
      errors.flatMap(([kind]) => [
        ['error', `${kind} failed`],
        ['warn', `${kind} retried`],
      ]),
    );
    const byKind = new Map(errors.map(([kind], i) => [kind, lines()[2 * i]!]));
    // What the operator needs is still there.
    expect(byKind.get('grpc')).toMatchObject({
      requestId: 'req-1',
      field_level: 'debug',
      error: { code: status.PERMISSION_DENIED, details: expect.any(String) as unknown },
    });
    expect(byKind.get('prisma')).toMatchObject({
      error: {
        code: 'P2002',
        clientVersion: Prisma.prismaVersion.client,
        meta: { target: ['secret'], secret: '[REDACTED]' },
      },
    });
    expect(byKind.get('database')).toMatchObject({ error: { code: '42501' } });
    expect(byKind.get('graphql')).toMatchObject({
      error: { path: ['login'], extensions: { code: 'BAD_USER_INPUT' } },
    });
    expect(byKind.get('authentication')).toMatchObject({
      error: { name: 'AuthenticationError', reason: 'jwt malformed: [REDACTED]' },
    });
    expect(byKind.get('config')).toMatchObject({ error: { name: 'ConfigError' } });
    expect(byKind.get('system')).toMatchObject({
      error: { errno: -111, syscall: 'connect', address: '10.0.0.1', port: 5432 },
    });
  });
});

describe('on stderr', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const script = (body: string) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { createLogger } from ${JSON.stringify(path.join(root, 'src/observability/logger.ts'))};
         const logger = createLogger('info');
         ${body}`,
      ],
      { cwd: root, encoding: 'utf8', timeout: 20_000 },
    );

  it('the last line before process.exit and before a crash is written, in order', () => {
    const exited = script(`
      for (let i = 0; i < 1000; i++) logger.info('line', { i });
      logger.error('shutdown failed', { error: new Error('x') });
      process.exit(1);`);
    expect(exited.status).toBe(1);
    const lines = exited.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1001);
    expect((JSON.parse(lines.at(-1)!) as Line)['msg']).toBe('shutdown failed');

    const crashed = script(`
      logger.error('about to crash', { token: 'never-shown' });
      throw new Error('crash');`);
    expect(crashed.status).not.toBe(0);
    const logged = crashed.stderr.indexOf('"msg":"about to crash"');
    expect(logged).toBeGreaterThanOrEqual(0);
    expect(logged).toBeLessThan(crashed.stderr.indexOf('Error: crash'));
    expect(crashed.stderr).not.toContain('never-shown');

    // Killed with no handler: no exit event, no flush; every line was written already.
    const killed = script(`
      for (let i = 0; i < 100; i++) logger.info('line', { i });
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => undefined, 5_000);`);
    expect(killed.signal).toBe('SIGTERM');
    expect(killed.stderr.trimEnd().split('\n')).toHaveLength(100);
  });
});
