import { isAbsolute } from 'node:path';
import fc from 'fast-check';
import './seed.js';
import { isObservable, NEVER } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { checkPolicy, isPolicyModule, isPolicyName, POLICY_NAMES } from '../../src/config/policy-names.js';
import { ConfigError, PolicyError } from '../../src/errors.js';
import { policyFactory } from '../../src/operators/policies/registry.js';
import { configOrError, expectConfigOrLocatedError } from './bad-input-check.js';
import { anyText, tomlString } from './bad-input-toml.js';

/**
 * Policy names from any text: the config's `pool.<name>.policy` and quick mode's
 * `--policy` (checkPolicy), and the policy registry (policyFactory). A built-in name or a
 * module path is accepted, anything else refused with a one-line message naming it.
 */

const INHERITED = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
const name = fc.oneof(
  fc.constantFrom(...POLICY_NAMES),
  fc.constantFrom(...POLICY_NAMES).map((n) => n.toUpperCase()),
  fc.constantFrom('rund-robin', 'leastconnections', 'power-of-2', 'maglev ', '', './p.js', '../p.mjs', '/p.js', 'p.js', 'p.cjs', '.', '/', ...INHERITED),
  anyText(16),
);

describe('policy names from any text', () => {
  it('checkPolicy keeps a built-in name, makes a module path absolute, or says why not in one line', () => {
    fc.assert(
      fc.property(name, fc.constantFrom('/etc/rxlb', '/', '/a b/c'), (value, baseDir) => {
        const result = checkPolicy(value, baseDir);
        if (isPolicyName(value)) expect(result).toEqual({ ok: true, value });
        else if (isPolicyModule(value)) {
          if (!result.ok) return expect.fail(result.message);
          expect(isAbsolute(result.value), result.value).toBe(true);
        } else {
          if (result.ok) return expect.fail(`${JSON.stringify(value)} accepted as ${result.value}`);
          expect(result.message).toContain(JSON.stringify(value));
          expect(result.message, 'one line').not.toMatch(/[\r\n]/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('in a config file, a bad policy is reported at its key path and line', () => {
    fc.assert(
      fc.property(name, (value) => {
        const text = `[[listener]]\nbind = "127.0.0.1:0"\npool = "p"\n[pool.p]\npolicy = ${tomlString(value)}\n[[pool.p.backend]]\naddress = "127.0.0.1:1"\n`;
        const outcome = configOrError(() => parseConfigText(text, '/etc/rxlb/policy.toml'));
        expectConfigOrLocatedError(outcome, '/etc/rxlb/policy.toml', text);
        const result = checkPolicy(value, '/etc/rxlb');
        if (result.ok) {
          if (outcome instanceof ConfigError) return expect.fail(outcome.message);
          expect(outcome.pools[0]?.policy).toBe(result.value);
        } else {
          expect(outcome instanceof ConfigError ? outcome.issues : []).toEqual([
            { file: '/etc/rxlb/policy.toml', path: 'pool.p.policy', line: 5, column: 1, message: result.message },
          ]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('policyFactory gives a working factory for a built-in name, a PolicyError for anything else', () => {
    const notInherited = name.filter((n) => !INHERITED.includes(n));
    fc.assert(
      fc.property(notInherited, (value) => {
        let factory: ReturnType<typeof policyFactory>;
        try {
          factory = policyFactory(value);
        } catch (err) {
          expect(err).toBeInstanceOf(PolicyError);
          expect(isPolicyName(value)).toBe(false);
          return;
        }
        expect(isPolicyName(value), value).toBe(true);
        expect(isObservable(factory()(NEVER))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  // Found by this suite: a plain lookup found Object.prototype's members.
  it('policyFactory refuses names inherited from Object.prototype ("constructor", "__proto__")', () => {
    for (const inherited of INHERITED) expect(() => policyFactory(inherited)).toThrow(PolicyError);
  });
});
