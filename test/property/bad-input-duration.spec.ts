import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration, tryParseDuration } from '../../src/config/duration.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError, RxlbError } from '../../src/errors.js';
import { configOrError, expectConfigOrLocatedError, valueOrRxlbError } from './bad-input-check.js';
import { anyText, tomlString } from './bad-input-toml.js';

/**
 * Durations (`"250ms"`, `"1m30s"`, `5000`) from any text or number: a whole number of
 * milliseconds a timer can wait, that `formatDuration` writes back the same, or a
 * one-line message; never a throw. In a file, a bad one is reported at its key.
 */

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const unit = fc.constantFrom<Unit>('h', 'm', 's', 'ms');
const amount = fc.oneof(fc.nat(100), fc.nat(), fc.constantFrom(596, 597, 35_791, 35_792, 2_147_483, 2_147_484, 2_147_483_647, 2_147_483_648, 1e21));

const durationText = fc.oneof(
  fc.array(fc.tuple(amount, unit), { minLength: 1, maxLength: 4 }).map((parts) => parts.map(([n, u]) => `${n}${u}`).join('')),
  fc.oneof(amount, fc.integer()).map(String),
  fc.constantFrom('', 'ms', '1', '1.5s', '-1s', '1 s', ' 1s', '1S', '1d', '1m30', '1h1h', '30s1m', '1sms', '0x10', '1e3', '١s', '9'.repeat(400)),
  anyText(12),
);
const durationNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, NaN, Infinity, MAX_DURATION_MS, MAX_DURATION_MS + 1, Number.MAX_SAFE_INTEGER));

describe('durations from any input', () => {
  it('give a whole number of milliseconds that formats back the same, or a one-line message', () => {
    fc.assert(
      fc.property(fc.oneof(durationText, durationNumber), (input) => {
        const result = tryParseDuration(input);
        if (!result.ok) {
          expect(result.message).not.toBe('');
          expect(result.message, 'one line').not.toMatch(/[\r\n]/);
          return;
        }
        expect(Number.isSafeInteger(result.value), String(result.value)).toBe(true);
        expect(result.value).toBeGreaterThanOrEqual(0);
        expect(result.value).toBeLessThanOrEqual(MAX_DURATION_MS);
        expect(tryParseDuration(formatDuration(result.value))).toEqual({ ok: true, value: result.value });
      }),
      { numRuns: 400 },
    );
  });

  it('read units from the largest down, each once, up to the longest timer', () => {
    const parts = fc.uniqueArray(fc.tuple(unit, amount), { minLength: 1, maxLength: 4, selector: ([u]) => u });
    fc.assert(
      fc.property(parts, fc.boolean(), (written, sorted) => {
        const order = (u: Unit): number => -UNIT_MS[u];
        const inOrder = [...written].sort(([a], [b]) => order(a) - order(b));
        const used = sorted ? inOrder : written;
        const ms = used.reduce((sum, [u, n]) => sum + n * UNIT_MS[u], 0);
        const result = tryParseDuration(used.map(([u, n]) => `${n}${u}`).join(''));
        const ordered = used.every(([u], i) => i === 0 || UNIT_MS[u] < UNIT_MS[used[i - 1]?.[0] ?? 'h']);
        // 1e21 writes as "1e+21", which is no duration at all
        const plain = used.every(([, n]) => Number.isSafeInteger(n));
        expect(result).toEqual(ordered && plain && ms <= MAX_DURATION_MS ? { ok: true, value: ms } : expect.objectContaining({ ok: false }));
      }),
      { numRuns: 300 },
    );
  });

  it('parseDuration throws only an RxlbError, with the same message', () => {
    fc.assert(
      fc.property(fc.oneof(durationText, durationNumber), (input) => {
        const result = tryParseDuration(input);
        const parsed = valueOrRxlbError(() => parseDuration(input));
        if (result.ok) expect(parsed).toBe(result.value);
        else expect(parsed).toEqual(new RxlbError(result.message));
      }),
      { numRuns: 200 },
    );
  });

  it('in a config file, a bad duration is reported at its key path and line', () => {
    // shutdown_grace may be 0; a literal is a TOML string, or a TOML integer when it is one
    const literal = fc.oneof(durationText.map((t) => ({ value: t as string | number, toml: tomlString(t) })), fc.integer().map((n) => ({ value: n, toml: String(n) })));
    fc.assert(
      fc.property(literal, ({ value, toml }) => {
        const text = `[global]\nshutdown_grace = ${toml}\n[[listener]]\nbind = "127.0.0.1:0"\npool = "p"\n[pool.p]\n[[pool.p.backend]]\naddress = "127.0.0.1:1"\n`;
        const outcome = configOrError(() => parseConfigText(text, 'duration.toml'));
        expectConfigOrLocatedError(outcome, 'duration.toml', text);
        const result = tryParseDuration(value);
        if (result.ok) {
          expect(outcome).not.toBeInstanceOf(ConfigError);
          if (!(outcome instanceof ConfigError)) expect(outcome.global.shutdownGraceMs).toBe(result.value);
        } else {
          expect(outcome instanceof ConfigError ? outcome.issues : []).toEqual([
            { file: 'duration.toml', path: 'global.shutdown_grace', line: 2, column: 1, message: result.message },
          ]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
