/**
 * The breaking-change check (tools/schemaBreaking.ts) on small schemas: what fails CI, what
 * a declaration allows, and what is only reported.
 */
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  compareSchemas,
  formatComparison,
  parseDeclarations,
  passes,
  printServedSchema,
  type Comparison,
  type Declaration,
} from '../../tools/schemaBreaking.js';

const RELEASED = `
  type Query {
    "Items, newest first."
    items(first: Int = 20): [Item!]!
    item(id: ID!): Item
  }
  type Item { id: ID! name: String! kind: Kind! }
  enum Kind { BOOK FILM }
`;

async function compare(current: string, declared: Declaration[] = []): Promise<Comparison> {
  return compareSchemas(buildSchema(RELEASED), buildSchema(current), declared);
}

const paths = (changes: Comparison['changes'][keyof Comparison['changes']]) =>
  changes.map((c) => c.path);

const WITHOUT_ITEM = RELEASED.replace('item(id: ID!): Item', '');

describe('schema:breaking', () => {
  it('fails on a removed field nobody declared', async () => {
    const comparison = await compare(WITHOUT_ITEM);
    expect(paths(comparison.changes.BREAKING)).toEqual(['Query.item']);
    expect(comparison.undeclared.map((c) => c.path)).toEqual(['Query.item']);
    expect(passes(comparison)).toBe(false);
    expect(formatComparison(comparison, [])).toMatch(/Query\.item: .*\[NOT DECLARED\]/);
  });

  it('passes a removed field that is declared, and prints the reason', async () => {
    const declared = [{ path: 'Query.item', reason: 'replaced by Query.node' }];
    const comparison = await compare(WITHOUT_ITEM, declared);
    expect(comparison.undeclared).toEqual([]);
    expect(comparison.stale).toEqual([]);
    expect(passes(comparison)).toBe(true);
    expect(formatComparison(comparison, declared)).toContain('declared: replaced by Query.node');
  });

  it('fails on a declaration that matches no breaking change (stale)', async () => {
    const stale = { path: 'Query.items', reason: 'was going to be removed' };
    const comparison = await compare(WITHOUT_ITEM, [
      { path: 'Query.item', reason: 'replaced by Query.node' },
      stale,
    ]);
    expect(comparison.stale).toEqual([stale]);
    expect(passes(comparison)).toBe(false);
    expect(formatComparison(comparison, [stale])).toContain('STALE DECLARATIONS (1)');
  });

  it('passes an added field as non-breaking', async () => {
    const comparison = await compare(
      RELEASED.replace('name: String!', 'name: String! note: String'),
    );
    expect(paths(comparison.changes.NON_BREAKING)).toEqual(['Item.note']);
    expect(comparison.changes.BREAKING).toEqual([]);
    expect(passes(comparison)).toBe(true);
  });

  it('reports dangerous changes (a default value, a new enum value) and passes', async () => {
    const comparison = await compare(
      RELEASED.replace('first: Int = 20', 'first: Int = 50').replace('BOOK FILM', 'BOOK FILM GAME'),
    );
    expect(paths(comparison.changes.DANGEROUS).sort()).toEqual(['Kind.GAME', 'Query.items.first']);
    expect(comparison.changes.BREAKING).toEqual([]);
    expect(passes(comparison)).toBe(true);
    expect(formatComparison(comparison, [])).toMatch(/^DANGEROUS \(2\)$/m);
  });

  it('ignores applied directives clients cannot see, not a change of @specifiedBy', async () => {
    const sdl = (directive: string, url: string) => `
      directive @secret on FIELD_DEFINITION
      scalar Url @specifiedBy(url: "${url}")
      type Query { home: Url ${directive} }
    `;
    const released = buildSchema(sdl('', 'https://example.com/a'));
    const hidden = await compareSchemas(
      released,
      buildSchema(sdl('@secret', 'https://example.com/a')),
      [],
    );
    expect(Object.values(hidden.changes).flat()).toEqual([]);
    const moved = await compareSchemas(released, buildSchema(sdl('', 'https://example.com/b')), []);
    expect(
      Object.values(moved.changes)
        .flat()
        .map((c) => c.path),
    ).toContain('Url.@specifiedBy.url');
  });
});

describe('the release snapshot', () => {
  it('prints what introspection answers: descriptions and @specifiedBy, sorted', () => {
    const printed = printServedSchema(
      buildSchema(`
        directive @secret on FIELD_DEFINITION
        "When."
        scalar Instant @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339")
        type Query { b: Int @secret a: Instant }
      `),
    );
    expect(printed).toContain(
      '"""When."""\nscalar Instant @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339")',
    );
    expect(printed).toContain('type Query {\n  a: Instant\n  b: Int\n}');
  });
});

describe('declarations', () => {
  it('accepts path and reason', () => {
    expect(parseDeclarations('[{ "path": "Query.item", "reason": "gone" }]')).toEqual([
      { path: 'Query.item', reason: 'gone' },
    ]);
  });

  it.each([
    ['no reason', '[{ "path": "Query.item" }]'],
    ['an empty reason', '[{ "path": "Query.item", "reason": "  " }]'],
    ['an unknown key', '[{ "path": "Query.item", "reason": "gone", "type": "FIELD_REMOVED" }]'],
    ['not a list', '{ "path": "Query.item", "reason": "gone" }'],
  ])('refuses %s', (_label, json) => {
    expect(() => parseDeclarations(json)).toThrow();
  });
});
