import { suggest } from './suggest.js';

/** A TOML table as smol-toml returns it. */
export type TomlTableLike = Readonly<Record<string, unknown>>;

export function isTable(value: unknown): value is TomlTableLike {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** How a value reads in a message: `a string ("x")`, `an integer (5)`, `a table`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `a string (${JSON.stringify(value)})`;
  if (typeof value === 'number') return Number.isInteger(value) ? `an integer (${value})` : `a float (${value})`;
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (typeof value === 'bigint') return `an integer (${value})`;
  if (value instanceof Date) return 'a date-time';
  if (Array.isArray(value)) return 'an array';
  if (isTable(value)) return 'a table';
  return typeof value;
}

/** `Unknown key "polcy"; did you mean "policy"?`, or the known keys when none is near. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = suggest(key, known);
  if (near !== undefined) return `Unknown key ${JSON.stringify(key)}; did you mean ${JSON.stringify(near)}?`;
  return known.length > 0
    ? `Unknown key ${JSON.stringify(key)}; known keys here: ${known.join(', ')}`
    : `Unknown key ${JSON.stringify(key)}`;
}
