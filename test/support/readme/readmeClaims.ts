/**
 * What the README claims about a command's outcome, checked against what the command
 * printed. A claim is one line of a `readme-test` marker:
 *
 *   data.workflow = null                 the value at a path equals this JSON
 *   data.workflows.edges[*].node.name = ["Laptop refresh"]   `[*]`: every element
 *   errors = FORBIDDEN at workflow       the errors, as "<code> at <path>" (order ignored); `none`
 *   out ~ ^HTTP/1\.1 401                 the text at a path matches this regular expression
 *   out = shown                          stdout is what the README shows under the command
 *   data.createTeam.id -> <team>         remembers a value for the placeholder <team>
 *
 * Paths start at the command's outcome: `out` (stdout), `err`, `exit`, `status` (the HTTP
 * status of each curl, one number for one request), `lines` (stdout's lines as JSON), and
 * the fields of stdout parsed as JSON (`data`, `errors`). In what the README shows,
 * `<name>` is a placeholder (bound on first sight, then the same value) and `…` anything.
 */
import { isDeepStrictEqual } from 'node:util';

export interface CommandOutcome {
  readonly out: string;
  readonly err: string;
  readonly exit: number;
  readonly statuses: readonly number[];
}

/** Placeholder → the value it stands for, in the commands and claims after it is bound. */
export type Bindings = Map<string, string>;

const PATTERN_PART = /(…|<[^<>\s][^<>]*>)/;

function describe(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The outcome as claims address it. */
export function outcomeFields(outcome: CommandOutcome): Record<string, unknown> {
  const lines = outcome.out ? outcome.out.split('\n').map(parseJson) : [];
  const body = parseJson(outcome.out);
  return {
    ...(body && typeof body === 'object' && !Array.isArray(body) ? body : {}),
    out: outcome.out,
    err: outcome.err,
    exit: outcome.exit,
    status: outcome.statuses.length === 1 ? outcome.statuses[0] : outcome.statuses,
    lines,
  };
}

/** The value at `path` (`a.b[0].c`, `a[*].b`), or undefined. */
export function valueAt(root: unknown, path: string): unknown {
  const segments = path.match(/[^.[\]]+|\[(?:\d+|\*)\]/g) ?? [];
  const walk = (value: unknown, rest: readonly string[]): unknown => {
    const [segment, ...more] = rest;
    if (segment === undefined) return value;
    if (segment === '[*]')
      return Array.isArray(value) ? value.map((v) => walk(v, more)) : undefined;
    if (value === null || typeof value !== 'object') return undefined;
    const key = segment.startsWith('[') ? Number(segment.slice(1, -1)) : segment;
    return walk((value as Record<string | number, unknown>)[key], more);
  };
  return walk(root, segments);
}

/** `text` with every bound placeholder replaced; throws naming one that is not bound. */
export function substitute(text: string, bindings: Bindings): string {
  return text.replace(new RegExp(PATTERN_PART.source.replace('…|', ''), 'g'), (name) => {
    const value = bindings.get(name);
    if (value === undefined) throw new Error(`${name} has no value yet: bind it with a claim`);
    return value;
  });
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Matches `actual` against a shown text with placeholders and `…`, binding new ones. */
function matchText(expected: string, actual: string, bindings: Bindings): boolean {
  const parts = expected.split(PATTERN_PART);
  const names: string[] = [];
  const source = parts
    .map((part, i) => {
      if (i % 2 === 0) return escapeRegExp(part);
      if (part === '…') return '[\\s\\S]*?';
      const bound = bindings.get(part);
      if (bound !== undefined) return escapeRegExp(bound);
      names.push(part);
      return '([\\s\\S]+?)';
    })
    .join('');
  const match = new RegExp(`^${source}$`).exec(actual);
  if (!match) return false;
  for (const [i, name] of names.entries()) {
    const value = match[i + 1]!;
    if ((bindings.get(name) ?? value) !== value) return false;
    bindings.set(name, value);
  }
  return true;
}

/** Where `actual` differs from what the README shows (`expected`, parsed JSON). */
export function shownDifferences(
  expected: unknown,
  actual: unknown,
  bindings: Bindings,
  at = '',
): string[] {
  if (typeof expected === 'string' && PATTERN_PART.test(expected)) {
    return typeof actual === 'string' && matchText(expected, actual, bindings)
      ? []
      : [`${at || '(root)'}: shown ${describe(expected)}, got ${describe(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return [`${at || '(root)'}: shown ${describe(expected)}, got ${describe(actual)}`];
    return expected.flatMap((e, i) => shownDifferences(e, actual[i], bindings, `${at}[${i}]`));
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual))
      return [`${at || '(root)'}: shown ${describe(expected)}, got ${describe(actual)}`];
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    return keys.flatMap((k) =>
      shownDifferences(
        (expected as Record<string, unknown>)[k],
        (actual as Record<string, unknown>)[k],
        bindings,
        at ? `${at}.${k}` : k,
      ),
    );
  }
  return isDeepStrictEqual(expected, actual)
    ? []
    : [`${at || '(root)'}: shown ${describe(expected)}, got ${describe(actual)}`];
}

function errorsOf(fields: Record<string, unknown>): string[] {
  const errors = Array.isArray(fields['errors']) ? (fields['errors'] as unknown[]) : [];
  return errors
    .map((e) => {
      const error = e as { path?: unknown[]; extensions?: { code?: unknown } };
      const code = typeof error.extensions?.code === 'string' ? error.extensions.code : '?';
      return error.path?.length ? `${code} at ${error.path.join('.')}` : code;
    })
    .sort();
}

/**
 * Checks one claim about a command's outcome; the problem, or undefined when it holds.
 * `shown` is what the README prints under the command (for `out = shown`).
 */
export function checkClaim(
  claim: string,
  outcome: CommandOutcome,
  shown: readonly string[],
  bindings: Bindings,
): string | undefined {
  const fields = outcomeFields(outcome);
  const errors = /^errors = (.+)$/.exec(claim);
  if (errors) {
    const expected =
      errors[1] === 'none' ? [] : errors[1]!.split(',').map((e) => e.trim().replace(/\s+/g, ' '));
    const actual = errorsOf(fields);
    return isDeepStrictEqual(actual, expected.sort())
      ? undefined
      : `errors: claimed ${describe(expected)}, got ${describe(actual)}`;
  }
  const capture = /^(\S+) -> (<[^<>]+>)$/.exec(claim);
  if (capture) {
    const value = valueAt(fields, capture[1]!);
    if (typeof value !== 'string' || !value) return `${capture[1]}: no value for ${capture[2]}`;
    bindings.set(capture[2]!, value);
    return undefined;
  }
  if (claim === 'out = shown') {
    return matchText(shown.join('\n'), outcome.out, bindings)
      ? undefined
      : `out: shown ${describe(shown.join('\n'))}, got ${describe(outcome.out)}`;
  }
  const equals = /^(\S+) = (.+)$/.exec(claim);
  if (equals) {
    const expected = parseJson(substitute(equals[2]!, bindings));
    if (expected === undefined) return `${claim}: the value is not JSON`;
    const actual = valueAt(fields, equals[1]!);
    return isDeepStrictEqual(actual, expected)
      ? undefined
      : `${equals[1]}: claimed ${describe(expected)}, got ${describe(actual)}`;
  }
  const matches = /^(\S+) ~ (.+)$/.exec(claim);
  if (matches) {
    const actual = valueAt(fields, matches[1]!);
    return typeof actual === 'string' && new RegExp(matches[2]!).test(actual)
      ? undefined
      : `${matches[1]}: claimed to match /${matches[2]}/, got ${describe(actual)}`;
  }
  return `cannot read the claim "${claim}"`;
}

/** The JSON object `line` starts with (prose may follow it: `{…} — carol is a VP`). */
function leadingObject(line: string): string {
  let depth = 0;
  for (let i = 0, inString = false; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return line.slice(0, i + 1);
  }
  return line;
}

/** The JSON the README shows under a command (a comment line starting with `{`), if any. */
export function shownJson(shown: readonly string[]): { value: unknown } | undefined {
  const line = shown.find((s) => s.startsWith('{'));
  if (line === undefined) return undefined;
  const value = parseJson(leadingObject(line));
  if (value === undefined) throw new Error(`the README shows JSON that does not parse: ${line}`);
  return { value };
}
