import fc from 'fast-check';
import './seed.js';
import { stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { configOrError, expectConfigOrLocatedError } from './bad-input-check.js';
import { anyText, tomlLike } from './bad-input-toml.js';

/**
 * `parseConfigText` on text from three sources: any characters at all, TOML-like lines
 * built from rxlb's keys and every kind of literal (mostly not valid TOML), and valid
 * TOML documents shaped like each layout but with values of any type. Whatever it is
 * given, it returns a frozen Config or throws a ConfigError whose every issue names the
 * file and its key path, or line:column for a syntax error, and has a line whenever the
 * key it is about is written in the file; and it gives the same answer twice.
 */

const FILE = 'random.toml';

function check(text: string): void {
  const outcome = configOrError(() => parseConfigText(text, FILE));
  expectConfigOrLocatedError(outcome, FILE, text);
  const again = configOrError(() => parseConfigText(text, FILE));
  if (outcome instanceof ConfigError) expect(again instanceof ConfigError ? again.issues : again).toEqual(outcome.issues);
}

// Valid TOML documents shaped like the layouts, built as values and written by smol-toml.
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('127.0.0.1:8080', '[::1]:9', 'localhost:1', '5s', '0ms', '2xx', '/h', 'tcp', 'udp', 'http', 'first', './p.js'),
  fc.integer({ min: -3, max: 70_000 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4_102_444_800_000) }),
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), scalar, { maxKeys: 3 }),
  fc.array(fc.dictionary(fc.string({ maxLength: 6 }), scalar, { maxKeys: 2 }), { minLength: 1, maxLength: 2 }),
);
/** Mostly undefined, sometimes a value. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
/** A table with some of `keys` (each valued by its own arbitrary, or by any value), maybe an unknown key, or not a table at all. */
const table = (keys: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> => {
  const entries = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, fc.oneof({ weight: 12, arbitrary: v }, anyValue)]));
  const shaped = fc
    .tuple(fc.record(entries, { requiredKeys: [] }), rarely(fc.tuple(fc.string({ maxLength: 8 }), scalar)))
    .map(([t, extra]) => (extra === undefined ? t : { ...t, [extra[0]]: extra[1] }));
  return fc.oneof({ weight: 20, arbitrary: shaped }, anyValue);
};
const tables = (keys: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 20, arbitrary: fc.array(table(keys), { maxLength: 3 }) }, anyValue);
/** Mostly a valid value, sometimes not. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 8, arbitrary: valid }, invalid);
const endpoint = mostly(
  fc.constantFrom('127.0.0.1:8080', '127.0.0.1:8081', '[::1]:80', 'localhost:0', '0.0.0.0:0'),
  fc.constantFrom('bad', '1.2.3.4:70000', '[::1]', ''),
);
const duration = mostly<string | number>(fc.oneof(fc.constantFrom('1s', '250ms', '1m30s'), fc.integer({ min: 1, max: 100_000 })), fc.constantFrom('0', '30s1m', '25d', -1, 3_000_000_000));
const count = mostly(fc.integer({ min: 1, max: 100 }), fc.integer({ min: -2, max: 0 }));
const poolName = mostly(fc.constantFrom('web', 'dns'), fc.oneof(fc.constantFrom('a b', '80', '', 'constructor', '__proto__'), fc.string({ maxLength: 8 })));

const rxlbLayout = fc.record(
  {
    global: table({ shutdown_grace: duration, max_connections: count }),
    admin: table({ listen: endpoint, token: fc.string({ maxLength: 6 }) }),
    listener: tables({
      name: fc.string({ maxLength: 6 }),
      bind: endpoint,
      protocol: fc.constantFrom('tcp', 'udp', 'sctp'),
      pool: poolName,
      max_connections: count,
      session_timeout: duration,
      max_sessions: count,
    }),
    pool: fc.oneof(
      {
        weight: 9,
        arbitrary: fc.dictionary(
          poolName,
          table({
            policy: fc.constantFrom('round-robin', 'maglev', 'first', 'rund-robin', './x.js', ''),
            connect_timeout: duration,
            idle_timeout: duration,
            retries: count,
            on_no_backend: fc.constantFrom('close', 'http-503', 'drop'),
            health: table({
              kind: fc.constantFrom('tcp', 'http', 'udp'),
              port: fc.integer({ min: -1, max: 70_000 }),
              path: fc.constantFrom('/', '/healthz', 'healthz', '/a b', ''),
              expect_status: fc.oneof(fc.constantFrom('2xx', '200', '200-399', '200,204', '600', '399-200', ''), fc.integer({ min: 0, max: 999 })),
              interval: duration,
              timeout: duration,
              rise: count,
              fall: count,
            }),
            passive: table({ consecutive_failures: count, eject_for: duration }),
            backend: tables({ address: endpoint, weight: count, max_connections: count, backup: fc.boolean() }),
          }),
          { maxKeys: 3 },
        ),
      },
      anyValue,
    ),
  },
  { requiredKeys: [] },
);
const miniBalancerLayout = fc.record({ frontend: table({ bind_on: endpoint, backend: tables({ forward_to: endpoint }) }) });
const targetsLayout = fc.record({
  targets: tables({ address: endpoint, health_check_endpoint: fc.constantFrom('/', '/healthz', 'x', '/a\nb') }),
});
/** Sometimes two layouts in one file, or a stray top-level key. */
const layouts = fc
  .tuple(fc.oneof(rxlbLayout, miniBalancerLayout, targetsLayout), rarely(fc.oneof(miniBalancerLayout, targetsLayout, fc.dictionary(fc.string({ maxLength: 6 }), scalar, { maxKeys: 1 }))))
  .map(([doc, extra]) => ({ ...(extra ?? {}), ...doc }));

describe('parseConfigText on random text', () => {
  it('any characters at all', () => {
    // any UTF-16 code units (lone surrogates too), or ASCII with TOML's punctuation often
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 120 }).map((codes) => String.fromCharCode(...codes));
    const ascii = fc.string({ unit: fc.oneof(fc.constantFrom('[', ']', '=', '"', "'", '.', '\n', '#', '{', '}', ','), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 })), maxLength: 120 });
    fc.assert(fc.property(fc.oneof(units, ascii), check), { numRuns: 300 });
  });

  it('TOML-like lines made of rxlb keys and literals of every type', () => {
    fc.assert(fc.property(tomlLike(12), check), { numRuns: 300 });
  });

  it('valid TOML shaped like each layout, with values of any type', () => {
    fc.assert(
      fc.property(layouts, fc.constantFrom('', '\uFEFF', '# head\n'), (doc, prefix) => {
        check(prefix + stringify(doc));
      }),
      { numRuns: 300 },
    );
  });

  it('names that are not bare keys, in the key paths of issues', () => {
    // a pool whose name needs quotes, named by a listener that got it wrong
    fc.assert(
      fc.property(anyText(10), anyText(10), (name, wrong) => {
        const doc = { listener: [{ bind: '127.0.0.1:1', pool: wrong }], pool: { [name]: { backend: [{ address: 'nowhere' }] } } };
        check(stringify(doc));
      }),
      { numRuns: 100 },
    );
  });
});
