/** What an operation costs before it runs, and how deeply its text nests (limits/). */
import {
  buildSchema,
  getIntrospectionQuery,
  Kind,
  Lexer,
  parse,
  Source,
  TokenKind,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildBaseSchema } from '../../src/graphql/buildSchema.js';
import { checkQueryLimits, tokenLimitError } from '../../src/operation/limits/QueryLimits.js';
import { measureOperation } from '../../src/operation/limits/measureOperation.js';
import { scanSource } from '../../src/operation/limits/scanSource.js';

const schema = buildBaseSchema();
const options = {
  listSize: 10,
  maxPage: 100,
  defaultPage: 20,
  stopAt: { depth: 1000, cost: 1e12 },
};
/** The defaults (config.ts) and the schema's largest page. */
const LIMITS = { ...loadConfig({}).queryLimits, maxPage: 100, defaultPage: 20 };

function measure(query: string, variables: Record<string, unknown> = {}) {
  const document = parse(query);
  const operation = document.definitions.find(
    (d) => d.kind === Kind.OPERATION_DEFINITION,
  ) as OperationDefinitionNode;
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
    ),
  );
  return measureOperation(schema, operation, fragments, variables, options);
}

describe('measureOperation', () => {
  it('costs the list-100 query by its page: 1 + 100 × (edges 1 + node 15) = 1,601', () => {
    expect(
      measure('{ workflows(first: 100) { edges { node { id name amount shares { role } } } } }'),
    ).toEqual({
      depth: 5,
      aliases: 0,
      directives: 0,
      cost: 1 + 100 * (1 + (1 + 3 + (1 + 10 * 1))),
    });
  });

  it('reads the page size from a variable, the default, or assumes the largest page', () => {
    const q = 'query($n: Int) { workflows(first: $n) { totalCount } }';
    expect(measure(q, { n: 7 }).cost).toBe(1 + 7);
    // A variable not given or null is an argument not given: the default page.
    expect(measure(q).cost).toBe(1 + 20);
    expect(measure(q, { n: null }).cost).toBe(1 + 20);
    expect(measure(q, { n: 'many' }).cost).toBe(1 + 100);
    expect(measure('{ workflows { totalCount } }').cost).toBe(1 + 20);
    expect(measure('{ workflows(last: 5) { totalCount } }').cost).toBe(1 + 5);
    expect(measure('{ workflows(last: 500) { totalCount } }').cost).toBe(1 + 100);
  });

  it('multiplies nested unpaged lists: teams × members × teams', () => {
    const m = measure('{ me { user { teams { team { members { user { teams { role } } } } } } } }');
    expect(m.depth).toBe(8);
    expect(m.cost).toBe(1 + (1 + (1 + 10 * (1 + (1 + 10 * (1 + (1 + 10 * 1)))))));
  });

  it('counts aliases and directives through fragments; introspection costs nothing', () => {
    const m = measure(`query { a: health b: health ...F @include(if: true) __typename }
      fragment F on Query { c: health @skip(if: false) }`);
    expect(m).toMatchObject({ aliases: 3, directives: 2, depth: 1, cost: 3 });
    const introspection = measure(getIntrospectionQuery());
    expect(introspection).toMatchObject({ depth: 0, cost: 0 });
  });

  it('checks every limit at once, naming each', () => {
    const small = buildSchema('type Query { a: Int }');
    const { errors } = checkQueryLimits(
      small,
      parse(`{ ${'x: a '.repeat(20)} }`),
      null,
      {},
      LIMITS,
    );
    expect(errors.map((e) => e.extensions)).toEqual([
      { code: 'QUERY_TOO_MANY_ALIASES', limit: 15, found: 20, http: { status: 400 } },
    ]);
    expect(checkQueryLimits(small, parse('{ a }'), null, {}, LIMITS)).toEqual({
      cost: 1,
      errors: [],
    });
  });

  it('recognises graphql-js’s token and comment limits, and nothing else', () => {
    expect(
      tokenLimitError('Syntax Error: Document contains more that 5000 tokens. Parsing aborted.')
        ?.extensions,
    ).toMatchObject({ code: 'QUERY_TOO_MANY_TOKENS', limit: 5000 });
    expect(
      tokenLimitError('Syntax Error: Document contains more than 5000 comments. Parsing aborted.')
        ?.message,
    ).toBe('The document has more than 5000 comments, the limit (QUERY_MAX_TOKENS)');
    expect(tokenLimitError('Syntax Error: Expected Name, found <EOF>.')).toBeUndefined();
  });
});

describe('scanSource', () => {
  const wide = { maxNesting: 100, maxTokens: 100_000, maxComments: 100_000 };

  it.each([
    ['{ a }', 1],
    ['{ a { b(x: [1, { y: 2 }]) { c } } }', 5],
    ['{ a(s: "{{{{{{") }', 2],
    ['{ a(s: """ {{{{ \\""" {{{{ """) }', 2],
    ['{ a # {{{{{{\n }', 1],
    ['{ a(s: "\\"{{{{") }', 2],
  ])('%s nests %i deep: refused above that, not at it', (text, depth) => {
    expect(scanSource(text, { ...wide, maxNesting: depth })).toEqual({ kind: 'within' });
    expect(scanSource(text, { ...wide, maxNesting: depth - 1 })).toEqual({ kind: 'tooDeep' });
  });

  /** Tokens as graphql-js's lexer counts them. */
  function lexed(text: string): number {
    const lexer = new Lexer(new Source(text));
    let n = 0;
    while (lexer.advance().kind !== TokenKind.EOF) n++;
    return n;
  }

  it.each([
    ['the introspection query', getIntrospectionQuery({ descriptions: true })],
    [
      'numbers, strings, spreads',
      'query($a: [Int!] = [1, -2, 3.5e-3]) { x(s: "a\\"b", t: """c"""): y ...F } fragment F on Q { z }',
    ],
    ['names with digits and underscores', '{ _a1 b_2 { c3 } }'],
  ])('never counts more tokens than the parser: %s', (_name, text) => {
    expect(scanSource(text, { ...wide, maxTokens: lexed(text) })).toEqual({ kind: 'within' });
  });

  it('counts comments apart, and stops at the first limit (a huge document stays cheap)', () => {
    expect(scanSource(`{ a ${'#\n'.repeat(6)} }`, { ...wide, maxComments: 5 })).toEqual({
      kind: 'tooManyComments',
    });
    expect(scanSource('{'.repeat(1_000_000), { ...wide, maxNesting: 64 })).toEqual({
      kind: 'tooDeep',
    });
    expect(scanSource(`{ ${'a '.repeat(1_000_000)}}`, { ...wide, maxTokens: 5000 })).toEqual({
      kind: 'tooManyTokens',
    });
  });
});
