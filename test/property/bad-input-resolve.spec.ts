import { isIP } from 'node:net';
import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { backendAddressPath } from '../../src/config/backend-path.js';
import { formatKeyPath } from '../../src/config/key-path.js';
import { parseConfigText } from '../../src/config/load.js';
import { quickConfig } from '../../src/config/quick.js';
import { resolveConfig, type Lookup } from '../../src/config/resolve.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import { deeplyFrozen, expectLocatedConfigError } from './bad-input-check.js';

/**
 * Hostname resolution fed whatever a lookup may give: lists of addresses (some
 * repeated, some empty), and failures of every shape (an Error with a code, a bare
 * string, null, an object with no prototype), thrown or rejected. It gives a Config
 * whose backends are all IP addresses, unique in each pool, or a ConfigError with an
 * issue at each backend whose hostname failed, located in the file it came from.
 */

const HOSTS = ['app.internal', 'db.internal', 'localhost'];
const CONFIGS: readonly { readonly text?: string; readonly build: () => Config }[] = [
  {
    text: `[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n[[pool.web.backend]]\naddress = "app.internal:8080"\n[[pool.web.backend]]\naddress = "10.0.0.1:8080"\n[[pool.web.backend]]\naddress = "db.internal:8080"\n[[pool.api.backend]]\naddress = "app.internal:8080"\n`,
    build: () => parseConfigText(CONFIGS[0]?.text ?? '', 'resolve.toml'),
  },
  {
    text: `[frontend]\nbind_on = "127.0.0.1:0"\n[[frontend.backend]]\nforward_to = "localhost:1"\n[[frontend.backend]]\nforward_to = "127.0.0.1:1"\n`,
    build: () => parseConfigText(CONFIGS[1]?.text ?? '', 'resolve.toml'),
  },
  {
    text: `[[targets]]\naddress = "db.internal:80"\n[[targets]]\naddress = "app.internal:80"\n`,
    build: () => parseConfigText(CONFIGS[2]?.text ?? '', 'resolve.toml'),
  },
  { build: () => quickConfig({ backends: ['app.internal:1', '[::1]:1', 'localhost:1'] }) },
];

type Answer =
  | { readonly kind: 'addresses'; readonly addresses: readonly string[] }
  | { readonly kind: 'reject' | 'throw'; readonly reason: () => unknown }
  | { readonly kind: 'odd'; readonly value: unknown };

const address = fc.oneof(fc.constantFrom('10.0.0.1', '10.0.0.2', '::1', 'fd00::2', '127.0.0.1'), fc.ipV4(), fc.ipV6());
const reason = fc.constantFrom<() => unknown>(
  () => Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
  () => Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' }),
  () => new Error('no code'),
  () => new Error('a message\non two lines'),
  () => Object.assign(new Error('numeric code'), { code: 42 }),
  () => 'a bare string',
  () => null,
  () => undefined,
  () => 7,
  () => Object.create(null) as unknown,
  () => ({ code: { nested: true } }),
  () => Symbol('why'),
);
const answer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 3, arbitrary: fc.array(address, { maxLength: 4 }).map((addresses): Answer => ({ kind: 'addresses', addresses })) },
  reason.map((r): Answer => ({ kind: 'reject', reason: r })),
  reason.map((r): Answer => ({ kind: 'throw', reason: r })),
  fc.constantFrom<unknown>(null, undefined, 'x', {}, [null], [{ address: 5 }], [{ address: 'not-an-ip', family: 4 }], [{ address: '10.0.0.1' }, 'x']).map((value): Answer => ({ kind: 'odd', value })),
);

function lookupFrom(answers: Readonly<Record<string, Answer>>): Lookup {
  return (hostname) => {
    const a = answers[hostname] ?? { kind: 'addresses', addresses: ['127.0.0.1'] };
    switch (a.kind) {
      case 'addresses':
        return Promise.resolve(a.addresses.map((ip) => ({ address: ip, family: isIP(ip) })));
      case 'reject':
        return Promise.reject(a.reason());
      case 'throw':
        throw a.reason();
      case 'odd':
        return Promise.resolve(a.value as { address: string; family: number }[]);
    }
  };
}

describe('hostname resolution with any lookup answer', () => {
  it('gives backends at IP addresses, unique in each pool, or a ConfigError at each backend that failed', async () => {
    const answers = fc.record(Object.fromEntries(HOSTS.map((h) => [h, answer])) as Record<string, fc.Arbitrary<Answer>>);
    await fc.assert(
      fc.asyncProperty(fc.nat(CONFIGS.length - 1), answers, async (which, table) => {
        const { text, build } = CONFIGS[which] ?? { build: () => expect.fail('no config') };
        const config = build();
        let outcome: Config | ConfigError;
        try {
          outcome = await resolveConfig(config, lookupFrom(table));
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          outcome = err;
        }
        // each backend written with a hostname, and where it is written
        const hostnamed = config.pools.flatMap((pool) =>
          pool.backends.flatMap((b, i) => (isIP(b.host) ? [] : [formatKeyPath(backendAddressPath(config.layout, pool.name, i))])),
        );
        if (outcome instanceof ConfigError) {
          expectLocatedConfigError(outcome, config.source, text);
          for (const issue of outcome.issues) {
            expect(hostnamed).toContain(issue.path);
            if (text !== undefined) expect(issue.line, issue.path).toBeDefined();
          }
          return;
        }
        expect(deeplyFrozen(outcome)).toBe(true);
        for (const pool of outcome.pools) {
          expect(pool.backends.length).toBeGreaterThan(0);
          expect(pool.backends.every((b) => isIP(b.host) !== 0)).toBe(true);
          expect(new Set(pool.backends.map((b) => b.address)).size).toBe(pool.backends.length);
        }
      }),
      { numRuns: 150 },
    );
  });
});
