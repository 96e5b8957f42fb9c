/** The client error of a denial (src/authz/AuthzError.ts). */
import { buildSchema, execute, parse } from 'graphql';
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

  it('is located where graphql-js would locate it, so graphql-js answers with it as it is', async () => {
    const schema = buildSchema('type Row { secret: Int } type Query { rows: [Row!]! }');
    const made: Error[] = [];
    const result = await execute({
      schema,
      document: parse('{ rows {\n secret } }'),
      rootValue: { rows: [{}, {}] },
      fieldResolver: (_source, _args, _ctx, info) => {
        if (info.fieldName === 'rows') return [{}, {}];
        const error = denialError(deny('relationship', []), {
          explain: false,
          coordinate: 'Row.secret',
          at: info,
        });
        made.push(error);
        return error;
      },
    });
    // The very errors made (no second error wrapping each), at each row's field.
    expect(result.errors).toHaveLength(2);
    expect(result.errors![0]).toBe(made[0]);
    expect(result.errors!.map((e) => e.path)).toEqual([
      ['rows', 0, 'secret'],
      ['rows', 1, 'secret'],
    ]);
    expect(result.errors![0]!.locations).toEqual([{ line: 2, column: 2 }]);
    expect(result.errors![1]!.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });
});
