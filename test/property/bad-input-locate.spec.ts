import fc from 'fast-check';
import './seed.js';
import { parse, stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { formatKeyPath, parseKeyPath, type KeyPath } from '../../src/config/key-path.js';
import { createLocator } from '../../src/config/locate.js';
import { linesOf } from './bad-input-check.js';
import { anyText, tomlLike } from './bad-input-toml.js';

/**
 * What places every config issue: key paths written and read back (`pool."a b".backend[1]`),
 * and the locator that maps them to line:column in any text. Neither ever throws; a
 * path reads back as written; a position is inside the text, and for a valid TOML
 * document every key it holds is found where it is written.
 */

const segment = fc.oneof(anyText(8), fc.nat(20), fc.constantFrom('pool', 'web', 'backend', '', '80', 'a.b', '"', '[0]'));
const keyPath = fc.array(segment, { maxLength: 6 });

/** Every key path of a parsed document, with the last segment a key (not an array index). */
function keyPaths(value: unknown, path: KeyPath = []): KeyPath[] {
  if (Array.isArray(value)) return value.flatMap((v: unknown, i) => keyPaths(v, [...path, i]));
  if (typeof value !== 'object' || value === null || value instanceof Date) return [];
  return Object.entries(value).flatMap(([k, v]) => [[...path, k], ...keyPaths(v, [...path, k])]);
}

describe('key paths', () => {
  it('read back as written', () => {
    fc.assert(
      fc.property(keyPath, (path) => {
        expect(parseKeyPath(formatKeyPath(path))).toEqual(path);
      }),
      { numRuns: 300 },
    );
  });

  it('any text reads as some path, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(30), keyPath.map(formatKeyPath).map((t) => t.slice(0, -1))), (text) => {
        const path = parseKeyPath(text);
        expect(path.every((s) => typeof s === 'string' || Number.isInteger(s))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the source locator', () => {
  it('on any text and any path: a position inside the text or none, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(80), tomlLike(10)), fc.array(fc.oneof(keyPath, keyPath.map(formatKeyPath)), { maxLength: 8 }), (text, paths) => {
        const locate = createLocator(text);
        const lines = linesOf(text);
        for (const path of paths) {
          const at = locate(path);
          if (at === undefined) continue;
          const line = lines[at.line - 1];
          expect(line, `line ${at.line} of ${lines.length}`).toBeDefined();
          if (at.column !== undefined) expect(at.column >= 1 && at.column <= (line ?? '').length + 1, `column ${at.column}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('finds every key of a valid TOML document where it is written', () => {
    const key = fc.oneof(fc.constantFrom('pool', 'web', 'backend', 'address', 'a b', 'x.y', '0', ''), anyText(5));
    const scalar = fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.boolean());
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('any'), { maxLength: 3 }), fc.dictionary(key, tie('any'), { maxKeys: 3 })),
    })).any;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 4 }), (doc) => {
        const text = stringify(doc);
        const locate = createLocator(text);
        const lines = linesOf(text);
        for (const path of keyPaths(parse(text))) {
          const at = locate(path);
          const shown = `${formatKeyPath(path)} in:\n${text}`;
          if (at?.column === undefined) return expect.fail(`${shown}\nnot found: ${JSON.stringify(at)}`);
          const rest = (lines[at.line - 1] ?? '').slice(at.column - 1);
          const last = String(path[path.length - 1]);
          // a header naming the table, or the key itself (quoted when it is not bare)
          const bare = /^[A-Za-z0-9_-]+$/.test(last);
          expect(rest.startsWith('[') || (bare ? rest.startsWith(last) : /^["']/.test(rest)), `${shown}\nfound at ${at.line}:${at.column}: ${rest}`).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
