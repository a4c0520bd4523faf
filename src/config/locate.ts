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

const keyOf = (path: KeyPath): string => JSON.stringify(path);
const isBare = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_-]/.test(c);

class SourceIndex {
  private p = 0;
  /** Paths written out: a key before `=`, or a table header; first one wins. */
  private readonly written = new Map<string, number>();
  /** Tables only implied by a longer header or dotted key. */
  private readonly implied = new Map<string, number>();
  /** How many `[[...]]` entries each array of tables has had so far. */
  private readonly arrays = new Map<string, number>();
  private readonly lineStarts: number[] = [0];

  constructor(private readonly s: string) {
    for (let i = 0; i < s.length; i += 1) if (s[i] === '\n') this.lineStarts.push(i + 1);
  }

  locate(path: KeyPath): SourcePosition | undefined {
    for (let n = path.length; n > 0; n -= 1) {
      const key = keyOf(path.slice(0, n));
      const offset = this.written.get(key) ?? this.implied.get(key);
      if (offset === undefined) continue;
      const position = this.position(offset);
      return n === path.length ? position : { line: position.line };
    }
    return undefined;
  }

  scanDocument(): void {
    let table: KeyPath = [];
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

  private header(): KeyPath | undefined {
    const start = this.p;
    const isArray = this.s[this.p + 1] === '[';
    this.p += isArray ? 2 : 1;
    const keys = this.key();
    if (keys.length === 0) return undefined;
    const path: (string | number)[] = [];
    keys.forEach((segment, i) => {
      path.push(segment);
      const last = i === keys.length - 1;
      const count = this.arrays.get(keyOf(path));
      if (last && isArray) {
        this.arrays.set(keyOf(path), (count ?? 0) + 1);
        this.remember(this.implied, path, start);
        path.push(count ?? 0);
      } else {
        // a header naming an array of tables means its latest entry
        if (count !== undefined) path.push(count - 1);
        if (!last) this.remember(this.implied, path, start);
      }
    });
    this.remember(this.written, path, start);
    return path;
  }

  private keyValue(table: KeyPath): void {
    const start = this.p;
    const keys = this.key();
    if (keys.length === 0) return;
    this.skipBlank(false);
    if (this.s[this.p] !== '=') return;
    this.p += 1;
    for (let n = 1; n < keys.length; n += 1) this.remember(this.implied, [...table, ...keys.slice(0, n)], start);
    const path = [...table, ...keys];
    this.remember(this.written, path, start);
    this.skipBlank(false);
    this.value(path);
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

  private value(path: KeyPath): void {
    const s = this.s;
    if (s.startsWith('"""', this.p) || s.startsWith("'''", this.p)) this.multilineString();
    else if (s[this.p] === '"' || s[this.p] === "'") this.quotedKey(s[this.p] ?? '"');
    else if (s[this.p] === '[') this.array(path);
    else if (s[this.p] === '{') this.inlineTable(path);
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

  private array(path: KeyPath): void {
    let index = 0;
    this.items(']', (c) => {
      const element = [...path, index];
      if (c === '{') this.remember(this.written, element, this.p);
      this.value(element);
      index += 1;
    });
  }

  private inlineTable(path: KeyPath): void {
    this.items('}', () => this.keyValue(path));
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

  private remember(map: Map<string, number>, path: KeyPath, offset: number): void {
    const key = keyOf(path);
    if (!map.has(key)) map.set(key, offset);
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
