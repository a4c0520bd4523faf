import { describe, expect, it } from 'vitest';
import { checkPolicy, isPolicyModule, POLICY_NAMES } from '../../../src/config/policy-names.js';
import { editDistance, suggest } from '../../../src/config/suggest.js';

describe('editDistance', () => {
  it.each([
    ['policy', 'policy', 0],
    ['polcy', 'policy', 1],
    ['poilcy', 'policy', 1], // a swap of neighbours is one edit
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%s to %s is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe('suggest', () => {
  const keys = ['name', 'bind', 'protocol', 'pool', 'max_connections', 'session_timeout', 'max_sessions'];
  it.each([
    ['bnd', 'bind'],
    ['Bind', 'bind'],
    ['protcol', 'protocol'],
    ['max-connections', 'max_connections'],
    ['max_conections', 'max_connections'],
    ['pol', 'pool'],
    ['max_session', 'max_sessions'],
  ])('suggests %s -> %s', (word, near) => {
    expect(suggest(word, keys)).toBe(near);
  });

  it('falls back to a known key that starts with the word, or that the word starts with', () => {
    expect(suggest('health_check', ['address', 'health_check_endpoint'])).toBe('health_check_endpoint');
    expect(suggest('max_sessions_per_client', keys)).toBe('max_sessions');
    expect(suggest('max', keys)).toBeUndefined(); // too short to mean anything
  });

  it.each([['address'], ['xyz'], ['timeout'], ['b']])('suggests nothing for %s, which is not near any', (word) => {
    expect(suggest(word, keys)).toBeUndefined();
  });
});

describe('checkPolicy', () => {
  it('accepts every built-in name as it is', () => {
    for (const name of POLICY_NAMES) expect(checkPolicy(name, '/etc/rxlb')).toEqual({ ok: true, value: name });
  });

  it.each([
    ['./my-policy.js', '/etc/rxlb/my-policy.js'],
    ['../policies/sticky.mjs', '/etc/policies/sticky.mjs'],
    ['/opt/rxlb/p.js', '/opt/rxlb/p.js'],
    ['custom.js', '/etc/rxlb/custom.js'],
    ['./dir/index', '/etc/rxlb/dir/index'],
  ])('takes %s as a module path, resolved to %s', (value, resolved) => {
    expect(isPolicyModule(value)).toBe(true);
    expect(checkPolicy(value, '/etc/rxlb')).toEqual({ ok: true, value: resolved });
  });

  it('refuses an unknown name, suggesting a near one', () => {
    const known = 'Known policies: round-robin, random, least-connections, power-of-two, source-hash, maglev, first, or a module path such as "./my-policy.js"';
    expect(checkPolicy('round-robbin', '/')).toEqual({ ok: false, message: `unknown policy "round-robbin"; did you mean "round-robin"? ${known}` });
    expect(checkPolicy('sticky', '/')).toEqual({ ok: false, message: `unknown policy "sticky". ${known}` });
  });
});
