import { fail, ok, type Result } from './result.js';

type StatusRange = readonly [number, number];

/**
 * Reads `health.expect_status` into inclusive ranges: `"2xx"` (any class 1xx to 5xx),
 * `"200"`, `"200-399"`, or several of those separated by commas (`"200,204"`). An
 * integer such as `200` is read as `"200"`.
 */
export function parseExpectStatus(input: string | number): Result<readonly StatusRange[]> {
  const text = String(input);
  const ranges: StatusRange[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = parseRange(part);
    if (!range) {
      return fail(`expected a status such as "2xx", "200" or "200-399" (100 to 599), got ${JSON.stringify(input)}`);
    }
    ranges.push(range);
  }
  return ok(ranges);
}

function parseRange(part: string): StatusRange | undefined {
  const family = /^([1-5])xx$/i.exec(part);
  if (family) return [Number(family[1]) * 100, Number(family[1]) * 100 + 99];
  const match = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
  if (!match) return undefined;
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  return low >= 100 && high <= 599 && low <= high ? [low, high] : undefined;
}
