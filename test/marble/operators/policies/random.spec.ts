import { map } from 'rxjs';
import type { RouteRequest } from '../../../../src/operators/policies/types.js';
import { describe, expect, it } from 'vitest';
import { pickWeighted, random } from '../../../../src/operators/policies/random.js';
import { candidate, picked, request, testScheduler } from '../../helpers.js';

const seq = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
};

describe('random', () => {
  it('draws by weight with the injected source of randomness', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const r = request([candidate('a', 3), candidate('b', 1)]);
      // total 4: 0.1*4=0.4 -> a, 0.9*4=3.6 -> b, 0.5*4=2 -> a, 0.75*4=3 -> b
      const reqs = hot('  --r--r--r--r--|', { r });
      const subs = '      ^-------------!';
      const expected = '  --a--b--a--b--|';
      expectObservable(reqs.pipe(random({ rng: seq(0.1, 0.9, 0.5, 0.75) }), map(picked))).toBe(expected, { a: 'a', b: 'b' });
      expectSubscriptions(reqs.subscriptions).toBe(subs);
    });
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(random())).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(random())).toBe('|');
      expectObservable(cold<RouteRequest>('-#').pipe(random())).toBe('-#');
      const reqs = hot('-r-r-r', { r: request([candidate('a', 3), candidate('b', 1)]) });
      expectObservable(reqs.pipe(random({ rng: seq(0.9) }), map(picked)), '^--!').toBe('-b', { b: 'b' });
      expectSubscriptions(reqs.subscriptions).toBe('^--!');
    });
  });

  it('propagates a throwing source of randomness as an error', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('rng broke');
      const rng = () => {
        throw boom;
      };
      expectObservable(cold('-r', { r: request([candidate('a')]) }).pipe(random({ rng }))).toBe('-#', undefined, boom);
    });
  });

  it('never picks past the last candidate at the top of the range', () => {
    expect(pickWeighted([candidate('a'), candidate('b')], () => 0.9999999999999999)?.address).toBe('b');
  });
});
