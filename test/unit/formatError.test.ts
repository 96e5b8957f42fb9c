import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { badUserInput, notFound, unauthenticated } from '../../src/errors/clientErrors.js';
import { createFormatError, fromDatabaseError } from '../../src/errors/formatError.js';
import type { Logger } from '../../src/observability/logger.js';
import { withRequestLogger } from '../../src/observability/requestLogger.js';
import { recordingLogger as sharedRecordingLogger } from '../support/recordingLogger.js';

interface LogEntry {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown> | undefined;
}

function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const log =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      entries.push({ level, msg, fields });
    };
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return { logger, entries };
}

/** What graphql-js does with an error thrown by a resolver: wraps it, with path and location. */
function fromResolver(original: Error): GraphQLError {
  return new GraphQLError(original.message, { path: ['workflows'], originalError: original });
}

function format(error: GraphQLError, development = false) {
  const { logger, entries } = recordingLogger();
  const formatted = createFormatError({ development, hideSuggestions: false, logger })(
    { ...error.toJSON(), locations: [{ line: 1, column: 3 }] },
    error,
  );
  return { formatted, entries };
}

function prismaKnownError(code: string): Error {
  return Object.assign(
    new Error(
      `Invalid \`prisma.workflow.create()\` invocation: Unique constraint failed on the fields: (\`name\`)\nselect * from workflows`,
    ),
    { name: 'PrismaClientKnownRequestError', code, meta: { target: ['name'] } },
  );
}

const LEAKS = /prisma|select|secret|stack|at .*\.ts/i;

function expectNoLeak(formatted: GraphQLFormattedError): void {
  expect(formatted.extensions?.['stacktrace']).toBeUndefined();
  expect(JSON.stringify(formatted)).not.toMatch(LEAKS);
}

describe('createFormatError', () => {
  it('maps a Prisma unique violation (P2002) to CONFLICT without Prisma or SQL text', () => {
    const { formatted, entries } = format(fromResolver(prismaKnownError('P2002')));
    expect(formatted).toEqual({
      message: 'An object with this value already exists',
      locations: [{ line: 1, column: 3 }],
      path: ['workflows'],
      extensions: { code: 'CONFLICT' },
    });
    expectNoLeak(formatted);
    expect(entries).toEqual([]);
  });

  it.each(['P2003', 'P2025'])('maps Prisma %s to NOT_FOUND', (code) => {
    const { formatted } = format(fromResolver(prismaKnownError(code)));
    expect(formatted.extensions).toEqual({ code: 'NOT_FOUND' });
    expect(formatted.message).toBe('Referenced object not found');
    expectNoLeak(formatted);
  });

  it('treats other Prisma errors as internal errors', () => {
    const { formatted, entries } = format(fromResolver(prismaKnownError('P2010')));
    expect(formatted.message).toBe('Internal server error');
    expect(formatted.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expectNoLeak(formatted);
    expect(entries.map((e) => e.level)).toEqual(['error']);
  });

  it('hides an unexpected error outside development and logs the original', () => {
    const original = new Error('select * from secret');
    const { formatted, entries } = format(fromResolver(original));
    expect(formatted).toEqual({
      message: 'Internal server error',
      locations: [{ line: 1, column: 3 }],
      path: ['workflows'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expectNoLeak(formatted);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.level).toBe('error');
    expect(entries[0]?.fields?.['error']).toBe(original);
    expect(entries[0]?.fields?.['path']).toEqual(['workflows']);
  });

  it('drops whatever extensions an unexpected error carried (e.g. a stacktrace)', () => {
    const error = fromResolver(new Error('select * from secret'));
    const { logger } = recordingLogger();
    const formatted = createFormatError({ development: false, hideSuggestions: false, logger })(
      { ...error.toJSON(), extensions: { stacktrace: ['Error: select', '  at x.ts:1'] } },
      error,
    );
    expect(formatted.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expectNoLeak(formatted);
  });

  it('treats a GraphQLError with an unknown code as internal', () => {
    const error = new GraphQLError('select secret', { extensions: { code: 'SOMETHING_ELSE' } });
    const { formatted } = format(error);
    expect(formatted.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(formatted.message).toBe('Internal server error');
  });

  it('shows the message and stack of an unexpected error in development only', () => {
    const { formatted } = format(fromResolver(new Error('select * from secret')), true);
    expect(formatted.message).toBe('select * from secret');
    expect(formatted.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    const stack = formatted.extensions?.['stacktrace'];
    expect(Array.isArray(stack)).toBe(true);
    expect((stack as string[])[0]).toBe('Error: select * from secret');
  });

  it('passes client errors through unchanged', () => {
    for (const error of [
      badUserInput('name must be 1 to 200 characters', { field: 'name' }),
      notFound('Workflow'),
    ]) {
      const { formatted, entries } = format(error);
      expect(formatted.message).toBe(error.message);
      expect(formatted.extensions).toEqual(error.extensions);
      expect(entries).toEqual([]);
    }
  });

  it('removes extensions.http, which only steers the HTTP status', () => {
    const { formatted } = format(unauthenticated());
    expect(formatted.extensions).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'CREDENTIALS_REQUIRED',
    });
  });

  it('never throws, even when logging fails', () => {
    const throwing = (): never => {
      throw new Error('logger down');
    };
    const formatError = createFormatError({
      development: false,
      hideSuggestions: false,
      logger: { debug: throwing, info: throwing, warn: throwing, error: throwing, child: throwing },
    });
    const error = fromResolver(new Error('select * from secret'));
    expect(formatError(error.toJSON(), error)).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });
});

describe('fromDatabaseError', () => {
  it('recognises Prisma known errors by name and code only', () => {
    expect(
      fromDatabaseError({ name: 'PrismaClientKnownRequestError', code: 'P2002' })?.extensions,
    ).toEqual({ code: 'CONFLICT' });
    expect(fromDatabaseError({ name: 'Error', code: 'P2002' })).toBeUndefined();
    expect(
      fromDatabaseError({ name: 'PrismaClientKnownRequestError', code: 2002 }),
    ).toBeUndefined();
    expect(fromDatabaseError(null)).toBeUndefined();
    expect(fromDatabaseError('P2002')).toBeUndefined();
  });
});

describe('the log line of an unexpected error', () => {
  it('is written by the logger of the operation being served, with its bindings', async () => {
    const server = recordingLogger();
    const { logger: requestLog, lines } = sharedRecordingLogger();
    const formatError = createFormatError({
      development: false,
      hideSuggestions: true,
      logger: server.logger,
    });
    const error = fromResolver(new TypeError('boom'));
    const operation = requestLog.child({ requestId: 'r-1', traceId: 't-1' });
    await withRequestLogger(operation, async () => {
      await Promise.resolve();
      formatError(error.toJSON(), error);
    });
    expect(server.entries).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      message: 'unexpected error',
      fields: { requestId: 'r-1', traceId: 't-1', path: ['workflows'] },
    });
  });
});
