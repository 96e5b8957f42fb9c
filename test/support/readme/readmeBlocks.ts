/**
 * The README's code blocks as the README test (test/e2e/readmeExamples.test.ts) runs them:
 * each block's shell lines — setup (variables, functions) and commands — the comment lines
 * shown right under each command, and the `readme-test` marker right above the block:
 *
 *   <!-- readme-test
 *   server: <name> [VAR=value …]    the server the block talks to (default: walkthrough)
 *   not runnable: <reason>          the block is not run, and this says why
 *   <n>: <claim or directive>       about the block's n-th command (setup lines not counted)
 *   -->
 *
 * A block with `curl` in it and no marker is a problem, as is a command without a claim.
 */

export interface ReadmeCommand {
  /** 1-based among the block's commands (setup lines are not counted). */
  readonly index: number;
  readonly text: string;
  readonly line: number;
  /** The comment lines right under the command, without `#` and the spaces after it. */
  readonly shown: readonly string[];
}

export type ReadmeStep =
  | { readonly kind: 'setup'; readonly text: string; readonly line: number }
  | { readonly kind: 'command'; readonly command: ReadmeCommand };

export interface ReadmeMarker {
  readonly line: number;
  readonly server?: { readonly name: string; readonly env: Readonly<Record<string, string>> };
  readonly notRunnable?: string;
  /** Claims and directives by command index. */
  readonly claims: ReadonlyMap<number, readonly string[]>;
}

export interface ReadmeBlock {
  /** The README line of the opening fence. */
  readonly line: number;
  /** The heading the block is under. */
  readonly heading: string;
  readonly language: string;
  readonly text: string;
  readonly steps: readonly ReadmeStep[];
  readonly commands: readonly ReadmeCommand[];
  readonly marker?: ReadmeMarker;
  /** What is wrong with the block or its marker; empty when it can run as marked. */
  readonly problems: readonly string[];
}

const FENCE = /^(\s*)```(\S*)\s*$/;
const MARKER_START = '<!-- readme-test';
const PLACEHOLDER = /<[^<>\s][^<>]*>/g;

/** Index of the character after a `$(…)` starting at `i` (nested parentheses counted). */
function skipSubstitution(text: string, i: number): number {
  let depth = 0;
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '(') depth++;
    else if (text[j] === ')' && --depth === 0) return j + 1;
  }
  return text.length;
}

/**
 * True for a line of shell assignments only (`A=$(…); B='…'  # comment`), false for a
 * command, including one with environment assignments before it (`A=1 npm start`).
 */
export function isAssignmentLine(line: string): boolean {
  const text = line.replace(PLACEHOLDER, 'X');
  let i = 0;
  for (;;) {
    const name = /^[A-Za-z_]\w*=/.exec(text.slice(i));
    if (!name) return false;
    i += name[0].length;
    while (i < text.length && !/[\s;]/.test(text[i]!)) {
      if (text[i] === "'") i = text.indexOf("'", i + 1) + 1 || text.length;
      else if (text[i] === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
        i = j + 1;
      } else if (text.startsWith('$(', i)) i = skipSubstitution(text, i + 1);
      else i++;
    }
    while (text[i] === ' ') i++;
    if (i >= text.length || text[i] === '#') return true;
    if (text[i] !== ';') return false;
    i++;
    while (text[i] === ' ') i++;
    if (i >= text.length || text[i] === '#') return true;
  }
}

function isFunctionDefinition(line: string): boolean {
  return /^[A-Za-z_][\w-]*\s*\(\)\s*\{.*\}\s*;?\s*$/.test(line);
}

function parseMarker(lines: readonly string[], line: number, problems: string[]): ReadmeMarker {
  const claims = new Map<number, string[]>();
  let server: ReadmeMarker['server'];
  let notRunnable: string | undefined;
  for (const raw of lines) {
    const text = raw.trim();
    if (!text) continue;
    const claim = /^(\d+):\s*(.+)$/.exec(text);
    if (claim) {
      const index = Number(claim[1]);
      claims.set(index, [...(claims.get(index) ?? []), claim[2]!]);
    } else if (text.startsWith('server:')) {
      const [name, ...vars] = text.slice('server:'.length).trim().split(/\s+/);
      const env: Record<string, string> = {};
      for (const v of vars) {
        const eq = v.indexOf('=');
        if (eq < 1) problems.push(`marker at line ${line}: "${v}" is not VAR=value`);
        else env[v.slice(0, eq)] = v.slice(eq + 1);
      }
      server = { name: name ?? '', env };
    } else if (text.startsWith('not runnable:')) {
      notRunnable = text.slice('not runnable:'.length).trim();
      if (notRunnable.split(/\s+/).length < 4)
        problems.push(`marker at line ${line}: say why the block is not runnable`);
    } else problems.push(`marker at line ${line}: cannot read "${text}"`);
  }
  return {
    line,
    claims,
    ...(server ? { server } : {}),
    ...(notRunnable ? { notRunnable } : {}),
  };
}

/** The marker comment right above the fence at `fence` (blank lines between), if any. */
function markerAbove(
  lines: readonly string[],
  fence: number,
  problems: string[],
): ReadmeMarker | undefined {
  let end = fence - 1;
  while (end >= 0 && !lines[end]!.trim()) end--;
  if (lines[end]?.trim().endsWith('-->') !== true) return undefined;
  for (let i = end; i >= 0; i--) {
    const text = lines[i]!.trim();
    if (text.startsWith(MARKER_START)) {
      const body = [text.slice(MARKER_START.length), ...lines.slice(i + 1, end + 1)];
      body[body.length - 1] = body.at(-1)!.replace(/-->\s*$/, '');
      return parseMarker(body, i + 1, problems);
    }
    if (text.startsWith('<!--') || text.startsWith('```')) return undefined;
  }
  return undefined;
}

/** The block's setup lines and commands, each command with the comment lines shown under it. */
function stepsOf(content: readonly string[], firstLine: number): ReadmeStep[] {
  const steps: ReadmeStep[] = [];
  let index = 0;
  let shownOf: string[] | undefined;
  for (let i = 0; i < content.length; i++) {
    const line = firstLine + i;
    let text = content[i]!;
    if (!text.trim()) {
      shownOf = undefined;
      continue;
    }
    if (text.trim().startsWith('#')) {
      shownOf?.push(text.trim().replace(/^#\s*/, ''));
      continue;
    }
    while (text.trimEnd().endsWith('\\') && i + 1 < content.length) text += `\n${content[++i]!}`;
    if (isAssignmentLine(text) || isFunctionDefinition(text)) {
      steps.push({ kind: 'setup', text, line });
      shownOf = undefined;
    } else {
      const shown: string[] = [];
      steps.push({ kind: 'command', command: { index: ++index, text, line, shown } });
      shownOf = shown;
    }
  }
  return steps;
}

export function readmeBlocks(readme: string): ReadmeBlock[] {
  const lines = readme.split('\n');
  const blocks: ReadmeBlock[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const title = /^#{1,6}\s+(.+)$/.exec(lines[i]!);
    if (title) heading = title[1]!;
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const start = i;
    const content: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) {
      content.push(lines[i]!.slice(indent));
    }
    const problems: string[] = [];
    const marker = markerAbove(lines, start, problems);
    const text = content.join('\n');
    const steps = stepsOf(content, start + 2);
    const commands = steps.flatMap((s) => (s.kind === 'command' ? [s.command] : []));
    if (/\bcurl\b/.test(text) && !marker)
      problems.push(`line ${start + 1}: a curl block without a ${MARKER_START} marker`);
    if (marker && !marker.notRunnable) {
      for (const c of commands) {
        const shownJson = c.shown.some((s) => s.startsWith('{'));
        if (!shownJson && !marker.claims.has(c.index))
          problems.push(
            `line ${c.line}: command ${c.index} has no claim (${c.text.slice(0, 60)}…)`,
          );
      }
      for (const index of marker.claims.keys()) {
        if (index < 1 || index > commands.length)
          problems.push(`marker at line ${marker.line}: no command ${index} in the block`);
      }
    }
    blocks.push({
      line: start + 1,
      heading,
      language: open[2]!,
      text,
      steps,
      commands,
      problems,
      ...(marker ? { marker } : {}),
    });
  }
  return blocks;
}
