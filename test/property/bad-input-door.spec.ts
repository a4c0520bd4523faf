import fc from 'fast-check';
import './seed.js';
import { stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError, formatIssue } from '../../src/errors.js';
import { parseBlock } from '../../src/streams/door/cidr.js';
import { configOrError, expectConfigOrLocatedError } from './bad-input-check.js';

/**
 * The door keys (PROXY header, allow and deny, per-client limits, routes; a pool's
 * proxy_protocol and send_proxy) with values of any type, lists of any entries, and a
 * valid file cut or flipped: parsing gives a frozen Config whose compiled matchers
 * answer any address or name, or a ConfigError whose every issue is located, and every
 * bad list entry is reported at its own index.
 */

const FILE = 'door.toml';

/** The outcome, checked the way every bad-input test checks one, and the same twice. */
function check(text: string): Config | ConfigError {
  const outcome = configOrError(() => parseConfigText(text, FILE));
  expectConfigOrLocatedError(outcome, FILE, text);
  const again = configOrError(() => parseConfigText(text, FILE));
  if (outcome instanceof ConfigError) expect(again instanceof ConfigError ? again.issues : again).toEqual(outcome.issues);
  return outcome;
}

/** Mostly valid, now and then not, so that both outcomes come up. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 150, arbitrary: valid }, { weight: 1, arbitrary: invalid });
/** Now and then. */
const rarely = fc.nat(12).map((n) => n === 0);
const scalar = fc.oneof(fc.string({ maxLength: 10 }), fc.integer({ min: -3, max: 70_000 }), fc.double(), fc.boolean());
const anyValue: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: scalar }, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 2 }));

const cidrish = mostly(
  fc.constantFrom('10.0.0.0/8', '::1', '192.0.2.7', '2001:db8::/32', '0.0.0.0/0', '::/0', '::ffff:10.0.0.0/104'),
  fc.oneof(fc.constantFrom('10.0.0.1/8', '10.0.0.0/33', '[::1]', 'fe80::1%eth0', 'localhost', '', '010.0.0.1', '1.2.3.4/', '::/129'), fc.string({ unit: fc.constantFrom(...'0123456789abcdef:./%'), maxLength: 20 })),
);
const names = mostly(fc.constantFrom('api.example.com', '*.example.com', 'A.EXAMPLE'), fc.oneof(fc.constantFrom('*', 'a..b', 'bücher.de', '192.0.2.1', 'x.', ''), fc.string({ maxLength: 12 })));
const protocols = mostly(fc.constantFrom('h2', 'http/1.1', 'x'), fc.oneof(fc.constantFrom('', 'a b', 'x'.repeat(256)), fc.string({ maxLength: 8 })));
const list = (entry: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => mostly(fc.array(mostly(entry, scalar), { minLength: 1, maxLength: 4 }), fc.oneof(anyValue, fc.constant([])));
/** Some of `keys`, each mostly of its own kind. */
const some = (keys: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> => fc.record(keys, { requiredKeys: [] });

const route = fc
  .tuple(fc.constantFrom('sni', 'alpn', 'source'), some({ sni: list(names), alpn: list(protocols), source: list(cidrish) }), mostly(fc.constantFrom('web', 'api'), fc.constantFrom('nope', 3)), mostly(fc.constant(true), fc.constant(false)), fc.nat(40))
  .map(([needed, keys, pool, withPool, odd]) => {
    const matched = { [needed]: needed === 'source' ? ['::1'] : needed === 'sni' ? ['a.example'] : ['h2'], ...keys };
    // now and then a route with nothing to match on, or an unknown key
    const shaped = odd === 0 ? {} : odd === 1 ? { ...matched, sourse: ['::1'] } : matched;
    return withPool || odd === 2 ? { ...shaped, pool } : shaped;
  });
const tcpDoor = {
  preread_timeout: mostly(fc.constantFrom('5s', '250ms', 1), fc.constantFrom(0, 'soon')),
  proxy_protocol: mostly(fc.constant('accept'), fc.constantFrom('v1', 'v2', 'off')),
  proxy_trusted: list(cidrish),
  max_connections_per_client: mostly(fc.integer({ min: 0, max: 100 }), fc.integer({ min: -2, max: -1 })),
  connection_rate_per_client: mostly(fc.constantFrom('0', '20/s', '600/m', 0), fc.oneof(fc.constantFrom('0/s', '20/h', '020/s', '1000001/s', 20), fc.string({ maxLength: 6 }))),
};
const listener = fc
  .tuple(
    mostly(fc.constant('tcp'), fc.constant('udp')),
    fc.boolean(),
    some({ allow: list(cidrish), deny: list(cidrish), route: fc.array(route, { maxLength: 3 }) }),
    some(tcpDoor),
    rarely,
  )
  .map(([protocol, withPool, door, tcp, odd]) => {
    // proxy_trusted only with accept, now and then without
    const { proxy_trusted: trusted, ...rest } = tcp;
    const proxy = rest['proxy_protocol'] === undefined && !odd ? {} : { proxy_trusted: trusted };
    const routes = Array.isArray(door['route']) && door['route'].length === 0 ? { ...door, route: undefined } : door;
    return { bind: '127.0.0.1:0', protocol, ...(withPool || routes.route === undefined ? { pool: 'web' } : {}), ...routes, ...rest, ...(trusted === undefined ? {} : proxy) };
  });
const pool = (name: string) =>
  fc
    .tuple(some({ proxy_protocol: mostly(fc.constantFrom('v1', 'v2'), fc.constant('accept')) }), fc.option(some({ send_proxy: mostly(fc.boolean(), fc.constant('yes')) }), { nil: undefined }), rarely)
    .map(([keys, health, odd]) => {
      // send_proxy needs the pool's proxy_protocol, now and then missing
      const sending = health?.['send_proxy'] === true && keys['proxy_protocol'] === undefined && !odd ? { proxy_protocol: 'v2' } : {};
      return { ...keys, ...sending, ...(health === undefined ? {} : { health }), backend: [{ address: name === 'web' ? '127.0.0.1:8080' : '127.0.0.1:8081' }] };
    });
const doc = fc.record({ listener: fc.array(listener, { minLength: 1, maxLength: 2 }), pool: fc.record({ web: pool('web'), api: pool('api') }) });

const addresses = ['10.1.2.3', '::ffff:10.1.2.3', '::1', '2001:db8::1', 'fe80::1%eth0', '', 'x', '192.0.2.7'];

describe('door keys with values of any type', () => {
  it('give a Config whose compiled matchers answer anything, or a located ConfigError', () => {
    fc.assert(
      fc.property(doc, (d) => {
        const outcome = check(stringify(d));
        if (outcome instanceof ConfigError) return;
        for (const l of outcome.listeners) {
          for (const a of addresses) {
            for (const matcher of [l.allow, l.deny, l.proxyTrusted, ...l.routes.map((r) => r.source)]) expect(typeof (matcher?.matches(a) ?? false)).toBe('boolean');
            for (const r of l.routes) expect(typeof (r.sni?.matches(a) ?? false)).toBe('boolean');
          }
          expect(l.needsClientHello).toBe(l.routes.some((r) => r.sni !== undefined || r.alpn !== undefined));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('report every entry of an address list that is not an address or block, at its own index, and compile the rest', () => {
    const entries = fc.array(fc.oneof(fc.constantFrom('10.0.0.0/8', '::1', '192.0.2.7', '2001:db8::/32', '::ffff:10.0.0.0/104'), fc.constantFrom('10.0.0.1/8', '[::1]', 'localhost', ''), fc.string({ unit: fc.constantFrom(...'0123456789abcdef:./%'), maxLength: 20 })), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(entries, fc.constantFrom('allow', 'deny', 'proxy_trusted'), (list, key) => {
        const accept = key === 'proxy_trusted' ? 'proxy_protocol = "accept"\n' : '';
        const text = `[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n${accept}${key} = ${JSON.stringify(list)}\n[[pool.web.backend]]\naddress = "127.0.0.1:1"\n`;
        const outcome = check(text);
        const line = accept === '' ? 4 : 5;
        const wrong = list.flatMap((entry, i) => {
          const block = parseBlock(entry);
          return typeof block === 'string' ? [`${FILE}:${line}: listener[0].${key}[${i}]: ${block}`] : [];
        });
        if (wrong.length === 0) {
          expect(outcome).not.toBeInstanceOf(ConfigError);
          if (!(outcome instanceof ConfigError)) expect(outcome.listeners[0]?.[key === 'proxy_trusted' ? 'proxyTrusted' : key]?.entries).toEqual(list);
        } else expect(outcome instanceof ConfigError ? outcome.issues.map(formatIssue) : []).toEqual(wrong);
      }),
      { numRuns: 400 },
    );
  });
});

const SAMPLE = `[[listener]]
bind = "127.0.0.1:7443"
pool = "web"
preread_timeout = "3s"
proxy_protocol = "accept"
proxy_trusted = ["10.0.0.0/8", "::1"]
allow = ["10.0.0.0/8", "2001:db8::/32"]
deny = ["10.9.0.0/16"]
max_connections_per_client = 10
connection_rate_per_client = "20/s"

[[listener.route]]
sni = ["api.example.com", "*.example.com"]
alpn = ["h2", "http/1.1"]
source = ["192.0.2.0/24"]
pool = "api"

[[listener]]
bind = "127.0.0.1:5353"
protocol = "udp"
allow = ["::1"]

[[listener.route]]
source = ["::1"]
pool = "api"

[pool.web]
proxy_protocol = "v1"

[pool.web.health]
send_proxy = true

[[pool.web.backend]]
address = "127.0.0.1:8080"

[pool.api]
proxy_protocol = "v2"

[[pool.api.backend]]
address = "127.0.0.1:8081"
`;

describe('a door config cut short or flipped', () => {
  it('is valid as it is', () => {
    expect(parseConfigText(SAMPLE, FILE).listeners.map((l) => l.routes.length)).toEqual([1, 1]);
  });

  it('gives a Config or a located ConfigError, whatever the edit', () => {
    const bytes = Buffer.from(SAMPLE, 'utf8');
    const edit = fc.oneof(
      fc.nat({ max: bytes.length }).map((n) => bytes.subarray(0, n)),
      fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
        const copy = Buffer.from(bytes);
        for (const [at, mask] of flips) copy[at] = (copy[at] ?? 0) ^ mask;
        return copy;
      }),
    );
    fc.assert(
      fc.property(edit, (b) => {
        check(b.toString('utf8'));
      }),
      { numRuns: 300 },
    );
  });
});
