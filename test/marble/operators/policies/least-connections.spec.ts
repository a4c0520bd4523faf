import { map } from 'rxjs';
import type { RouteRequest } from '../../../../src/operators/policies/types.js';
import { describe, it } from 'vitest';
import { leastConnections } from '../../../../src/operators/policies/least-connections.js';
import { candidate, picked, request, testScheduler } from '../../helpers.js';

describe('leastConnections', () => {
  it('picks the backend with the fewest active connections', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const x = request([candidate('a', 1, 3), candidate('b', 1, 1), candidate('c', 1, 2)]);
      const y = request([candidate('a', 1, 0), candidate('b', 1, 1), candidate('c', 1, 2)]);
      expectObservable(cold('xy|', { x, y }).pipe(leastConnections(), map(picked))).toBe('ba|', { a: 'a', b: 'b' });
    });
  });

  it('weighs active connections by weight', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // a: 4/4 = 1, b: 2/1 = 2 -> a although it has more connections
      const x = request([candidate('a', 4, 4), candidate('b', 1, 2)]);
      expectObservable(cold('x|', { x }).pipe(leastConnections(), map(picked))).toBe('a|', { a: 'a' });
    });
  });

  it('breaks ties in turn', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const x = request([candidate('a'), candidate('b'), candidate('c')]);
      expectObservable(cold('xxxx|', { x }).pipe(leastConnections(), map(picked))).toBe('abca|', { a: 'a', b: 'b', c: 'c' });
    });
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(leastConnections())).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(leastConnections())).toBe('|');
      expectObservable(cold<RouteRequest>('-#').pipe(leastConnections())).toBe('-#');
      const reqs = hot('-x-x-x', { x: request([candidate('a')]) });
      expectObservable(reqs.pipe(leastConnections(), map(picked)), '^--!').toBe('-a', { a: 'a' });
      expectSubscriptions(reqs.subscriptions).toBe('^--!');
    });
  });
});
