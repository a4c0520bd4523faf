import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Candidate, RouteRequest, Routed } from 'rxlb';
import { first, roundRobin } from 'rxlb';
import cidrPolicy, { cidrSplit, evenIndex } from './cidr-policy.js';

// The example's test, written as a user would: marbles with rxjs's TestScheduler and
// the types from 'rxlb'. (`npm run build` first: 'rxlb' resolves to dist/.)

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const backend = (address: string, index: number, active = 0): Candidate => ({ address, weight: 1, active, index });
const A = backend('a', 0);
const B = backend('b', 1);
const C = backend('c', 2);
const all = [A, B, C];
const from = (ip: string, candidates: readonly Candidate[] = all): RouteRequest => ({ pool: 'web', client: { address: ip, port: 40000 }, candidates, up: all });
const picked = (r: Routed) => r.backend?.address ?? '-';
const names = { a: 'a', b: 'b', c: 'c' };

describe('cidr-policy.js (the default export: 127.0.0.2/31 pinned to the even backends)', () => {
  it('sends clients from the network to the even-indexed backends, the others by least connections over all', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const reqs = hot('  --i--o--i--o--o--|', { i: from('127.0.0.2'), o: from('127.0.0.1') });
      const subs = '      ^----------------!';
      const expected = '  --a--a--c--b--c--|';
      expectObservable(reqs.pipe(cidrPolicy, map(picked))).toBe(expected, names);
      expectSubscriptions(reqs.subscriptions).toBe(subs);
    });
  });

  it('keeps clients from the network off the odd backends, whatever their load', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const busy = [backend('a', 0, 5), B, backend('c', 2, 9)];
      const reqs = cold(' xyz|', { x: from('127.0.0.3', busy), y: from('::ffff:127.0.0.2', busy), z: from('127.0.0.1', busy) });
      expectObservable(reqs.pipe(cidrPolicy, map(picked))).toBe('aab|', names);
    });
  });

  it('answers with the request it was asked about, in order', () => {
    const [x, y, z] = [from('127.0.0.2'), from('127.0.0.1'), from('127.0.0.3')];
    const asked = [x, y, z];
    const answers: Routed[] = [];
    testScheduler().run(({ cold }) => {
      cold('xyz|', { x, y, z })
        .pipe(cidrPolicy)
        .subscribe((r) => answers.push(r));
    });
    expect(answers.map((r) => r.request)).toEqual(asked);
    answers.forEach((r, i) => expect(r.request).toBe(asked[i]));
  });

  it('lets clients from the network use any backend when no even one can take them', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold(' x|', { x: from('127.0.0.2', [B]) }).pipe(cidrPolicy, map(picked))).toBe('b|', names);
    });
  });
});

describe('cidrSplit', () => {
  it('composes with any policies of the library, and any notion of pinned', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const policy = cidrSplit({ cidr: ['10.0.0.0/8', '2001:db8::/32'], pinned: (b) => b.address === 'c', inside: first(), outside: roundRobin() });
      const reqs = cold(' abcde|', { a: from('10.1.2.3'), b: from('192.0.2.1'), c: from('2001:db8::1'), d: from('192.0.2.1'), e: from('2001:db9::1') });
      expectObservable(reqs.pipe(policy, map(picked))).toBe('cacbc|', names);
    });
  });

  it('picks the even configured indexes by default', () => {
    expect(all.filter(evenIndex)).toEqual([A, C]);
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(cidrPolicy)).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(cidrPolicy)).toBe('|');
      expectObservable(cold<RouteRequest>('--#').pipe(cidrPolicy)).toBe('--#');
      const reqs = hot('-i-o-i', { i: from('127.0.0.2'), o: from('127.0.0.1') });
      expectObservable(reqs.pipe(cidrPolicy, map(picked)), '^--!').toBe('-a', names);
      expectSubscriptions(reqs.subscriptions).toBe('^--!');
    });
  });

  it('errors when the pinned callback throws', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('boom');
      const policy = cidrSplit({
        cidr: '127.0.0.0/8',
        pinned: () => {
          throw boom;
        },
      });
      expectObservable(cold(' -x|', { x: from('127.0.0.1') }).pipe(policy)).toBe('-#', undefined, boom);
    });
  });
});
