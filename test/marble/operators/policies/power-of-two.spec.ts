import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { drawTwo, powerOfTwo } from '../../../../src/operators/policies/power-of-two.js';
import type { RouteRequest } from '../../../../src/operators/policies/types.js';
import { candidate, picked, request, testScheduler } from '../../helpers.js';

/** An rng that returns these numbers in turn. */
const seq = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
};

const A = candidate('a', 1, 4, 0);
const B = candidate('b', 1, 1, 1);
const C = candidate('c', 1, 0, 2);
const names = { a: 'a', b: 'b', c: 'c' };

describe('powerOfTwo', () => {
  it('takes the less loaded of two weighted draws', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const r = request([A, B, C]);
      // draws: 0.1 of 3 -> A, then 0.1 of [B, C] -> B; 0.9 -> C, 0.1 of [A, B] -> A; 0.5 -> B, 0.9 of [A, C] -> C
      const reqs = hot('  --r--r--r--|', { r });
      const subs = '      ^----------!';
      const expected = '  --b--c--c--|';
      expectObservable(reqs.pipe(powerOfTwo({ rng: seq(0.1, 0.1, 0.9, 0.1, 0.5, 0.9) }), map(picked))).toBe(expected, names);
      expectSubscriptions(reqs.subscriptions).toBe(subs);
    });
  });

  it('compares active connections relative to weight, and keeps the first draw on a tie', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const heavy = candidate('a', 4, 4, 0); // load 1
      const light = candidate('b', 1, 2, 1); // load 2
      const even = candidate('c', 2, 2, 2); // load 1, as heavy
      const reqs = cold(' xyz|', { x: request([heavy, light]), y: request([light, heavy]), z: request([heavy, even]) });
      // x: draws a then b; y: b (0.1 of 1+4) then a; z: c (0.9 of 4+2) then a: tie, c stays
      expectObservable(reqs.pipe(powerOfTwo({ rng: seq(0.1, 0.5, 0.1, 0.5, 0.9, 0.5) }), map(picked))).toBe('aac|', names);
    });
  });

  it('picks a single candidate without drawing', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const rng = () => {
        throw new Error('not called');
      };
      expectObservable(cold(' x|', { x: request([A]) }).pipe(powerOfTwo({ rng }), map(picked))).toBe('a|', names);
    });
  });

  it('draws two different candidates', () => {
    expect(drawTwo([A, B], seq(0.1, 0.1)).map((c) => c.address)).toEqual(['a', 'b']);
    expect(drawTwo([A, B], seq(0.9, 0.9)).map((c) => c.address)).toEqual(['b', 'a']);
    expect(drawTwo([A], seq(0.5))).toEqual([A]);
    expect(drawTwo([], seq(0.5))).toEqual([]);
  });

  it('errors when the source of randomness throws', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('rng broke');
      const rng = () => {
        throw boom;
      };
      expectObservable(cold(' -r|', { r: request([A, B]) }).pipe(powerOfTwo({ rng }))).toBe('-#', undefined, boom);
    });
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(powerOfTwo())).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(powerOfTwo())).toBe('|');
      expectObservable(cold<RouteRequest>('--#').pipe(powerOfTwo())).toBe('--#');
      const reqs = hot('-x-x-x', { x: request([A, C]) });
      expectObservable(reqs.pipe(powerOfTwo({ rng: seq(0.2, 0.7) }), map(picked)), '^--!').toBe('-c', names);
      expectSubscriptions(reqs.subscriptions).toBe('^--!');
    });
  });
});
