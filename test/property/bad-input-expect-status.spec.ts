import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { parseExpectStatus } from '../../src/config/expect-status.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { configOrError, expectConfigOrLocatedError } from './bad-input-check.js';
import { anyText, tomlString } from './bad-input-toml.js';

/**
 * `health.expect_status` (`"2xx"`, `"200"`, `"200-399"`, `"200,204"`, `200`) from any
 * text or number: status ranges inside 100-599 that allow exactly the statuses the
 * text names, or a one-line message; never a throw. In a file, a bad one is reported
 * at its key.
 */

/** One comma-separated part, and the statuses it allows (undefined: the part is invalid). */
interface Part {
  readonly text: string;
  readonly allows: ((status: number) => boolean) | undefined;
}
const valid = (n: number): boolean => n >= 100 && n <= 599;
const three = fc.integer({ min: 0, max: 999 }).map((n) => String(n).padStart(3, '0'));
const part: fc.Arbitrary<Part> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom('xx', 'XX', 'xX', 'x', 'xxx')).map(([d, xx]) => ({
    text: `${d}${xx}`,
    allows: d >= 1 && d <= 5 && xx.length === 2 ? (s: number) => Math.floor(s / 100) === d : undefined,
  })),
  three.map((t) => ({ text: t, allows: valid(Number(t)) ? (s: number) => s === Number(t) : undefined })),
  fc.tuple(three, three).map(([a, b]) => ({
    text: `${a}-${b}`,
    allows: valid(Number(a)) && valid(Number(b)) && Number(a) <= Number(b) ? (s: number) => s >= Number(a) && s <= Number(b) : undefined,
  })),
  fc.constantFrom('', '20', '2000', '-200', '200-', '2xx-3xx', '+200', '200.0', ' ', '200 - 299').map((text) => ({ text, allows: undefined })),
);
/** Parts joined by commas, with spaces around some (they are trimmed). */
const partsText = fc.array(fc.tuple(part, fc.constantFrom('', ' ', '\t')), { minLength: 1, maxLength: 4 }).map((parts) => ({
  text: parts.map(([p, pad]) => `${pad}${p.text}${pad}`).join(','),
  parts: parts.map(([p]) => p),
}));

describe('expect_status from any input', () => {
  it('allows exactly the statuses its parts name, or says why not', () => {
    fc.assert(
      fc.property(partsText, ({ text, parts }) => {
        const result = parseExpectStatus(text);
        const allows = parts.map((p) => p.allows);
        if (allows.some((a) => a === undefined)) {
          expect(result.ok, text).toBe(false);
          return;
        }
        if (!result.ok) return expect.fail(`${JSON.stringify(text)} refused: ${result.message}`);
        const statuses = Array.from({ length: 1001 }, (_, status) => status);
        const wrong = statuses.find(
          (status) => allows.some((a) => a?.(status)) !== result.value.some(([low, high]) => status >= low && status <= high),
        );
        expect(wrong, `${JSON.stringify(text)}: the first status judged wrongly`).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('any text or number: ranges inside 100-599, or a one-line message; never a throw', () => {
    const input = fc.oneof(partsText.map((p) => p.text), anyText(12), fc.integer({ min: -1000, max: 1000 }), fc.double());
    fc.assert(
      fc.property(input, (value) => {
        const result = parseExpectStatus(value);
        if (!result.ok) {
          expect(result.message, 'one line').not.toMatch(/[\r\n]/);
          return;
        }
        expect(result.value.length).toBeGreaterThan(0);
        for (const [low, high] of result.value) {
          expect(Number.isInteger(low) && Number.isInteger(high)).toBe(true);
          expect(100 <= low && low <= high && high <= 599, `${low}-${high}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('in a config file, a bad expect_status is reported at its key path and line', () => {
    const literal = fc.oneof(
      partsText.map((p) => ({ value: p.text as string | number, toml: tomlString(p.text) })),
      anyText(8).map((t) => ({ value: t as string | number, toml: tomlString(t) })),
      fc.integer({ min: -1000, max: 1000 }).map((n) => ({ value: n, toml: String(n) })),
    );
    fc.assert(
      fc.property(literal, ({ value, toml }) => {
        const text = `[[listener]]\nbind = "127.0.0.1:0"\npool = "p"\n[pool.p.health]\nkind = "http"\nexpect_status = ${toml}\n[[pool.p.backend]]\naddress = "127.0.0.1:1"\n`;
        const outcome = configOrError(() => parseConfigText(text, 'status.toml'));
        expectConfigOrLocatedError(outcome, 'status.toml', text);
        const result = parseExpectStatus(value);
        if (result.ok) {
          if (outcome instanceof ConfigError) return expect.fail(outcome.message);
          expect(outcome.pools[0]?.health?.expectStatus).toEqual(result.value);
        } else {
          expect(outcome instanceof ConfigError ? outcome.issues : []).toEqual([
            { file: 'status.toml', path: 'pool.p.health.expect_status', line: 6, column: 1, message: result.message },
          ]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
