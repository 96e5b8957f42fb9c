/**
 * What a log line may hold: every value of a call — its fields, a child's bindings, the
 * message — made plain JSON data here before pino sees it (logger.ts).
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
 */
const REDACTED = '[REDACTED]';
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

// ---------------------------------------------------------------------------------------
// Redaction

/** Key names, lower-cased without separators, whose values are secrets (suffix match). */
const SECRET_KEY =
  /(?:authorization|cookie|token|secret|password|passwd|passphrase|apikey|privatekey|secretkey|signingkey|presharedkey|credential|credentials|credentialkeys|jwt|bearer|pepper)$/;
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

export type Out = Record<string, unknown>;

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
export function cleanFields(fields: unknown, taken: ReadonlySet<string>): Out {
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

export function cleanMessage(msg: unknown): string {
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
