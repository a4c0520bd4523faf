import fc from 'fast-check';
import { KNOWN_KEYS, type ValueKind } from './bad-input-samples.js';

/** TOML fragments for the bad-input property tests: keys, literals of each type, whole lines. */

/** A TOML basic string holding `text`: JSON's escapes are TOML's, but TOML also escapes DEL. */
export const tomlString = (text: string): string => JSON.stringify(text).replaceAll('\x7f', '\\u007f');

/** Characters that need care: line ends, other controls, quotes, escapes, dots, brackets. */
const SPECIAL = ['\n', '\r', '\t', '\u0000', '\u001b', '\u007f', '\u2028', '"', "'", '\\', '.', ' ', '[', ']', '=', '#', ':', '%'];

/** Any text but lone surrogates (which a TOML escape cannot hold): any grapheme, often a special character. */
export const anyText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength });

/** How a key is written: bare when it can be, else quoted. */
export const keyText = (name: string): string => (/^[A-Za-z0-9_-]+$/.test(name) ? name : tomlString(name));

/** A key no layout knows, at any depth: bare, or quoted with any characters. */
export const unknownKey: fc.Arbitrary<string> = fc
  .oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,11}$/), anyText(12), fc.constantFrom('__proto__', 'constructor', 'toString', 'Global', 'pool.web', ''))
  .filter((name) => !KNOWN_KEYS.includes(name));

const date = fc.constantFrom('1979-05-27T07:32:00Z', '1979-05-27T00:32:00.999999-07:00', '1979-05-27 07:32:00', '1979-05-27', '07:32:00');
const float = fc.oneof(
  fc.constantFrom('inf', '-inf', 'nan', '+nan', '0.5', '-1.25', '6.02e23', '1e-7'),
  fc.integer({ min: -100_000, max: 100_000 }).map((n) => `${n}.5`),
);
const integer = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc.constantFrom('0', '-0', '+1', '0x7fffffff', '0o777', '0b101', '1_000', '2147483648', '9007199254740991', '-9007199254740991'),
);
const string = fc.oneof(
  fc.constantFrom('', '0', '5s', '250ms', '1m30s', '2xx', '200-399', '200,204', 'round-robin', 'maglev', 'tcp', 'udp', 'http', 'close', 'http-503'),
  fc.constantFrom('127.0.0.1:8080', '[::1]:80', 'localhost:80', '127.0.0.1', '127.0.0.1:99999', '[::1', 'http://a:1', ':80', '/healthz', 'a b'),
  anyText(24),
).map(tomlString);
// a literal string holds no control character (but tab) and no single quote
// eslint-disable-next-line no-control-regex -- control characters are what is left out
const literalString = anyText(12).filter((s) => !/['\x00-\x08\x0a-\x1f\x7f]/.test(s)).map((s) => `'${s}'`);
const boolean = fc.constantFrom('true', 'false');
const array = fc.constantFrom('[]', '[1, "a"]', '[ [1], { a = 1 } ]', '["127.0.0.1:1"]', '[\n  1,\n  2,\n]');
const table = fc.constantFrom('{}', '{ a = 1 }', '{ address = "127.0.0.1:1" }', '{ b.c = [1] }');

/** A literal of each TOML type, as written in a file. */
export const LITERALS = { string, literalString, integer, float, boolean, date, array, table } as const;
type LiteralType = keyof typeof LITERALS;

/** A literal of any type. */
export const anyLiteral: fc.Arbitrary<string> = fc.oneof(...Object.values(LITERALS));

/** The literal types a key of this kind reads; every other type is wrong for it. */
const ACCEPTED: Readonly<Record<ValueKind, readonly LiteralType[]>> = {
  string: ['string', 'literalString'],
  duration: ['string', 'literalString', 'integer'],
  status: ['string', 'literalString', 'integer'],
  integer: ['integer'],
  boolean: ['boolean'],
};

/** A literal of a type the key cannot take (a float is never read as an integer: `1.5`, `nan`). */
export const wrongLiteral = (kind: ValueKind): fc.Arbitrary<string> =>
  fc.oneof(...(Object.keys(LITERALS) as LiteralType[]).filter((t) => !ACCEPTED[kind].includes(t)).map((t) => LITERALS[t]));

const knownKey = fc.constantFrom(...KNOWN_KEYS, 'pool.web', 'pool.web.backend', 'web', 'dns');
const dottedKey = fc
  .tuple(fc.array(fc.oneof(knownKey, unknownKey).map(keyText), { minLength: 1, maxLength: 4 }), fc.constantFrom('.', ' . '))
  .map(([keys, dot]) => keys.join(dot));

/**
 * One line of a TOML-like file: headers, key-value lines with rxlb's keys or others,
 * comments, blank lines, multi-line strings, or junk.
 */
export const line: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(dottedKey, anyLiteral).map(([k, v]) => `${k} = ${v}`) },
  { weight: 2, arbitrary: dottedKey.map((k) => `[${k}]`) },
  { weight: 2, arbitrary: dottedKey.map((k) => `[[${k}]]`) },
  fc.constantFrom('', '# a comment', '  # indented [comment]', 'x = """', '"""', "y = '''[pool]'''", 'z = """a\\"""b"""', '[', ']]', '=', '\t'),
  anyText(20),
);

/** A TOML-like text of up to `maxLines` lines, with `\n` or `\r\n` line ends. */
export const tomlLike = (maxLines: number): fc.Arbitrary<string> =>
  fc.tuple(fc.array(line, { maxLength: maxLines }), fc.constantFrom('\n', '\r\n')).map(([lines, eol]) => lines.join(eol));
