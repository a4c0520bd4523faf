import { expectedDuration, tryParseDuration } from './duration.js';
import { tryParseEndpoint } from './endpoint.js';
import type { Issues } from './issues.js';
import { formatKeyPath, type KeyPath } from './key-path.js';
import type { Result } from './result.js';
import { describeValue, isTable, unknownKeyMessage, type TomlTableLike } from './toml-value.js';
import type { Endpoint } from './types.js';

/**
 * Typed reads of one TOML table's keys. Each read gives the value, or undefined when
 * the key is absent or wrong; a wrong value has already been added to `issues` with
 * its key path, so callers only supply defaults.
 */
export class Fields {
  private constructor(
    readonly issues: Issues,
    readonly path: KeyPath,
    readonly raw: TomlTableLike,
  ) {}

  /**
   * Opens `value` as a table at `path`, reporting it if it is not one and reporting every
   * key not in `known` (with the nearest known key suggested).
   */
  static open(issues: Issues, value: unknown, path: KeyPath, known: readonly string[]): Fields | undefined {
    if (!isTable(value)) {
      issues.add(path, `expected a table, got ${describeValue(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) issues.add([...path, key], unknownKeyMessage(key, known));
    }
    return new Fields(issues, path, value);
  }

  /** A table whose keys were checked elsewhere (the document root, once its layout is known). */
  static wrap(issues: Issues, table: TomlTableLike, path: KeyPath): Fields {
    return new Fields(issues, path, table);
  }

  at(key: string): KeyPath {
    return [...this.path, key];
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.raw, key);
  }

  /** Reports a missing key; true when it is there. */
  require(key: string): boolean {
    if (this.has(key)) return true;
    this.issues.add(this.at(key), `missing required key ${JSON.stringify(key)}`);
    return false;
  }

  /** A string, optionally checked: `check` returns what is wrong with it, or undefined. */
  string(key: string, check?: (value: string) => string | undefined): string | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return this.wrong(key, `expected a string, got ${describeValue(value)}`);
    const problem = check?.(value);
    return problem === undefined ? value : this.wrong(key, problem);
  }

  /** A string that must not be empty. */
  text(key: string): string | undefined {
    return this.string(key, (v) => (v === '' ? 'must not be empty' : undefined));
  }

  /** An integer from `min` to `max` inclusive. */
  integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return this.wrong(key, `expected an integer, got ${describeValue(value)}`);
    }
    if (value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      return this.wrong(key, `must be an integer ${range}, got ${value}`);
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.get(key);
    if (value === undefined || typeof value === 'boolean') return value;
    return this.wrong(key, `expected a boolean (true or false), got ${describeValue(value)}`);
  }

  /** A duration in milliseconds, at least `minMs`. */
  duration(key: string, minMs = 0): number | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') {
      return this.wrong(key, expectedDuration(describeValue(value)));
    }
    const parsed = tryParseDuration(value);
    if (!parsed.ok) return this.wrong(key, parsed.message);
    if (parsed.value < minMs) return this.wrong(key, `must be at least ${minMs}ms, got ${JSON.stringify(value)}`);
    return parsed.value;
  }

  /** One of a few strings. */
  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if ((values as readonly string[]).includes(value)) return value as T;
    const choices = values.map((v) => JSON.stringify(v)).join(' or ');
    return this.wrong(key, `expected ${choices}, got ${JSON.stringify(value)}`);
  }

  /** A `host:port` string, with the text as written. */
  endpoint(key: string): { endpoint: Endpoint; text: string } | undefined {
    const text = this.string(key);
    if (text === undefined) return undefined;
    const parsed = tryParseEndpoint(text);
    return parsed.ok ? { endpoint: parsed.value, text } : this.wrong(key, parsed.message);
  }

  /** A string checked by a parser that gives a Result. */
  parsed<T>(key: string, parse: (text: string) => Result<T>): T | undefined {
    const text = this.string(key);
    if (text === undefined) return undefined;
    const result = parse(text);
    return result.ok ? result.value : this.wrong(key, result.message);
  }

  /** Any value, checked by a parser that gives a Result. */
  value<T>(key: string, parse: (value: unknown) => Result<T>): T | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    const result = parse(value);
    return result.ok ? result.value : this.wrong(key, result.message);
  }

  /** A sub-table, opened with its own known keys. */
  table(key: string, known: readonly string[]): Fields | undefined {
    const value = this.get(key);
    return value === undefined ? undefined : Fields.open(this.issues, value, this.at(key), known);
  }

  /**
   * An array of tables (`[[pool.web.backend]]`), each entry opened with `known`; undefined
   * when absent or not an array. An entry that is not a table is reported and left out.
   */
  tables(key: string, known: readonly string[]): Fields[] | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      return this.wrong(key, `expected an array of tables ([[${formatKeyPath(this.at(key))}]]), got ${describeValue(value)}`);
    }
    const entries: Fields[] = [];
    value.forEach((entry: unknown, i) => {
      const fields = Fields.open(this.issues, entry, [...this.at(key), i], known);
      if (fields) entries.push(fields);
    });
    return entries;
  }

  private get(key: string): unknown {
    return this.has(key) ? this.raw[key] : undefined;
  }

  private wrong(key: string, message: string): undefined {
    this.issues.add(this.at(key), message);
    return undefined;
  }
}
