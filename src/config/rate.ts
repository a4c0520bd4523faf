import { fail, ok, type Result } from './result.js';
import { describeValue } from './toml-value.js';
import type { ConnectionRate } from './types.js';

/** The most connections a rate may allow per unit: beyond it, a limit is no limit. */
export const MAX_RATE_COUNT = 1_000_000;

const UNITS = { s: 1_000, m: 60_000 } as const;
const EXPECTED = 'expected a rate such as "20/s" or "600/m", or "0" for no limit';

/**
 * Reads `connection_rate_per_client`: `"<count>/s"` or `"<count>/m"` with a count from
 * 1 to {@link MAX_RATE_COUNT}, or `"0"` (or the integer 0) for no limit, which gives
 * undefined.
 */
export function tryParseRate(value: unknown): Result<ConnectionRate | undefined> {
  if (value === 0 || value === '0') return ok(undefined);
  if (typeof value === 'number') {
    return fail(`${EXPECTED}, got ${describeValue(value)}${Number.isInteger(value) && value > 0 ? `; did you mean "${value}/s"?` : ''}`);
  }
  if (typeof value !== 'string') return fail(`${EXPECTED}, got ${describeValue(value)}`);
  const match = /^(0|[1-9]\d*)\/(s|m)$/.exec(value);
  if (!match) return fail(`${EXPECTED}, got ${JSON.stringify(value)}`);
  const count = Number(match[1]);
  if (count === 0) return fail(`${JSON.stringify(value)} would refuse every connection; write "0" for no limit`);
  if (count > MAX_RATE_COUNT) return fail(`${JSON.stringify(value)}: a rate counts at most ${MAX_RATE_COUNT} connections per unit`);
  return ok({ count, perMs: UNITS[match[2] as keyof typeof UNITS] });
}

/** Writes a rate as {@link tryParseRate} reads it: `20/s`, `600/m`, `0` for none. */
export function formatRate(rate: ConnectionRate | undefined): string {
  if (rate === undefined) return '0';
  if (rate.perMs === UNITS.s) return `${rate.count}/s`;
  return rate.perMs === UNITS.m ? `${rate.count}/m` : `${rate.count}/${rate.perMs}ms`;
}
