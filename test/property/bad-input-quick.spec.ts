import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { formatEndpoint, tryParseEndpoint } from '../../src/config/endpoint.js';
import { checkPolicy } from '../../src/config/policy-names.js';
import { COMMAND_LINE, quickConfig } from '../../src/config/quick.js';
import { ConfigError } from '../../src/errors.js';
import { configOrError, expectLocatedConfigError } from './bad-input-check.js';
import { anyText } from './bad-input-toml.js';

/**
 * Quick mode (`rxlb [-l host:port] [-p policy] [--udp] backend...`) from any arguments:
 * a Config with the backends in order, or one ConfigError naming `<command line>` and
 * each bad argument (`backend[2]`, `--listen`, `--policy`), every one of them.
 */

const address = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('127.0.0.1:8080', '127.0.0.1:8081', '[::1]:8080', '[0:0::1]:8080', 'localhost:9090', 'LOCALHOST:9090', '10.0.0.1:0') },
  { weight: 3, arbitrary: fc.tuple(fc.oneof(fc.ipV4(), fc.domain()), fc.integer({ min: 0, max: 70_000 })).map(([h, p]) => `${h}:${p}`) },
  fc.constantFrom('', ':', '127.0.0.1', '::1:80', 'http://a:1', '[::1]', '127.0.0.1:-1'),
  anyText(16),
);
const policy = fc.option(fc.oneof(fc.constantFrom('round-robin', 'maglev', 'first', 'rund-robin', 'Round-Robin', './p.js', 'p.mjs', '/abs/p.js', ''), anyText(10)), { nil: undefined });
const listen = fc.option(address, { nil: undefined });

describe('quick mode from any arguments', () => {
  it('gives the backends in order, or an issue at each bad argument', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 5 }), listen, policy, fc.boolean(), (backends, listenText, policyText, udp) => {
        const outcome = configOrError(() => quickConfig({ backends, listen: listenText, policy: policyText, udp }));

        // what each argument should give, worked out one by one
        const expected = new Map<string, string>(); // path -> message start
        if (backends.length === 0) expected.set('backend', 'at least one backend');
        const seen = new Set<string>();
        const parsed = backends.map((text, i) => {
          const result = tryParseEndpoint(text);
          if (!result.ok) expected.set(`backend[${i}]`, result.message);
          else if (seen.has(formatEndpoint(result.value))) expected.set(`backend[${i}]`, 'duplicate backend');
          else seen.add(formatEndpoint(result.value));
          return result;
        });
        if (listenText !== undefined) {
          const result = tryParseEndpoint(listenText);
          if (!result.ok) expected.set('--listen', result.message);
        }
        if (policyText !== undefined) {
          const result = checkPolicy(policyText, process.cwd());
          if (!result.ok) expected.set('--policy', result.message);
        }

        if (outcome instanceof ConfigError) {
          expectLocatedConfigError(outcome, COMMAND_LINE);
          const got = new Map(outcome.issues.map((i) => [i.path, i.message]));
          expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
          for (const [path, message] of expected) expect(got.get(path)?.startsWith(message), `${path}: ${got.get(path)}`).toBe(true);
          for (const issue of outcome.issues) expect(issue.line).toBeUndefined();
          return;
        }
        expect([...expected]).toEqual([]);
        expect(outcome.layout).toBe('quick');
        expect(outcome.listeners[0]?.protocol).toBe(udp ? 'udp' : 'tcp');
        expect(outcome.pools[0]?.backends.map((b) => [b.address, b.origin])).toEqual(
          parsed.map((r, i) => [r.ok ? formatEndpoint(r.value) : '', backends[i]]),
        );
      }),
      { numRuns: 300 },
    );
  });
});
