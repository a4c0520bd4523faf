import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { configOrError, expectConfigOrLocatedError } from './bad-input-check.js';

/**
 * Big and degenerate config files: a key of thousands of dotted parts, thousands of
 * entries with the same mistake, thousands of unknown keys or long names, listeners
 * naming pools that are not there among thousands that are, nesting as deep as TOML
 * allows. Each is parsed within a time bound (a few hundred kilobytes, so a parse
 * about linear in the size takes milliseconds; one quadratic in it takes seconds or
 * runs out of memory) and gives a Config or a located ConfigError.
 */

const FILE = 'big.toml';
// generous, for a loaded two-core machine: what these inputs take is 10-300 ms
const BOUND_MS = 3_000;

const repeat = (n: number, line: (i: number) => string): string => Array.from({ length: n }, (_, i) => line(i)).join('\n');

const shapes: fc.Arbitrary<string>[] = [
  // a header or key of thousands of dotted parts, then keys in it
  fc.integer({ min: 15_000, max: 30_000 }).map((n) => `[${'a.'.repeat(n)}b]\nk = 1\nl = [1, { m = 2 }]\n`),
  fc.integer({ min: 15_000, max: 30_000 }).map((n) => `${'pool.'.repeat(n)}x = 1\n`),
  fc.integer({ min: 15_000, max: 30_000 }).map((n) => `[[listener]]\nbind = "127.0.0.1:0"\npool = "p"\n${'x.'.repeat(n)}y = 1\n`),
  // thousands of entries with the same mistake, or of unknown keys
  fc.integer({ min: 3_000, max: 5_000 }).map((n) => '[[pool.web.backend]]\n'.repeat(n)),
  fc.integer({ min: 1_000, max: 3_000 }).map((n) => repeat(n, (i) => `[[listener]]\nbind = "127.0.0.1:${(i % 60_000) + 1}"\npool = "nope"`)),
  fc.integer({ min: 1_000, max: 3_000 }).map((n) => repeat(n, (i) => `"${'k'.repeat(50)}${i}" = ${i}`)),
  // listeners naming missing pools among many, with names of similar or very different lengths
  fc.integer({ min: 100, max: 200 }).map(
    (n) =>
      `${repeat(n, (i) => `[pool.p${String(i).padStart(5, '0')}x]\n[[pool.p${String(i).padStart(5, '0')}x.backend]]\naddress = "127.0.0.1:1"`)}\n` +
      repeat(n, (i) => `[[listener]]\nbind = "127.0.0.1:0"\npool = "q${String(i * 7).padStart(5, '0')}y"`),
  ),
  fc.integer({ min: 1_000, max: 20_000 }).map(
    (n) => `[[listener]]\nbind = "127.0.0.1:0"\npool = "${'a'.repeat(n)}"\n[pool.${'b'.repeat(n)}]\n[[pool.${'b'.repeat(n)}.backend]]\naddress = "127.0.0.1:1"\n`,
  ),
  // nesting as deep as the TOML parser allows, and deeper
  fc.integer({ min: 500, max: 2_000 }).map((n) => `[pool.web]\nx = ${'['.repeat(n)}${']'.repeat(n)}\n`),
  fc.integer({ min: 500, max: 2_000 }).map((n) => `[pool.web]\nx = ${'{ a = '.repeat(n)}1${' }'.repeat(n)}\n`),
  // a very long value, and a very long line of junk
  fc.integer({ min: 100_000, max: 300_000 }).map((n) => `[global]\nshutdown_grace = "${'9'.repeat(n)}"\n`),
  fc.integer({ min: 10_000, max: 50_000 }).map((n) => `[[targets]]\naddress = "127.0.0.1:1"\n${'[.'.repeat(n)}\n`),
];

describe('big and degenerate config files', () => {
  // each shape, at two sizes
  it.each(shapes.map((shape, i) => [i, shape] as const))('shape %i is parsed within a time bound, to a Config or a located ConfigError', (_, shape) => {
    fc.assert(
      fc.property(shape, (text) => {
        const start = performance.now();
        const outcome = configOrError(() => parseConfigText(text, FILE));
        const took = performance.now() - start;
        expect(took, `${text.length} characters, starting ${JSON.stringify(text.slice(0, 60))}`).toBeLessThan(BOUND_MS);
        expectConfigOrLocatedError(outcome, FILE, text);
      }),
      { numRuns: 2 },
    );
  });
});
