/** The client error of a denial (src/authz/AuthzError.ts). */
import { describe, expect, it } from 'vitest';
import { deny, denialError, unavailable } from '../../src/authz/AuthzError.js';

describe('denialError', () => {
  it('carries the stable code, gate, coordinate and a decision id — and no stack frames', () => {
    const limit = Error.stackTraceLimit;
    const error = denialError(
      { ...deny('relationship', ['no view on workflow:x']), argument: 'id' },
      { explain: false, coordinate: 'Query.workflow' },
    );
    expect(error.message).toBe('Not allowed');
    expect(error.extensions).toMatchObject({
      code: 'FORBIDDEN',
      gate: 'relationship',
      coordinate: 'Query.workflow',
      argument: 'id',
    });
    expect(error.extensions['decisionId']).toMatch(/^[0-9a-f-]{36}$/);
    // The reasons are for the log, not the client (outside development).
    expect(JSON.stringify(error)).not.toContain('workflow:x');
    // A denial is an outcome: nothing of the server's code path, cheap to make per row.
    expect(error.stack ?? '').not.toMatch(/\n\s+at /);
    // …and the process's own stack traces are as they were.
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('fault').stack).toMatch(/\n\s+at /);
  });

  it('says when authorization is unavailable, with the reasons only when explaining', () => {
    const error = denialError(unavailable('policy', ['engine down']), { explain: true });
    expect(error.message).toBe('Authorization is temporarily unavailable');
    expect(error.extensions).toMatchObject({
      code: 'AUTHZ_UNAVAILABLE',
      gate: 'policy',
      explain: ['engine down'],
    });
  });
});
