import { RxlbError } from '../errors.js';
import { fail, ok, type Result } from './result.js';

/** The longest duration a Node.js timer can wait; longer ones would fire at once. */
export const MAX_DURATION_MS = 2_147_483_647;

const UNITS = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

const PART = /(\d+)(ms|h|m|s)/y;

/** The message for a value that is not a duration; `got` is how the value reads. */
export const expectedDuration = (got: string): string =>
  `expected a duration such as "250ms", "5s", "1m", "1h" or an integer of milliseconds, got ${got}`;

/**
 * Reads a duration into milliseconds: `"250ms"`, `"5s"`, `"1m"`, `"1h"`, a compound of
 * those from the largest unit down (`"1m30s"`, `"1h5m"`), or a non-negative integer of
 * milliseconds, as a TOML integer or a string of digits (`250`, `"250"`).
 *
 * Anything longer than {@link MAX_DURATION_MS} (about 24.8 days) is refused, since a
 * Node.js timer cannot wait that long.
 */
export function tryParseDuration(input: string | number): Result<number> {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0) return fail(expectedDuration(String(input)));
    // + 0 turns TOML's -0 into 0: a duration has no sign
    return withinRange(input + 0, String(input));
  }
  if (/^\d+$/.test(input)) return withinRange(Number(input), JSON.stringify(input));
  let ms = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const match = PART.exec(input);
    const unit = match ? UNITS.findIndex(([name]) => name === match[2]) : -1;
    // units must go from the largest down, each at most once: "1m30s", not "30s1m"
    if (!match || unit <= lastUnit) return fail(expectedDuration(JSON.stringify(input)));
    lastUnit = unit;
    ms += Number(match[1]) * (UNITS[unit]?.[1] ?? 0);
  }
  if (lastUnit < 0) return fail(expectedDuration(JSON.stringify(input)));
  return withinRange(ms, JSON.stringify(input));
}

function withinRange(ms: number, shown: string): Result<number> {
  return ms <= MAX_DURATION_MS
    ? ok(ms)
    : fail(`duration ${shown} is too long: at most ${MAX_DURATION_MS}ms (about 24.8 days)`);
}

/** {@link tryParseDuration}, throwing an RxlbError with the same message on bad input. */
export function parseDuration(input: string | number): number {
  const result = tryParseDuration(input);
  if (!result.ok) throw new RxlbError(result.message);
  return result.value;
}

/** Writes milliseconds the shortest way {@link parseDuration} reads back: `1m30s`, `250ms`, `0ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) return `${ms}ms`;
  let rest = ms;
  let text = '';
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}
