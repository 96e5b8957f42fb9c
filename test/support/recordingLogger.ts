/** A Logger that keeps every line it is given, for tests that assert what was logged. */
import type { Logger } from '../../src/observability/logger.js';

export interface LoggedLine {
  readonly level: string;
  readonly message: string;
  /** The call's fields, after the bindings of the child loggers it was made through. */
  readonly fields: Record<string, unknown>;
}

export function recordingLogger(): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (message: string, fields: Record<string, unknown> = {}) =>
        lines.push({ level, message, fields: { ...bindings, ...fields } });
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}
