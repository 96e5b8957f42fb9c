/**
 * Structured logs: one JSON object per line on stderr, written by pino.
 *
 *   {"level":"info","time":"2025-01-01T00:00:00.000Z", <bindings>, <fields>, "msg":"…"}
 *
 * `level` is the label, `time` ISO 8601, `msg` the message. No `pid` or `hostname`: the
 * process supervisor or log shipper (systemd, Kubernetes, Docker) stamps every line with the
 * host, container and process it came from, and a line should say what only the process knows.
 *
 * Every value — call fields, child bindings and the message — goes through {@link clean}
 * before pino sees it, so a log call can never throw, leak a secret, or write a line that
 * lies about its level:
 *
 * - Collisions. pino writes its own `level`, `time` and `msg`, then the bindings and the
 *   caller's keys as they are, so `{ level: 'fatal' }` would give a line with two `level`
 *   keys (and JSON.parse keeps the last one: the caller's). Here a top-level key that is
 *   reserved — `level`, `time`, `msg`, `pid`, `hostname`; `serializers`, `formatters` and
 *   `customLevels`, which pino drops from bindings; `hasOwnProperty`, which it calls on
 *   them — or already bound by a parent `child()` is written `field_<key>` (and again if
 *   that is taken too). The first writer of a key keeps it: the logger itself, then each
 *   child's bindings in turn, then the call's fields. A line has one of each key.
 * - Errors, at any depth: `name`, `message`, `stack` and every own enumerable property
 *   (`code`, gRPC `details`, Prisma `meta` and `clientVersion`, Node's `errno`, `syscall`,
 *   `address`, `port`, GraphQL `path` and `extensions`, …), plus `cause`, `errors`
 *   (AggregateError) and `originalError` (GraphQLError), which are not enumerable. A gRPC
 *   ServiceError's `metadata` (the response headers and trailers) is left out.
 * - Redaction. A value under a secret-looking key (`authorization`, `cookie`, `…token`,
 *   `…secret`, `password`, `apiKey`/`api_key`/`x-api-key`, `privateKey`, `preSharedKey`,
 *   `credentialKeys`, …: case, `-` and `_` ignored; any depth, error properties too) is
 *   written `"[REDACTED]"`, as are the private members of a JWK and the value after a
 *   secret header name in a raw header list. In every string (messages and stacks
 *   included) JWTs, `ghk_` API keys, PEM private keys, `Bearer`/`Basic` credentials, URL
 *   passwords and token-like `name=value` pairs (query strings, connection strings) are
 *   masked.
 * - Bounds: 8 levels deep, 50 array items, 100 keys per object, 8 KB per string (cut with
 *   "…"), 5,000 values and 256 KB of text per call. Circular references are written
 *   "[Circular]", BigInts as strings, and a value that throws when read (a getter, a
 *   toJSON, a Proxy trap) "[Unserializable]".
 *
 * Writes are synchronous (one write(2) per line, as process.stderr's are on Linux for files
 * and pipes), so a line is on stderr when the call returns: before `process.exit`, before
 * Node prints a crash, and even when the process is then killed (SIGKILL, SIGTERM with no
 * handler, an out-of-memory abort). pino's asynchronous destination flushes its buffer on
 * the `exit` event (process.exit, an uncaught exception) but not on a kill or an abort:
 * three lines then SIGTERM kept only the first. A synchronous write to /dev/null costs
 * about 1 µs a line; the asynchronous destination was no faster.
 */
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `bindings` (e.g. requestId, traceId, tenantId, subject). */
  child(bindings: Record<string, unknown>): Logger;
}

export const REDACTED = '[REDACTED]';
const CIRCULAR = '[Circular]';
const TRUNCATED = '[Truncated]';
const UNSERIALIZABLE = '[Unserializable]';

const MAX_DEPTH = 8;
const MAX_ITEMS = 50;
const MAX_KEYS = 100;
const MAX_KEY_LENGTH = 256;
const MAX_STRING = 8 * 1024;
const MAX_VALUES = 5_000;
const MAX_CHARS = 256 * 1024;
/** Masked on a prefix this much longer than the cut, so a secret across the cut is masked. */
const MASK_MARGIN = 2 * 1024;

const RESERVED: ReadonlySet<string> = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'serializers',
  'formatters',
  'customLevels',
  'hasOwnProperty',
]);
const RENAMED_PREFIX = 'field_';

/** pino's numbers for our levels (`silent` is above every level). */
const RANK = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity } as const;

// ---------------------------------------------------------------------------------------
// Redaction

/** Key names, lower-cased without separators, whose values are secrets (suffix match). */
const SECRET_KEY =
  /(?:authorization|cookie|token|secret|password|passwd|passphrase|apikey|privatekey|secretkey|signingkey|presharedkey|credential|credentials|credentialkeys|jwt|bearer)$/;
/** A JWK's private members (RFC 7518 §6.2.2, §6.3.2, §6.4.1), redacted when `kty` is there. */
const JWK_PRIVATE: ReadonlySet<string> = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']);
/** Header names whose next item is their value in a raw header list (`req.rawHeaders`). */
const SECRET_HEADER: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
]);
/**
 * Secrets recognised in text. Whole match masked: a JWT (three base64url segments, the
 * first `{"…` encoded), a `ghk_` API key, a PEM private key. Prefix kept (groups 1-4): a
 * Bearer or Basic credential, the password in `scheme://user:password@host`, a token-like
 * `name=value` (query parameter, `password=` in a libpq connection string).
 */
const SECRET_TEXT = new RegExp(
  [
    String.raw`eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*`,
    String.raw`ghk_[\w-]+`,
    String.raw`-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|$)`,
    String.raw`(\bbearer\s+)[\w.~+/-]{20,}=*`,
    String.raw`(\bbasic\s+)[A-Za-z0-9+/]{16,}=*`,
    String.raw`(\/\/[^\s/?#@:]*:)[^\s/?#@]+(?=@)`,
    // Anchored on the word, not on the start of the name: `\b[\w.-]*token=` would rescan
    // every word of every string (a stack trace cost 3× as much).
    String.raw`((?:token|secret|password|passwd|api[_-]?key|signature)=)[^&#\s"',;]+`,
  ].join('|'),
  'gi',
);

function maskText(text: string): string {
  return text.length < 5
    ? text
    : text.replace(
        SECRET_TEXT,
        (_match: string, bearer?: string, basic?: string, url?: string, param?: string) =>
          (bearer ?? basic ?? url ?? param ?? '') + REDACTED,
      );
}

interface KeyInfo {
  /** The key as written: masked, and cut if very long. */
  readonly name: string;
  readonly secret: boolean;
}

const keyCache = new Map<string, KeyInfo>();

function keyInfo(key: string): KeyInfo {
  let info = keyCache.get(key);
  if (info === undefined) {
    const name = maskText(key.length > MAX_KEY_LENGTH ? key.slice(0, MAX_KEY_LENGTH) : key);
    info = {
      name: key.length > MAX_KEY_LENGTH ? `${name}…` : name,
      secret: SECRET_KEY.test(key.toLowerCase().replace(/[^a-z0-9]/g, '')),
    };
    if (key.length <= 128) {
      if (keyCache.size >= 4096) keyCache.clear();
      keyCache.set(key, info);
    }
  }
  return info;
}

// ---------------------------------------------------------------------------------------
// Cleaning: any value to plain JSON data, bounded, masked, never throwing

interface Walk {
  values: number;
  chars: number;
  /** The objects from the top to the current one, for cycles. */
  readonly path: object[];
}

type Out = Record<string, unknown>;

function newOut(): Out {
  // No prototype: a key named `__proto__` is an ordinary key.
  return Object.create(null) as Out;
}

function read(object: object, key: string | number): unknown {
  try {
    return (object as Record<string | number, unknown>)[key];
  } catch {
    return UNSERIALIZABLE;
  }
}

/** `Error.isError` (Node 24, not yet in TypeScript's lib): an Error from any realm. */
const isNativeError = (Error as unknown as { isError: (value: unknown) => boolean }).isError;

function isError(value: object): value is Error {
  return isNativeError(value) || value instanceof Error;
}

function cleanString(text: string, walk: Walk): string {
  const limit = Math.min(MAX_STRING, Math.max(walk.chars, 0));
  const cut = text.length > limit + MASK_MARGIN;
  let out = maskText(cut ? text.slice(0, limit + MASK_MARGIN) : text);
  if (cut || out.length > limit) out = `${out.slice(0, limit)}…`;
  walk.chars -= out.length;
  return out;
}

function clean(value: unknown, depth: number, walk: Walk): unknown {
  if (++walk.values > MAX_VALUES) return TRUNCATED;
  switch (typeof value) {
    case 'string':
      return cleanString(value, walk);
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return value.toString();
    case 'symbol':
      return cleanString(value.toString(), walk);
    case 'function':
      return undefined;
    case 'object':
      break;
  }
  if (value === null) return null;
  if (depth > MAX_DEPTH) return TRUNCATED;
  if (walk.path.includes(value)) return CIRCULAR;
  walk.path.push(value);
  try {
    return cleanObject(value, depth, walk);
  } catch {
    return UNSERIALIZABLE;
  } finally {
    walk.path.pop();
  }
}

function cleanObject(value: object, depth: number, walk: Walk): unknown {
  if (isError(value)) return cleanError(value, depth, walk);
  if (Array.isArray(value)) return cleanList(value, value.length, depth, walk);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `[${value.constructor.name} ${String(value.byteLength)} bytes]`;
  }
  if (value instanceof Map) return cleanEntries(value.entries(), depth, walk);
  if (value instanceof Headers) return cleanEntries(value.entries(), depth, walk);
  if (value instanceof Set) return cleanList(take(value.values()), value.size, depth, walk);
  const toJSON = read(value, 'toJSON');
  if (typeof toJSON === 'function') {
    const json: unknown = toJSON.call(value);
    if (json !== value) return clean(json, depth, walk);
  }
  return cleanRecord(value, depth, walk, undefined);
}

function take(values: Iterator<unknown>): unknown[] {
  const items: unknown[] = [];
  for (let next = values.next(); !next.done && items.length < MAX_ITEMS; next = values.next()) {
    items.push(next.value);
  }
  return items;
}

function cleanList(items: ArrayLike<unknown>, total: number, depth: number, walk: Walk): unknown[] {
  const n = Math.min(items.length, MAX_ITEMS);
  const out: unknown[] = [];
  let afterSecretHeader = false;
  for (let i = 0; i < n; i++) {
    const item = read(items, i);
    out.push(
      afterSecretHeader && typeof item === 'string' ? REDACTED : clean(item, depth + 1, walk),
    );
    afterSecretHeader = typeof item === 'string' && SECRET_HEADER.has(item.toLowerCase());
  }
  if (total > n) out.push(`[… ${String(total - n)} more]`);
  return out;
}

/**
 * A record's own enumerable properties. At the top (`taken` given), a reserved or taken key
 * is renamed `field_<key>`.
 */
function cleanRecord(
  value: object,
  depth: number,
  walk: Walk,
  taken: ReadonlySet<string> | undefined,
): Out {
  const out = newOut();
  const keys = Object.keys(value);
  const jwk = keys.includes('kty');
  let n = 0;
  for (const key of keys) {
    if (n++ === MAX_KEYS) {
      out['…'] = `${String(keys.length - MAX_KEYS)} more keys`;
      break;
    }
    const item = read(value, key);
    if (item === undefined) continue;
    const info = keyInfo(key);
    let name = info.name;
    if (taken !== undefined) {
      while (RESERVED.has(name) || taken.has(name) || name in out) name = RENAMED_PREFIX + name;
    }
    out[name] =
      info.secret || (jwk && JWK_PRIVATE.has(key)) ? REDACTED : clean(item, depth + 1, walk);
  }
  return out;
}

function cleanEntries(entries: Iterator<[unknown, unknown]>, depth: number, walk: Walk): Out {
  const out = newOut();
  let n = 0;
  for (let next = entries.next(); !next.done; next = entries.next()) {
    if (n++ === MAX_KEYS) {
      out['…'] = 'more entries';
      break;
    }
    const [key, item] = next.value;
    const info = keyInfo(typeof key === 'string' ? key : String(key));
    out[info.name] = info.secret ? REDACTED : clean(item, depth + 1, walk);
  }
  return out;
}

/** Set by the language or by libraries, but not enumerable. */
const ERROR_EXTRAS = ['cause', 'errors', 'originalError', 'code'] as const;

function cleanError(error: Error, depth: number, walk: Walk): Out {
  const out = newOut();
  for (const key of ['name', 'message', 'stack']) {
    const item = read(error, key);
    if (item !== undefined) out[key] = clean(item, depth + 1, walk);
  }
  let keys: string[] = [];
  try {
    keys = Object.keys(error);
  } catch {
    // A Proxy that refuses: name, message and stack are all there is.
  }
  let n = 0;
  for (const key of keys) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    if (n++ === MAX_KEYS) break;
    const item = read(error, key);
    if (item === undefined || (key === 'metadata' && isGrpcMetadata(item))) continue;
    const info = keyInfo(key);
    out[info.name] = info.secret ? REDACTED : clean(item, depth + 1, walk);
  }
  for (const key of ERROR_EXTRAS) {
    if (key in out) continue;
    const item = read(error, key);
    if (item === undefined) continue;
    if (key === 'code' && typeof item !== 'string' && typeof item !== 'number') continue;
    if (key === 'errors' && !Array.isArray(item)) continue;
    out[key] = clean(item, depth + 1, walk);
  }
  return out;
}

/** grpc-js Metadata (headers and trailers of a call), by shape: no import of grpc-js here. */
function isGrpcMetadata(value: unknown): boolean {
  try {
    return (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { getMap?: unknown }).getMap === 'function'
    );
  } catch {
    return true;
  }
}

/** The fields of one call or the bindings of one child: a record of plain JSON data. */
function cleanFields(fields: unknown, taken: ReadonlySet<string>): Out {
  const walk: Walk = { values: 0, chars: MAX_CHARS, path: [] };
  try {
    if (typeof fields === 'object' && fields !== null && !Array.isArray(fields)) {
      if (isError(fields)) return cleanRecord({ error: fields }, 0, walk, taken);
      walk.path.push(fields);
      return cleanRecord(fields, 0, walk, taken);
    }
  } catch {
    return cleanRecord({ fields: UNSERIALIZABLE }, 0, walk, taken);
  }
  return cleanRecord({ fields }, 0, walk, taken);
}

function cleanMessage(msg: unknown): string {
  try {
    return cleanString(typeof msg === 'string' ? msg : String(msg), {
      values: 0,
      chars: MAX_STRING,
      path: [],
    });
  } catch {
    return UNSERIALIZABLE;
  }
}

// ---------------------------------------------------------------------------------------
// pino

/** The cleaned fields ride under a symbol: pino's own checks see no `method`, `err`, etc. */
const FIELDS = Symbol('fields');

type Method = 'debug' | 'info' | 'warn' | 'error';

let stderr: pino.DestinationStream | undefined;

/** One synchronous writer on fd 2 for every logger (see the header). */
function stderrDestination(): pino.DestinationStream {
  if (stderr === undefined) {
    const destination = pino.destination({ fd: 2, sync: true });
    // stderr closed or broken: the line is lost, the process carries on.
    destination.on('error', () => undefined);
    stderr = destination;
  }
  return stderr;
}

const noop = (): void => undefined;

const SILENT: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => SILENT,
});

function wrap(base: pino.Logger, min: number, taken: ReadonlySet<string>): Logger {
  const at = (method: Method) => {
    if (RANK[method] < min) return noop;
    return (msg: string, fields?: Record<string, unknown>): void => {
      try {
        const text = cleanMessage(msg);
        if (fields === undefined) base[method](text);
        else base[method]({ [FIELDS]: cleanFields(fields, taken) }, text);
      } catch {
        // The destination threw: a log call never does.
      }
    };
  };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => {
      try {
        const cleaned = cleanFields(bindings, taken);
        const keys = Object.keys(cleaned);
        if (keys.length === 0) return logger;
        // pino reads bindings with their own `hasOwnProperty`: an ordinary object here.
        const bound = Object.fromEntries(Object.entries(cleaned));
        return wrap(base.child(bound), min, new Set([...taken, ...keys]));
      } catch {
        return logger;
      }
    },
  };
  return logger;
}

/**
 * A logger that writes lines at `level` and above, to `write` if given (synchronously, one
 * call per line with its trailing newline; tests capture lines this way), else to stderr.
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  const min = RANK[level] as number | undefined;
  if (min === Infinity) return SILENT;
  const destination: pino.DestinationStream = write ? { write } : stderrDestination();
  const base = pino(
    {
      level: min === undefined ? 'info' : level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => (object as { [FIELDS]?: Out })[FIELDS] ?? object,
      },
      // The fields are plain data already: pino's `err` serializer would reshape them.
      serializers: { err: (value: unknown) => value },
    },
    destination,
  );
  return wrap(base, min ?? RANK.info, new Set());
}

/**
 * `parent.child(bindings)`, made on the first line written: per-operation loggers cost
 * nothing for the many operations that never log.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const get = (): Logger => (child ??= parent.child(bindings));
  return {
    debug: (msg, fields) => get().debug(msg, fields),
    info: (msg, fields) => get().info(msg, fields),
    warn: (msg, fields) => get().warn(msg, fields),
    error: (msg, fields) => get().error(msg, fields),
    child: (more) => get().child(more),
  };
}
