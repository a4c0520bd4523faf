import { map } from 'rxjs';
import { describe, it } from 'vitest';
import { first } from '../../../../src/operators/policies/first.js';
import type { RouteRequest } from '../../../../src/operators/policies/types.js';
import { candidate, picked, request, testScheduler } from '../../helpers.js';

const A = candidate('a', 1, 0, 0);
const B = candidate('b', 5, 0, 1);
const C = candidate('c', 1, 0, 2);
const names = { a: 'a', b: 'b', c: 'c' };

describe('first', () => {
  it('fills backends in configured order as they become full', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      // A takes connections until full (no longer a candidate), then B, then C; A again once it has room.
      const reqs = hot('  --x--x--y--z--x--|', { x: request([A, B, C]), y: request([B, C]), z: request([C]) });
      const subs = '      ^----------------!';
      const expected = '  --a--a--b--c--a--|';
      expectObservable(reqs.pipe(first(), map(picked))).toBe(expected, names);
      expectSubscriptions(reqs.subscriptions).toBe(subs);
    });
  });

  it('goes by configured index, not by the order of the list, weight or load', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const busyA = candidate('a', 1, 50, 0);
      expectObservable(cold(' xy|', { x: request([C, B, busyA]), y: request([C, B]) }).pipe(first(), map(picked))).toBe('ab|', names);
    });
  });

  it('refuses when there is no candidate', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold(' x|', { x: request([]) }).pipe(first(), map(picked))).toBe('r|', { r: '-' });
    });
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(first())).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(first())).toBe('|');
      expectObservable(cold<RouteRequest>('--#').pipe(first())).toBe('--#');
      const reqs = hot('-x-x-x', { x: request([B, C]) });
      expectObservable(reqs.pipe(first(), map(picked)), '^--!').toBe('-b', names);
      expectSubscriptions(reqs.subscriptions).toBe('^--!');
    });
  });
});
