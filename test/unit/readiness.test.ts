import { describe, expect, it } from 'vitest';
import { readinessProbe } from '../../src/server/readiness.js';
import { recordingLogger } from '../support/recordingLogger.js';

describe('readinessProbe', () => {
  it('names each failing check, times out a hung one, and logs each change once', async () => {
    let database: 'up' | 'down' | 'hung' = 'up';
    const { logger, lines } = recordingLogger();
    const ready = readinessProbe(
      [
        {
          name: 'database',
          probe: () =>
            database === 'up'
              ? Promise.resolve()
              : database === 'down'
                ? Promise.reject(new Error('connection refused'))
                : new Promise(() => undefined),
        },
        { name: 'policies', probe: () => Promise.resolve(true) },
      ],
      { timeoutMs: 50, logger },
    );
    expect(await ready()).toEqual({ ready: true, checks: { database: 'ok', policies: 'ok' } });
    database = 'down';
    expect(await ready()).toEqual({ ready: false, checks: { database: 'failed', policies: 'ok' } });
    expect(await ready()).toEqual({ ready: false, checks: { database: 'failed', policies: 'ok' } });
    database = 'hung';
    expect(await ready()).toEqual({
      ready: false,
      checks: { database: 'timeout', policies: 'ok' },
    });
    database = 'up';
    expect(await ready()).toEqual({ ready: true, checks: { database: 'ok', policies: 'ok' } });
    // Failing once (not once per probe), recovered once.
    expect(lines.map((l) => [l.level, l.message, l.fields['check']])).toEqual([
      ['warn', 'readiness check failing', 'database'],
      ['info', 'readiness check recovered', 'database'],
    ]);
  });

  it('counts a probe that answers false as failed', async () => {
    const { logger } = recordingLogger();
    const ready = readinessProbe([{ name: 'policies', probe: () => Promise.resolve(false) }], {
      timeoutMs: 50,
      logger,
    });
    expect(await ready()).toEqual({ ready: false, checks: { policies: 'failed' } });
  });
});
