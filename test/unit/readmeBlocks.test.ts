/**
 * The machinery of the README test (test/e2e/readmeExamples.test.ts): that it finds every
 * curl block and every command without a claim, and that a claim which does not hold is a
 * problem — so a passing README test means the README's answers were checked.
 */
import { describe, expect, it } from 'vitest';
import { isAssignmentLine, readmeBlocks } from '../support/readme/readmeBlocks.js';
import {
  checkClaim,
  shownDifferences,
  shownJson,
  substitute,
  type Bindings,
  type CommandOutcome,
} from '../support/readme/readmeClaims.js';

const fence = '```';
const outcome = (out: string, statuses: number[] = [200]): CommandOutcome => ({
  out,
  err: '',
  exit: 0,
  statuses,
});

describe('readmeBlocks', () => {
  it('requires a marker on a curl block, and a claim for each command', () => {
    const [unmarked, marked] = readmeBlocks(
      [
        '## A',
        `${fence}sh`,
        'curl -s localhost:4000/graphql',
        fence,
        '<!-- readme-test',
        '1: status = 200',
        '-->',
        '',
        `${fence}sh`,
        "Q='{}'; T=$(npm run -s token -- bob)",
        'curl -s localhost:4000/graphql -d "$Q" \\',
        "  -H 'a: b'",
        'curl -s localhost:4000/graphql',
        '#  {"data":{"health":"ok"}} — shown, so claimed',
        'curl -s localhost:4000/graphql',
        fence,
      ].join('\n'),
    );
    expect(unmarked!.problems).toEqual(['line 2: a curl block without a <!-- readme-test marker']);
    expect(marked!.steps.map((s) => s.kind)).toEqual(['setup', 'command', 'command', 'command']);
    expect(marked!.commands[0]!.text).toBe(
      'curl -s localhost:4000/graphql -d "$Q" \\\n  -H \'a: b\'',
    );
    expect(marked!.commands[1]!.shown).toEqual(['{"data":{"health":"ok"}} — shown, so claimed']);
    expect(marked!.problems).toEqual([
      'line 15: command 3 has no claim (curl -s localhost:4000/graphql…)',
    ]);
  });

  it('reads a marker: its server, its claims, or why the block is not runnable', () => {
    const [block, skipped] = readmeBlocks(
      [
        '<!-- readme-test',
        'server: groups AUTH_GROUPS_CLAIM=groups',
        '1: data.x = 1',
        '1: errors = none',
        '-->',
        `${fence}sh`,
        'curl x',
        fence,
        '<!-- readme-test not runnable: it needs a collector on fixed ports -->',
        `${fence}sh`,
        'curl y',
        fence,
      ].join('\n'),
    );
    expect(block!.marker).toMatchObject({
      server: { name: 'groups', env: { AUTH_GROUPS_CLAIM: 'groups' } },
      claims: new Map([[1, ['data.x = 1', 'errors = none']]]),
    });
    expect(skipped!.marker?.notRunnable).toBe('it needs a collector on fixed ports');
    expect([...block!.problems, ...skipped!.problems]).toEqual([]);
  });

  it('tells setup lines from commands', () => {
    expect(isAssignmentLine('A=$(npm run -s token -- alice); B=$(x "$(y)")   # comment')).toBe(
      true,
    );
    expect(isAssignmentLine(`q='{"query":"{ a }"}'`)).toBe(true);
    expect(isAssignmentLine('T=<tenant id>')).toBe(true);
    expect(isAssignmentLine('A=1 npm start')).toBe(false);
    expect(isAssignmentLine('curl -s x')).toBe(false);
  });
});

describe('readmeClaims', () => {
  const body = JSON.stringify({
    data: {
      workflows: { edges: [{ node: { name: 'a', amount: null } }, { node: { name: 'b' } }] },
    },
    errors: [
      { path: ['workflows', 'edges', 0, 'node', 'amount'], extensions: { code: 'FORBIDDEN' } },
    ],
  });
  const check = (claim: string, out = body, bindings: Bindings = new Map()) =>
    checkClaim(claim, outcome(out), [], bindings);

  it('holds a claim that is true and reports one that is not', () => {
    expect(check('data.workflows.edges[*].node.name = ["a", "b"]')).toBeUndefined();
    expect(check('data.workflows.edges[*].node.name = ["a"]')).toBe(
      'data.workflows.edges[*].node.name: claimed ["a"], got ["a","b"]',
    );
    expect(check('errors = FORBIDDEN at workflows.edges.0.node.amount')).toBeUndefined();
    expect(check('errors = none')).toMatch(/^errors: claimed \[\], got/);
    expect(check('status = 200')).toBeUndefined();
    expect(check('status = 401')).toBe('status: claimed 401, got 200');
    expect(check('out ~ ^HTTP/1\\.1 401', 'HTTP/1.1 200 OK')).toMatch(/claimed to match/);
    expect(check('what is this')).toBe('cannot read the claim "what is this"');
  });

  it('binds placeholders from shown output and claims, and substitutes them later', () => {
    const bindings: Bindings = new Map();
    const shown = shownJson([
      '{"key":"ghk_<id>_<secret>","apiKey":{"id":"<id>","last":"…"}} — prose',
    ]);
    expect(
      shownDifferences(
        shown!.value,
        { key: 'ghk_ab12_s_e_c', apiKey: { id: 'ab12', last: 'x' } },
        bindings,
      ),
    ).toEqual([]);
    expect(bindings).toEqual(
      new Map([
        ['<id>', 'ab12'],
        ['<secret>', 's_e_c'],
      ]),
    );
    expect(shownDifferences({ id: '<id>' }, { id: 'other' }, bindings)).toEqual([
      'id: shown "<id>", got "other"',
    ]);
    expect(shownDifferences({ a: 1 }, { a: 1, b: 2 }, bindings)).toEqual([
      'b: shown undefined, got 2',
    ]);
    expect(check('data.workflows.edges[1].node.name -> <name>', body, bindings)).toBeUndefined();
    expect(substitute('"<name>" and <id>', bindings)).toBe('"b" and ab12');
    expect(() => substitute('<unbound>', bindings)).toThrow('<unbound> has no value yet');
  });

  it('matches text output against what the README shows', () => {
    const bindings: Bindings = new Map();
    const shown = ['… carry "<tenant id>" in the claim'];
    const printed = outcome('> banner\ncreated\n  carry "t-1" in the claim');
    expect(checkClaim('out = shown', printed, shown, bindings)).toBeUndefined();
    expect(bindings.get('<tenant id>')).toBe('t-1');
    expect(checkClaim('out = shown', outcome('200 429'), ['200 200'], bindings)).toMatch(
      /^out: shown/,
    );
  });
});
