import type { TomlError } from 'smol-toml';

/** Where a TOML syntax error is and what it is, as one config issue gives it. */
export interface SyntaxProblem {
  readonly line: number;
  readonly column: number;
  /** `TOML syntax error: ...`, on one line. */
  readonly message: string;
}

/**
 * smol-toml's syntax error in words a user acts on. Its message is kept, without its
 * prefix and code excerpt, except for a string left open: smol-toml stops at the end of
 * the line ("control characters are not allowed in strings", the newline being one) or
 * of the file ("unfinished string"), which says nothing of a missing quote. That one is
 * reported at the quote that opens the string, saying which quote closes it.
 */
export function syntaxProblem(err: TomlError, source: string): SyntaxProblem {
  const said = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
  const lines = source.split('\n');
  const text = lines[err.line - 1] ?? '';
  const at = text[err.column - 1];
  if (said === 'control characters are not allowed in strings' && (at === undefined || at === '\r')) {
    const open = openQuote(text);
    if (open !== undefined) {
      return { line: err.line, column: open.column, message: `TOML syntax error: string not closed on line ${err.line}: add its closing ${open.quote}` };
    }
  }
  if (said === 'unfinished string') {
    const quote = /^("""|'''|"|')/.exec(text.slice(err.column - 1))?.[1];
    if (quote !== undefined) {
      return { line: err.line, column: err.column, message: `TOML syntax error: string not closed before the end of the file: add its closing ${quote}` };
    }
  }
  return { line: err.line, column: err.column, message: `TOML syntax error: ${said}` };
}

/**
 * The quote that opens a string still open at the end of `line`, and its 1-based
 * column; undefined when every string on it is closed. `#` outside a string starts a
 * comment; a basic string ("...") has backslash escapes, a literal one ('...') none.
 */
function openQuote(line: string): { readonly quote: string; readonly column: number } | undefined {
  let open: { quote: string; column: number } | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (open === undefined) {
      if (c === '#') return undefined;
      if (c === '"' || c === "'") open = { quote: c, column: i + 1 };
    } else if (open.quote === '"' && c === '\\') {
      i += 1;
    } else if (c === open.quote) {
      open = undefined;
    }
  }
  return open;
}
