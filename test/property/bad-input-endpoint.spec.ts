import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { formatEndpoint, parseEndpoint, tryParseEndpoint } from '../../src/config/endpoint.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError, RxlbError } from '../../src/errors.js';
import { configOrError, expectConfigOrLocatedError, valueOrRxlbError } from './bad-input-check.js';
import { anyText, tomlString } from './bad-input-toml.js';

/**
 * `host:port` as the config (`bind`, `address`, `listen`, `bind_on`, `forward_to`) and the
 * command line (`--listen`, `--admin`, quick-mode backends) read it: from any text, the
 * parser gives a value or a one-line message and never throws; what it accepts is a
 * valid endpoint that reads back the same; in a file, a bad one is reported at its key.
 */

const port = fc.oneof(fc.integer({ min: 0, max: 65_535 }).map(String), fc.constantFrom('', '65536', '-1', '080', '99999', '1e3', ' 80', '8.5', '0x50'));
const host = fc.oneof(
  fc.ipV4(),
  fc.ipV6().map((h) => `[${h}]`),
  fc.ipV6(),
  fc.domain(),
  fc.constantFrom('localhost', '', '[]', '[::1', '[fe80::1%eth0]', '[FE80::1%Eth0]', '256.1.1.1', '1.2.3', 'a..b', 'a_b', '-a', 'http://a', '[127.0.0.1]'),
  anyText(10),
);
/** Mostly near-valid `host:port`, sometimes with a few characters put in, or any text. */
const endpointText = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(host, fc.constantFrom(':', '', '::', ']:', ': '), port).map(([h, sep, p]) => `${h}${sep}${p}`) },
  fc
    .tuple(fc.tuple(host, port).map(([h, p]) => `${h}:${p}`), fc.nat(40), anyText(3))
    .map(([text, at, extra]) => text.slice(0, at) + extra + text.slice(at)),
  anyText(30),
);

describe('endpoints (host:port) from any text', () => {
  it('give an endpoint that reads back the same, or a one-line message; never a throw', () => {
    fc.assert(
      fc.property(endpointText, (text) => {
        const result = tryParseEndpoint(text);
        if (!result.ok) {
          expect(result.message).not.toBe('');
          expect(result.message, 'one line').not.toMatch(/[\r\n]/);
          return;
        }
        const { host: h, port: p } = result.value;
        expect(Number.isInteger(p) && p >= 0 && p <= 65_535).toBe(true);
        expect(h).not.toBe('');
        expect(h).toBe(h.toLowerCase());
        expect(tryParseEndpoint(formatEndpoint(result.value))).toEqual(result);
      }),
      { numRuns: 400 },
    );
  });

  it('valid addresses are accepted, with the port as written', () => {
    const valid = fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6().map((h) => `[${h}]`), fc.domain()), fc.integer({ min: 0, max: 65_535 }));
    fc.assert(
      fc.property(valid, ([h, p]) => {
        const result = tryParseEndpoint(`${h}:${p}`);
        expect(result.ok, `${h}:${p}`).toBe(true);
        if (result.ok) expect(result.value.port).toBe(p);
      }),
      { numRuns: 200 },
    );
  });

  it('parseEndpoint throws only an RxlbError, with the same message', () => {
    fc.assert(
      fc.property(endpointText, (text) => {
        const result = tryParseEndpoint(text);
        const parsed = valueOrRxlbError(() => parseEndpoint(text));
        if (result.ok) expect(parsed).toEqual(result.value);
        else {
          expect(parsed).toBeInstanceOf(RxlbError);
          expect((parsed as RxlbError).message).toBe(result.message);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('in a config file, a bad address is reported at its key path and line', () => {
    const keys = fc.constantFrom(
      { layout: (v: string) => `[[listener]]\nbind = ${v}\npool = "web"\n[pool.web]\n[[pool.web.backend]]\naddress = "127.0.0.1:1"\n`, path: 'listener[0].bind', line: 2 },
      { layout: (v: string) => `[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n[pool.web]\n[[pool.web.backend]]\naddress = ${v}\n`, path: 'pool.web.backend[0].address', line: 6 },
      { layout: (v: string) => `[frontend]\nbind_on = ${v}\n[[frontend.backend]]\nforward_to = "127.0.0.1:1"\n`, path: 'frontend.bind_on', line: 2 },
      { layout: (v: string) => `[[targets]]\naddress = ${v}\n`, path: 'targets[0].address', line: 2 },
    );
    fc.assert(
      fc.property(keys, endpointText, ({ layout, path, line }, text) => {
        const file = layout(tomlString(text));
        const outcome = configOrError(() => parseConfigText(file, 'endpoint.toml'));
        expectConfigOrLocatedError(outcome, 'endpoint.toml', file);
        const result = tryParseEndpoint(text);
        const issue = outcome instanceof ConfigError ? outcome.issues.find((i) => i.path === path) : undefined;
        if (result.ok) expect(issue).toBeUndefined();
        else expect(issue).toMatchObject({ line, column: 1, message: result.message });
      }),
      { numRuns: 200 },
    );
  });
});
