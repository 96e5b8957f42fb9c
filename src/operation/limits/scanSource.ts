/**
 * A document's size as the parser would meet it — tokens, comments and how deeply its
 * brackets (`{`, `(`, `[`) nest — counted in one pass over its text before it is parsed,
 * stopping at the first limit it passes. Two reasons to look before parsing: graphql-js
 * parses by recursion, so a document nested a few thousand levels deep overflows the stack
 * ("Maximum call stack size exceeded") before its own token limit is reached; and a
 * near-1 MB document is refused here without being hashed, parsed or turned into errors
 * with locations. The scan jumps from one token to the next with a native regular
 * expression and skips strings and comments whole; it never counts more tokens than the
 * parser would (numbers and names are one token each, `...` is one), so it refuses nothing
 * the parser's own limits would accept. graphql-js's limits stay on as the backstop.
 */

// A comment, a string, a bracket, the spread, another punctuator, a name, a number.
const TOKEN = /#|"|[{([]|[})\]]|\.\.\.|[!$&:=@|]|[_A-Za-z][_0-9A-Za-z]*|-?\d[\d.eE+-]*/g;
const LINE_END = /[\n\r]/g;

export interface ScanLimits {
  readonly maxNesting: number;
  readonly maxTokens: number;
  readonly maxComments: number;
}

export type ScanResult =
  { readonly kind: 'within' } | { readonly kind: 'tooDeep' | 'tooManyTokens' | 'tooManyComments' };

const WITHIN: ScanResult = { kind: 'within' };

export function scanSource(text: string, limits: ScanLimits): ScanResult {
  let depth = 0;
  let tokens = 0;
  let comments = 0;
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(text); match; match = TOKEN.exec(text)) {
    const token = match[0];
    if (token === '#') {
      if (++comments > limits.maxComments) return { kind: 'tooManyComments' };
      LINE_END.lastIndex = match.index;
      const end = LINE_END.exec(text);
      TOKEN.lastIndex = end ? end.index + 1 : text.length;
      continue;
    }
    if (++tokens > limits.maxTokens) return { kind: 'tooManyTokens' };
    switch (token) {
      case '"':
        TOKEN.lastIndex = endOfString(text, match.index);
        break;
      case '{':
      case '(':
      case '[':
        if (++depth > limits.maxNesting) return { kind: 'tooDeep' };
        break;
      case '}':
      case ')':
      case ']':
        depth -= 1;
        break;
      default:
        break;
    }
  }
  return WITHIN;
}

/** Where the string starting at `start` (a `"` or `"""`) ends, just past its closing quote. */
function endOfString(text: string, start: number): number {
  if (text.startsWith('"""', start)) {
    // A block string ends at the first """ not escaped as \""".
    for (let at = text.indexOf('"""', start + 3); at >= 0; at = text.indexOf('"""', at + 1)) {
      if (text[at - 1] !== '\\') return at + 3;
    }
    return text.length;
  }
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"' || c === '\n') return i + 1;
  }
  return text.length;
}
