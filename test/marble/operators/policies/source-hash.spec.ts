import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { pickRendezvous, sourceHash } from '../../../../src/operators/policies/source-hash.js';
import type { RouteRequest } from '../../../../src/operators/policies/types.js';
import { candidate, picked, request, testScheduler } from '../../helpers.js';

const A = candidate('10.1.0.1:80', 1, 0, 0);
const B = candidate('10.1.0.2:80', 1, 0, 1);
const C = candidate('10.1.0.3:80', 1, 0, 2);
const all = [A, B, C];
const names = { a: A.address, b: B.address, c: C.address, '-': '-' };

/** A request from `ip` (any port) with the whole group up and `candidates` eligible. */
const from = (ip: string, candidates = all, port = 40000): RouteRequest => request(candidates, ip, port, all);

describe('sourceHash', () => {
  it('gives each client its own backend, the same every time', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      // These three clients hash to B, C and A: pinned here, so an upgrade that
      // changed the hash (and so every client's backend) would not go unnoticed.
      const reqs = hot('  --x--y--x--z--y--|', { x: from('192.0.2.1'), y: from('192.0.2.3'), z: from('192.0.2.5') });
      const subs = '      ^----------------!';
      const expected = '  --b--c--b--a--c--|';
      expectObservable(reqs.pipe(sourceHash(), map(picked))).toBe(expected, names);
      expectSubscriptions(reqs.subscriptions).toBe(subs);
    });
  });

  it('hashes the IP only: a new port (a new connection) keeps the backend, as does an IPv4-mapped address', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const reqs = cold(' xyz|', { x: from('192.0.2.1', all, 40000), y: from('192.0.2.1', all, 51234), z: from('::ffff:192.0.2.1', all, 6) });
      expectObservable(reqs.pipe(sourceHash(), map(picked))).toBe('bbb|', names);
    });
  });

  it("falls back to the client's next choice while its backend is no candidate, and returns after", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // 192.0.2.1 prefers B then C; 192.0.2.3 prefers C then A; B full, then C tried.
      const reqs = cold(' xXyYx|', { x: from('192.0.2.1'), X: from('192.0.2.1', [A, C]), y: from('192.0.2.3'), Y: from('192.0.2.3', [A, B]) });
      expectObservable(reqs.pipe(sourceHash(), map(picked))).toBe('bccab|', names);
    });
  });

  it('keeps a client whose backend stays when another backend leaves the group', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const withoutA = request([B, C], '192.0.2.1', 40000, [B, C]);
      const reqs = cold(' xw|', { x: from('192.0.2.1'), w: withoutA });
      expectObservable(reqs.pipe(sourceHash(), map(picked))).toBe('bb|', names);
    });
  });

  it('honours weights: a heavy backend wins for most clients', () => {
    const heavy = [candidate('h:1', 9), candidate('l:1', 1)];
    let wins = 0;
    for (let i = 0; i < 10_000; i += 1) if (pickRendezvous(heavy, i * 2654435761) === heavy[0]) wins += 1;
    expect(wins / 10_000).toBeCloseTo(0.9, 1);
  });

  it('hashes what a custom key returns', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // by /24 network: the three clients above share one, so they share a backend
      const byNetwork = sourceHash({ key: (r) => r.client.address.split('.').slice(0, 3).join('.') });
      const reqs = cold(' xyz|', { x: from('192.0.2.1'), y: from('192.0.2.3'), z: from('192.0.2.5') });
      expectObservable(reqs.pipe(byNetwork, map(picked))).toBe('ccc|', names);
    });
  });

  it('errors when the key callback throws, at the request that threw', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('no key');
      const key = (r: RouteRequest): string => {
        if (r.client.port === 1) throw boom;
        return r.client.address;
      };
      const reqs = cold(' -xy-x|', { x: from('192.0.2.1'), y: from('192.0.2.1', all, 1) });
      expectObservable(reqs.pipe(sourceHash({ key }), map(picked))).toBe('-b#', names, boom);
    });
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(sourceHash())).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(sourceHash())).toBe('|');
      expectObservable(cold<RouteRequest>('--#').pipe(sourceHash())).toBe('--#');
      const reqs = hot('-x-x-x', { x: from('192.0.2.1') });
      expectObservable(reqs.pipe(sourceHash(), map(picked)), '^--!').toBe('-b', names);
      expectSubscriptions(reqs.subscriptions).toBe('^--!');
    });
  });
});

