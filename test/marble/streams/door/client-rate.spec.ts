import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { clientRate } from '../../../../src/streams/door/client-rate.js';
import { rateState } from '../../../../src/streams/door/rate.js';
import { testScheduler } from '../../helpers.js';
import { from, outcome, type TestArrival } from './arrivals.js';

describe('clientRate', () => {
  it('holds each client to its token bucket, refilled in virtual time', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      // 1 connection per 10 ms: a burst of 1, then one every 10 ms
      const state = rateState({ count: 1, perMs: 10 });
      const arrivals = hot('a-a-b-----a-a-------a-|', { a: from('10.0.0.1'), b: from('10.0.0.2') });
      // a refused attempt costs nothing: the bucket refills from 10 and is whole again at 20
      expectObservable(arrivals.pipe(clientRate(state, () => rx.now()), map(outcome))).toBe('w-r-w-----w-r-------w-|', { w: 'web', r: 'rate_limit' });
    });
  });

  it('lets a burst of `count` through at once, then one per perMs / count', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const state = rateState({ count: 3, perMs: 30 });
      const a = from('10.0.0.1');
      const arrivals = hot('(aaaa) 5ms a 3ms a 9ms a', { a });
      // frame 0: 3 of 4; frame 11: 11 ms made 1.1 connections; frame 15: 0.5 of one; frame 25: 1.5
      expectObservable(arrivals.pipe(clientRate(state, () => rx.now()), map(outcome))).toBe('(wwwr) 5ms w 3ms r 9ms w', { w: 'web', r: 'rate_limit' });
    });
  });

  it('files an IPv4-mapped address under its IPv4 one, so one client is one bucket', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const state = rateState({ count: 1, perMs: 1000 });
      const arrivals = cold('ab|', { a: from('10.0.0.1'), b: from('::ffff:10.0.0.1') });
      expectObservable(arrivals.pipe(clientRate(state, () => rx.now()), map(outcome))).toBe('wr|', { w: 'web', r: 'rate_limit' });
    });
  });

  it('counts the client behind a PROXY header, not the balancer in front', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const state = rateState({ count: 1, perMs: 1000 });
      const behind = (client: string) => ({ ...from('10.0.0.100'), client: { address: client, port: 1 } });
      expectObservable(cold('abc|', { a: behind('192.0.2.1'), b: behind('192.0.2.2'), c: behind('192.0.2.1') }).pipe(clientRate(state, () => rx.now()), map(outcome))).toBe('wwr|', {
        w: 'web',
        r: 'rate_limit',
      });
    });
  });

  it('spends no token on an arrival refused before, and passes it untouched', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const state = rateState({ count: 1, perMs: 1000 });
      const denied = { ...from('10.0.0.1'), refused: 'denied' as const };
      expectObservable(cold('da|', { d: denied, a: from('10.0.0.1') }).pipe(clientRate(state, () => rx.now()), map(outcome))).toBe('dw|', { d: 'denied', w: 'web' });
    });
  });

  it('passes on never, empty, an error, an early unsubscribe, and a clock that throws as an error', () => {
    const rx = testScheduler();
    const state = rateState({ count: 1, perMs: 1000 });
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<TestArrival>('-').pipe(clientRate(state, () => rx.now()))).toBe('-');
      expectObservable(cold<TestArrival>('|').pipe(clientRate(state, () => rx.now()))).toBe('|');
      expectObservable(cold<TestArrival>('#').pipe(clientRate(state, () => rx.now()))).toBe('#');
      const arrivals = hot('-a-b-c-', { a: from('10.0.1.1'), b: from('10.0.1.2'), c: from('10.0.1.3') });
      expectObservable(arrivals.pipe(clientRate(state, () => rx.now()), map(outcome)), '^--!').toBe('-w-', { w: 'web' });
      expectSubscriptions(arrivals.subscriptions).toBe('^--!');
      const clock = (): number => {
        throw new Error('no clock');
      };
      expectObservable(cold('a', { a: from('10.0.0.9') }).pipe(clientRate(state, clock))).toBe('#', undefined, new Error('no clock'));
    });
    // after the early unsubscribe, b and c took no token
    expect([...state.buckets.keys()]).toEqual(['10.0.1.1']);
  });
});
