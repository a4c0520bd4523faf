import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Arrival } from '../../../../src/streams/door/arrival.js';
import { clientCount } from '../../../../src/streams/door/client-count.js';
import type { ClientCounts } from '../../../../src/streams/door/client-counts.js';
import type { FakeSocket } from '../../fixtures.js';
import { testScheduler } from '../../helpers.js';
import { from, outcome, type TestArrival } from './arrivals.js';

describe('clientCount', () => {
  it('refuses `limit` past max open connections per client, and takes one more once one leaves', () => {
    const counts: ClientCounts = new Map();
    const passed: Arrival<FakeSocket>[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const arrivals = hot('a-a-b-a---a-a-|', { a: from('10.0.0.1'), b: from('10.0.0.2') });
      const leaves = hot(' ---------l-----', { l: 0 });
      leaves.subscribe((i) => passed[i]?.leave?.()); // the first connection of a ends at frame 9
      const counted = arrivals.pipe(
        clientCount(counts, 2),
        map((arrival) => {
          passed.push(arrival);
          return outcome(arrival);
        }),
      );
      expectObservable(counted).toBe('w-w-w-l---w-l-|', { w: 'web', l: 'limit' });
    });
    expect(counts).toEqual(new Map([['10.0.0.1', 2], ['10.0.0.2', 1]]));
    // a refused one holds nothing: its leave gives nothing back
    expect(passed[3]?.refused).toBe('limit');
    expect(passed[3]?.leave).toBeUndefined();
    for (const arrival of passed) arrival.leave?.();
    expect(counts).toEqual(new Map());
  });

  it('gives a count back once, however often leave is called, and calls the leave of a stage before', () => {
    const counts: ClientCounts = new Map();
    let before = 0;
    const passed: Arrival<FakeSocket>[] = [];
    testScheduler().run(({ cold }) => {
      const arrival = { ...from('10.0.0.1'), leave: () => (before += 1) };
      cold('aa|', { a: arrival }).pipe(clientCount(counts, 0)).subscribe((a) => passed.push(a));
    });
    expect(counts.get('10.0.0.1')).toBe(2); // 0 = unlimited, still counted
    passed[0]?.leave?.();
    passed[0]?.leave?.();
    expect(counts.get('10.0.0.1')).toBe(1);
    expect(before).toBe(1);
    passed[1]?.leave?.();
    expect(counts.size).toBe(0);
    expect(before).toBe(2);
  });

  it('counts an IPv4-mapped client as its IPv4 address, and the client behind a PROXY header', () => {
    const counts: ClientCounts = new Map();
    testScheduler().run(({ cold, expectObservable }) => {
      const behind = { ...from('10.0.0.100'), client: { address: '::ffff:192.0.2.1', port: 1 } };
      expectObservable(cold('ab|', { a: from('192.0.2.1'), b: behind }).pipe(clientCount(counts, 1), map(outcome))).toBe('wl|', { w: 'web', l: 'limit' });
    });
    expect(counts).toEqual(new Map([['192.0.2.1', 1]]));
  });

  it('counts nothing for an arrival refused before, and passes it untouched', () => {
    const counts: ClientCounts = new Map();
    const refused = { ...from('10.0.0.1'), refused: 'rate_limit' as const };
    const passed: unknown[] = [];
    testScheduler().run(({ cold }) => {
      cold('a|', { a: refused }).pipe(clientCount(counts, 1)).subscribe((a) => passed.push(a));
    });
    expect(passed[0]).toBe(refused);
    expect(counts.size).toBe(0);
  });

  it('passes on never, empty, an error, and an early unsubscribe counts nothing after it', () => {
    const counts: ClientCounts = new Map();
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<TestArrival>('-').pipe(clientCount(counts, 1))).toBe('-');
      expectObservable(cold<TestArrival>('|').pipe(clientCount(counts, 1))).toBe('|');
      expectObservable(cold<TestArrival>('#').pipe(clientCount(counts, 1))).toBe('#');
      const arrivals = hot('-a-b-', { a: from('10.0.0.1'), b: from('10.0.0.2') });
      expectObservable(arrivals.pipe(clientCount(counts, 1), map(outcome)), '^-!').toBe('-w-', { w: 'web' });
      expectSubscriptions(arrivals.subscriptions).toBe('^-!');
    });
    expect(counts).toEqual(new Map([['10.0.0.1', 1]]));
  });
});
