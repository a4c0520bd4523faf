import { describe, expect, it } from 'vitest';
import { tryParseDuration } from '../../../src/config/duration.js';
import { tryParseEndpoint } from '../../../src/config/endpoint.js';
import { parseConfigText } from '../../../src/config/load.js';
import { createLocator } from '../../../src/config/locate.js';
import { resolveConfig, type Lookup } from '../../../src/config/resolve.js';
import { suggest } from '../../../src/config/suggest.js';
import { ConfigError } from '../../../src/errors.js';
import { configError, problems } from './helpers.js';

/**
 * Bugs the bad-input property tests (test/property/bad-input-*.spec.ts) found, one
 * focused test each.
 */

describe('every config message is one line', () => {
  it('quotes a host or port with a line break, as the text around it is', () => {
    expect(tryParseEndpoint('a\nb:80')).toEqual({ ok: false, message: '"a\\nb" is not a valid hostname or IP address, in "a\\nb:80"' });
    expect(tryParseEndpoint('[a\nb]:80')).toEqual({ ok: false, message: '"a\\nb" in brackets is not an IPv6 address, in "[a\\nb]:80"' });
    expect(tryParseEndpoint('127.0.0.1:\n')).toEqual({ ok: false, message: 'port must be an integer from 0 to 65535, got "\\n" in "127.0.0.1:\\n"' });
  });

  it('writes the pools a listener could have meant as keys: quoted when not bare', () => {
    const pools = '[pool."a\\nb"]\n[[pool."a\\nb".backend]]\naddress = "127.0.0.1:1"\n[pool.web]\n[[pool.web.backend]]\naddress = "127.0.0.1:2"\n';
    expect(problems(`[[listener]]\nbind = "127.0.0.1:0"\npool = "zzzzzz"\n${pools}`)).toEqual([
      'rxlb.toml:3:1: listener[0].pool: no pool named "zzzzzz"; pools defined: "a\\nb", web',
    ]);
    expect(problems(`[[listener]]\nbind = "127.0.0.1:0"\npool = "a\\nc"\n${pools}`)).toEqual([
      'rxlb.toml:3:1: listener[0].pool: no pool named "a\\nc"; did you mean "a\\nb"?',
    ]);
  });
});

describe('a duration has no sign', () => {
  it('reads -0 (a TOML float -0.0) as 0', () => {
    const result = tryParseDuration(-0);
    expect(result.ok && Object.is(result.value, 0)).toBe(true);
  });
});

describe('hostname resolution with a custom lookup', () => {
  const config = parseConfigText('[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n[[pool.web.backend]]\naddress = "app.internal:80"\n', 'rxlb.toml');
  const failure = async (lookup: Lookup): Promise<string[]> => {
    const err = await resolveConfig(config, lookup).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}:${i.line}: ${i.message}`);
  };

  it('reports a failure with no prototype (which String() cannot write) instead of throwing a TypeError', async () => {
    expect(await failure(() => Promise.reject(Object.create(null) as Error))).toEqual([
      'pool.web.backend[0].address:5: cannot resolve "app.internal": [object Object]',
    ]);
  });

  it('reports an answer that is not a list of IP addresses instead of using it', async () => {
    const answer = (value: unknown): Lookup => () => Promise.resolve(value as { address: string; family: number }[]);
    expect(await failure(answer([{ address: 5, family: 4 }]))).toEqual([
      'pool.web.backend[0].address:5: cannot resolve "app.internal": the lookup answered 5, not an IP address',
    ]);
    expect(await failure(answer([{ address: 'app.internal', family: 4 }]))).toEqual([
      'pool.web.backend[0].address:5: cannot resolve "app.internal": the lookup answered "app.internal", not an IP address',
    ]);
    expect(await failure(answer(null))).toEqual([
      'pool.web.backend[0].address:5: cannot resolve "app.internal": the lookup answered null, not a list of addresses',
    ]);
  });

  it('keeps the first line of a failure message that has several', async () => {
    expect(await failure(() => Promise.reject(new Error('first\nsecond')))).toEqual(['pool.web.backend[0].address:5: cannot resolve "app.internal": first']);
  });
});

/** How long `run` takes, in milliseconds. */
function timed(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

// Each of these took from seconds to minutes (or ran out of memory) before its fix, and
// takes milliseconds after: the bound leaves room for a loaded machine.
const BOUND_MS = 2_000;

describe('a config file is read in time about linear in its size', () => {
  it('locates a header of 10,000 dotted keys (20 KB) without indexing each prefix anew', () => {
    const text = `[${'a.'.repeat(10_000)}a]\nk = 1\n`;
    const key = [...Array.from({ length: 10_001 }, () => 'a'), 'k'];
    expect(timed(() => createLocator(text)(key))).toBeLessThan(BOUND_MS);
    expect(createLocator(text)(key)).toEqual({ line: 2, column: 1 });
  });

  it('collects 5,000 issues with the same message without comparing each with all the others', () => {
    const text = '[[pool.web.backend]]\n'.repeat(5_000);
    let issues = 0;
    expect(timed(() => (issues = configError(() => parseConfigText(text, 'rxlb.toml')).issues.length))).toBeLessThan(BOUND_MS);
    expect(issues).toBe(5_001); // each backend's missing address, and the missing listener
  });

  it('suggests a pool name without comparing long names letter by letter', () => {
    const pools = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(3_000, 'p'));
    expect(timed(() => suggest('x'.padEnd(3_000, 'q'), pools))).toBeLessThan(BOUND_MS);
    expect(suggest('x'.padEnd(3_000, 'q'), pools)).toBeUndefined();
  });
});
