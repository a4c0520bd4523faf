import { parseKeyPath, type KeyPath } from './key-path.js';

/** A 1-based place in the source; the column only when the key itself was found. */
export interface SourcePosition {
  readonly line: number;
  readonly column?: number;
}

/** Where a key path is written in one TOML source, or undefined when nowhere. */
export type Locator = (path: KeyPath | string) => SourcePosition | undefined;

/**
 * Indexes a TOML source once, so that key paths such as `pool.web.backend[1].address`
 * can be mapped to the line and column where the key is written. A key that is not
 * written (a missing required key) maps to the line of its nearest enclosing table
 * that is, and a path with no written ancestor to undefined.
 *
 * It reads `[table]` and `[[array.of.tables]]` headers (counting each array's entries),
 * dotted and quoted keys, inline tables and arrays of inline tables, and skips strings
 * and multi-line arrays. It is a locator, not a parser: on text that is not valid TOML
 * it gives what it could index and never throws.
 */
export function createLocator(source: string): Locator {
  const index = new SourceIndex(source);
  try {
    index.scanDocument();
  } catch {
    // keep what was indexed before the surprise
  }
  return (path) => {
    try {
      return index.locate(typeof path === 'string' ? parseKeyPath(path) : path);
    } catch {
      return undefined;
    }
  };
}

const isBare = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_-]/.test(c);

/**
 * One key path of the source, in a tree of them: each segment (a key, or an entry's
 * index) is one step down. Indexing a line walks down from the table it is in, so a
 * file is indexed in time linear in its length, however long its dotted keys.
 */
interface PathNode {
  /** Where the path is written out: a key before `=`, or a table header; the first one wins. */
  written?: number;
  /** Where a longer header or dotted key first implies this table without writing it. */
  implied?: number;
  /** How many `[[...]]` entries this array of tables has had so far. */
  entries?: number;
  readonly children: Map<string | number, PathNode>;
}

const newNode = (): PathNode => ({ children: new Map() });

function child(node: PathNode, segment: string | number): PathNode {
  let next = node.children.get(segment);
  if (!next) {
    next = newNode();
    node.children.set(segment, next);
  }
  return next;
}

class SourceIndex {
  private p = 0;
  private readonly root = newNode();
  private readonly lineStarts: number[] = [0];

  constructor(private readonly s: string) {
    for (let i = 0; i < s.length; i += 1) if (s[i] === '\n') this.lineStarts.push(i + 1);
  }

  /** The longest prefix of `path` that is written or implied; a column only for the whole path. */
  locate(path: KeyPath): SourcePosition | undefined {
    let node: PathNode | undefined = this.root;
    let found: { offset: number; depth: number } | undefined;
    for (const [i, segment] of path.entries()) {
      node = node.children.get(segment);
      if (!node) break;
      const offset = node.written ?? node.implied;
      if (offset !== undefined) found = { offset, depth: i + 1 };
    }
    if (!found) return undefined;
    const position = this.position(found.offset);
    return found.depth === path.length ? position : { line: position.line };
  }

  scanDocument(): void {
    let table = this.root;
    while (this.p < this.s.length) {
      this.skipBlank(true);
      if (this.p >= this.s.length) break;
      const before = this.p;
      if (this.s[this.p] === '[') table = this.header() ?? table;
      else this.keyValue(table);
      this.skipRestOfLine();
      if (this.p === before) this.p += 1;
    }
  }

  /** A `[table]` or `[[array.of.tables]]` header; gives the table its keys go into. */
  private header(): PathNode | undefined {
    const start = this.p;
    const isArray = this.s[this.p + 1] === '[';
    this.p += isArray ? 2 : 1;
    const keys = this.key();
    if (keys.length === 0) return undefined;
    let node = this.root;
    keys.forEach((segment, i) => {
      node = child(node, segment);
      const last = i === keys.length - 1;
      const count = node.entries;
      if (last && isArray) {
        node.entries = (count ?? 0) + 1;
        node.implied ??= start;
        node = child(node, count ?? 0);
      } else {
        // a header naming an array of tables means its latest entry
        if (count !== undefined) node = child(node, count - 1);
        if (!last) node.implied ??= start;
      }
    });
    node.written ??= start;
    return node;
  }

  private keyValue(table: PathNode): void {
    const start = this.p;
    const keys = this.key();
    if (keys.length === 0) return;
    this.skipBlank(false);
    if (this.s[this.p] !== '=') return;
    this.p += 1;
    let node = table;
    keys.forEach((segment, i) => {
      node = child(node, segment);
      if (i < keys.length - 1) node.implied ??= start;
    });
    node.written ??= start;
    this.skipBlank(false);
    this.value(node);
  }

  /** A dotted key: bare, "basic" or 'literal' segments; empty when there is none here. */
  private key(): string[] {
    const segments: string[] = [];
    for (;;) {
      this.skipBlank(false);
      const c = this.s[this.p];
      if (c === '"' || c === "'") segments.push(this.quotedKey(c));
      else if (isBare(c)) {
        const start = this.p;
        while (isBare(this.s[this.p])) this.p += 1;
        segments.push(this.s.slice(start, this.p));
      } else return segments;
      this.skipBlank(false);
      if (this.s[this.p] !== '.') return segments;
      this.p += 1;
    }
  }

  private quotedKey(quote: string): string {
    let text = '';
    this.p += 1;
    while (this.p < this.s.length) {
      const c = this.s[this.p] ?? '';
      if (c === quote || c === '\n') break;
      if (c === '\\' && quote === '"') {
        text += this.escape();
        continue;
      }
      text += c;
      this.p += 1;
    }
    if (this.s[this.p] === quote) this.p += 1;
    return text;
  }

  /** One escape sequence in a basic string, decoded as far as it matters for keys. */
  private escape(): string {
    const c = this.s[this.p + 1] ?? '';
    const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\x1b', '"': '"', '\\': '\\' };
    if (c === 'u' || c === 'U' || c === 'x') {
      const length = c === 'u' ? 4 : c === 'U' ? 8 : 2;
      const hex = this.s.slice(this.p + 2, this.p + 2 + length);
      this.p += 2 + length;
      const code = Number.parseInt(hex, 16);
      return Number.isInteger(code) && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    this.p += 2;
    return simple[c] ?? c;
  }

  private value(node: PathNode): void {
    const s = this.s;
    if (s.startsWith('"""', this.p) || s.startsWith("'''", this.p)) this.multilineString();
    else if (s[this.p] === '"' || s[this.p] === "'") this.quotedKey(s[this.p] ?? '"');
    else if (s[this.p] === '[') this.array(node);
    else if (s[this.p] === '{') this.inlineTable(node);
    else while (this.p < s.length && !',]}#\r\n'.includes(s[this.p] ?? '')) this.p += 1;
  }

  private multilineString(): void {
    const quote = this.s.slice(this.p, this.p + 3);
    this.p += 3;
    while (this.p < this.s.length) {
      if (quote === '"""' && this.s[this.p] === '\\') this.p += 2;
      else if (this.s.startsWith(quote, this.p)) {
        this.p += 3;
        // up to two quotes may sit right before the closing three
        for (let extra = 0; extra < 2 && this.s[this.p] === quote[0]; extra += 1) this.p += 1;
        return;
      } else this.p += 1;
    }
  }

  private array(node: PathNode): void {
    let index = 0;
    this.items(']', (c) => {
      const element = child(node, index);
      if (c === '{') element.written ??= this.p;
      this.value(element);
      index += 1;
    });
  }

  private inlineTable(node: PathNode): void {
    this.items('}', () => this.keyValue(node));
  }

  /**
   * Walks the comma-separated items of an array or inline table, from its opening
   * bracket to `close`. An item that reads nothing still moves on, so the walk ends.
   */
  private items(close: string, item: (first: string | undefined) => void): void {
    this.p += 1;
    while (this.p < this.s.length) {
      this.skipBlank(true);
      const c = this.s[this.p];
      if (c === close) {
        this.p += 1;
        return;
      }
      if (c === ',') {
        this.p += 1;
        continue;
      }
      const before = this.p;
      item(c);
      if (this.p === before) this.p += 1;
    }
  }

  /** Spaces and tabs; with `newlines`, also line ends and comments. */
  private skipBlank(newlines: boolean): void {
    while (this.p < this.s.length) {
      const c = this.s[this.p];
      if (c === ' ' || c === '\t') this.p += 1;
      else if (newlines && (c === '\r' || c === '\n')) this.p += 1;
      else if (newlines && c === '#') this.skipRestOfLine();
      else return;
    }
  }

  private skipRestOfLine(): void {
    const end = this.s.indexOf('\n', this.p);
    this.p = end < 0 ? this.s.length : end + 1;
  }

  private position(offset: number): SourcePosition {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (this.lineStarts[low] ?? 0) + 1 };
  }
}
