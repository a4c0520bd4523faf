import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { formatKeyPath } from '../../src/config/key-path.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError, formatIssue, type ConfigIssue } from '../../src/errors.js';
import { configOrError, expectConfigOrLocatedError } from './bad-input-check.js';
import { annotate, SAMPLE_NAMES, SAMPLES, VALUE_KINDS, type SampleLine, type SampleName } from './bad-input-samples.js';
import { anyLiteral, keyText, line as tomlLine, unknownKey, wrongLiteral } from './bad-input-toml.js';

/**
 * Valid config files of all three layouts, mutated one edit at a time: a key renamed,
 * a value of the wrong type, a table made an array of tables or back, a line repeated,
 * bytes cut or flipped. Whatever the edit, parsing gives a Config or a ConfigError
 * whose every issue names the file and its key path or line:column; and for the edits
 * whose mistake is known, an issue at exactly that key path and line.
 */

const FILE = 'mutated.toml';
const RUNS = 150;

const lines = Object.fromEntries(SAMPLE_NAMES.map((name) => [name, annotate(SAMPLES[name])])) as Record<SampleName, SampleLine[]>;

/** Lines of a sample matching `keep`, drawn with the sample they belong to. */
const lineOf = (keep: (line: SampleLine) => boolean): fc.Arbitrary<{ sample: SampleName; line: SampleLine }> =>
  fc.constantFrom(...SAMPLE_NAMES.flatMap((sample) => lines[sample].filter(keep).map((line) => ({ sample, line }))));

/** The sample's text with line `index` replaced by `text` (or by several lines). */
const replaceLine = (sample: SampleName, index: number, ...text: string[]): string =>
  lines[sample].flatMap((l) => (l.index === index ? text : [l.text])).join('\n');

const parse = (text: string): ReturnType<typeof parseConfigText> | ConfigError => configOrError(() => parseConfigText(text, FILE));

function expectError(text: string): ConfigError {
  const outcome = parse(text);
  expectConfigOrLocatedError(outcome, FILE, text);
  if (!(outcome instanceof ConfigError)) expect.fail(`expected a ConfigError for:\n${text}`);
  return outcome;
}

const shown = (issues: readonly ConfigIssue[]): string => issues.map(formatIssue).join('\n');

/** Headers whose last segment is a key of the schema (not a pool name), so a new name is an unknown key. */
const SCHEMA_TABLES = ['global', 'admin', 'listener', 'health', 'passive', 'backend', 'frontend', 'targets'];

describe('mutated config files', () => {
  it('the samples are valid as they are', () => {
    for (const name of SAMPLE_NAMES) expect(parseConfigText(SAMPLES[name], FILE).layout).toBe(name);
  });

  it('a renamed key is an unknown key, reported at its own key path, line and column', () => {
    const renamable = lineOf((l) => l.kind === 'key' || ((l.kind === 'header' || l.kind === 'array-header') && SCHEMA_TABLES.includes(l.key)));
    fc.assert(
      fc.property(renamable, unknownKey, ({ sample, line }, name) => {
        const written = keyText(name);
        const text =
          line.kind === 'key'
            ? replaceLine(sample, line.index, `${written}${line.text.slice(line.key.length)}`)
            : replaceLine(sample, line.index, line.text.replace(/[A-Za-z0-9_-]+(?=\]+$)/, written));
        const err = expectError(text);
        if (err.issues.some((i) => i.message.startsWith('TOML syntax error'))) {
          // only a name such as "" could clash with TOML itself; it must still be located
          return;
        }
        const parent = line.kind === 'key' ? line.path.slice(0, -1) : line.path.slice(0, -1);
        const path = formatKeyPath([...parent, name]);
        const found = err.issues.find((i) => i.path === path && i.message.startsWith(`Unknown key ${JSON.stringify(name)}`));
        expect(found, `an unknown-key issue at ${path}, in:\n${shown(err.issues)}`).toBeDefined();
        expect(found?.line).toBe(line.index + 1);
        expect(found?.column).toBe(1);
      }),
      { numRuns: RUNS },
    );
  });

  it('a value of the wrong type is reported at its key path and line', () => {
    const typed = lineOf((l) => l.kind === 'key' && VALUE_KINDS[l.key] !== undefined);
    const edit = typed.chain(({ sample, line }) => wrongLiteral(VALUE_KINDS[line.key] ?? 'string').map((value) => ({ sample, line, value })));
    fc.assert(
      fc.property(edit, ({ sample, line, value }) => {
        const text = replaceLine(sample, line.index, `${line.key} = ${value}`);
        const err = expectError(text);
        const path = formatKeyPath(line.path);
        const found = err.issues.find((i) => i.path === path);
        expect(found, `an issue at ${path} for ${value}, in:\n${shown(err.issues)}`).toBeDefined();
        expect(found?.line).toBe(line.index + 1);
        expect(found?.column).toBe(1);
      }),
      { numRuns: RUNS },
    );
  });

  it('a table made an array of tables, or the other way round, is reported at its header or as a syntax error', () => {
    const headers = lineOf((l) => l.kind === 'header' || l.kind === 'array-header');
    fc.assert(
      fc.property(headers, ({ sample, line }) => {
        const name = line.text.replace(/^\[+|\]+$/g, '');
        const swapped = line.kind === 'header' ? `[[${name}]]` : `[${name}]`;
        const err = expectError(replaceLine(sample, line.index, swapped));
        const syntax = err.issues.find((i) => i.message.startsWith('TOML syntax error'));
        if (syntax) {
          // redefining the other kind of the same table: the error is at or after the swap
          expect(syntax.line ?? 0).toBeGreaterThanOrEqual(line.index + 1);
          return;
        }
        const path = formatKeyPath(line.path);
        const found = err.issues.find((i) => i.path === path);
        expect(found, `an issue at ${path}, in:\n${shown(err.issues)}`).toBeDefined();
        expect(found?.message).toMatch(/^expected (a table|an array of tables)/);
        expect(found?.line).toBe(line.index + 1);
      }),
      // every header, however the seed falls
      { numRuns: 40 },
    );
  });

  it('a key or table written twice is a syntax error at the second one', () => {
    const repeatable = lineOf((l) => l.kind === 'key' || l.kind === 'header');
    fc.assert(
      fc.property(repeatable, ({ sample, line }) => {
        const err = expectError(replaceLine(sample, line.index, line.text, line.text));
        expect(err.issues).toHaveLength(1);
        expect(err.issues[0]?.message).toMatch(/^TOML syntax error: /);
        expect(err.issues[0]?.line).toBe(line.index + 2);
      }),
      { numRuns: 60 },
    );
  });

  it('any value replaced, any line inserted, removed or swapped: a Config or a located ConfigError', () => {
    const sample = fc.constantFrom(...SAMPLE_NAMES);
    const edit = sample.chain((name) => {
      const count = lines[name].length;
      const at = fc.nat({ max: count - 1 });
      return fc.oneof(
        fc.tuple(lineOf((l) => l.kind === 'key'), anyLiteral).map(([{ sample: s, line }, value]) => replaceLine(s, line.index, `${line.key} = ${value}`)),
        fc.tuple(at, tomlLine).map(([i, text]) => replaceLine(name, i, text, lines[name][i]?.text ?? '')),
        at.map((i) => replaceLine(name, i)),
        fc.tuple(at, at).map(([i, j]) => {
          const texts = lines[name].map((l) => l.text);
          [texts[i], texts[j]] = [texts[j] ?? '', texts[i] ?? ''];
          return texts.join('\n');
        }),
      );
    });
    fc.assert(
      fc.property(edit, (text) => {
        expectConfigOrLocatedError(parse(text), FILE, text);
      }),
      { numRuns: RUNS },
    );
  });

  it('bytes cut short or flipped: a Config or a located ConfigError', () => {
    const edit = fc.constantFrom(...SAMPLE_NAMES).chain((name) => {
      const bytes = Buffer.from(SAMPLES[name], 'utf8');
      return fc.oneof(
        fc.nat({ max: bytes.length }).map((n) => bytes.subarray(0, n)),
        fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
          const copy = Buffer.from(bytes);
          for (const [at, mask] of flips) copy[at] = (copy[at] ?? 0) ^ mask;
          return copy;
        }),
      );
    });
    fc.assert(
      fc.property(edit, (bytes) => {
        const text = bytes.toString('utf8');
        expectConfigOrLocatedError(parse(text), FILE, text);
      }),
      { numRuns: RUNS },
    );
  });
});
