/**
 * Structured logs: one JSON object per line on stderr, written by pino.
 *
 *   {"level":"info","time":"2025-01-01T00:00:00.000Z", <bindings>, <fields>, "msg":"…"}
 *
 * `level` is the label, `time` ISO 8601, `msg` the message. No `pid` or `hostname`: the
 * process supervisor or log shipper (systemd, Kubernetes, Docker) stamps every line with the
 * host, container and process it came from, and a line should say what only the process knows.
 *
 * Every value — call fields, child bindings and the message — is cleaned first
 * (logValues.ts: collisions, errors, redaction, bounds), so a log call can never throw,
 * leak a secret, or write a line that lies about its level.
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
import { cleanFields, cleanMessage, type Out } from './logValues.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `bindings` (e.g. requestId, traceId, tenantId, subject). */
  child(bindings: Record<string, unknown>): Logger;
}

/** pino's numbers for our levels (`silent` is above every level). */
const RANK = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity } as const;

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
