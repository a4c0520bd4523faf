import { map } from 'rxjs';
import type { RouteRequest } from '../../../../src/operators/policies/types.js';
import { describe, expect, it } from 'vitest';
import { roundRobin } from '../../../../src/operators/policies/round-robin.js';
import { candidate, picked, request, testScheduler } from '../../helpers.js';

const A = candidate('a', 1, 0, 0);
const B = candidate('b', 1, 0, 1);
const C = candidate('c', 1, 0, 2);

describe('roundRobin', () => {
  it('picks b1..bn in order, then b1 again', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const r = request([A, B, C]);
      const reqs = hot('  --r-r-r-r-r-r-r-|', { r });
      const subs = '      ^---------------!';
      const expected = '  --a-b-c-a-b-c-a-|';
      expectObservable(reqs.pipe(roundRobin(), map(picked))).toBe(expected, { a: 'a', b: 'b', c: 'c' });
      expectSubscriptions(reqs.subscriptions).toBe(subs);
    });
  });

  it('with weights 5, 1, 1 gives a a b a c a a (smooth, as nginx)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const r = request([candidate('a', 5, 0, 0), candidate('b', 1, 0, 1), candidate('c', 1, 0, 2)]);
      const reqs = cold(' rrrrrrrrrrrrrr|', { r });
      const expected = '  aabacaaaabacaa|';
      expectObservable(reqs.pipe(roundRobin(), map(picked))).toBe(expected, { a: 'a', b: 'b', c: 'c' });
    });
  });

  it('passes over a backend that is not a candidate, which gets its turn when it is back', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const all = request([A, B, C]);
      const noB = request([A, C]);
      const reqs = cold(' xyxx|', { x: all, y: noB });
      expectObservable(reqs.pipe(roundRobin(), map(picked))).toBe('acbc|', { a: 'a', b: 'b', c: 'c' });
    });
  });

  it('keeps separate turns per subscription', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const reqs = cold(' rr|', { r: request([A, B]) });
      const policy = roundRobin();
      expectObservable(reqs.pipe(policy, map(picked))).toBe('ab|', { a: 'a', b: 'b' });
      expectObservable(reqs.pipe(policy, map(picked))).toBe('ab|', { a: 'a', b: 'b' });
    });
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(roundRobin())).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(roundRobin())).toBe('|');
      expectObservable(cold<RouteRequest>('--#').pipe(roundRobin())).toBe('--#');
      const reqs = hot('--r--r--r--', { r: request([A, B]) });
      expectObservable(reqs.pipe(roundRobin(), map(picked)), '^-----!').toBe('--a--b', { a: 'a', b: 'b' });
      expectSubscriptions(reqs.subscriptions).toBe('^-----!');
    });
  });

  it('gives each backend its weighted share exactly over a full cycle', () => {
    const r = request([candidate('a', 3), candidate('b', 2), candidate('c', 1)]);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    testScheduler().run(({ cold }) => {
      cold('r'.repeat(600) + '|', { r })
        .pipe(roundRobin(), map(picked))
        .subscribe((address) => (counts[address] = (counts[address] ?? 0) + 1));
    });
    expect(counts).toEqual({ a: 300, b: 200, c: 100 });
  });
});
