import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../../src/errors.js';
import { MAGLEV_SIZES, type MaglevTable, buildMaglevTable, maglev, maglevTableSize } from '../../../../src/operators/policies/maglev.js';
import type { RouteRequest } from '../../../../src/operators/policies/types.js';
import { candidate, picked, request, testScheduler } from '../../helpers.js';

const A = candidate('10.1.0.1:80', 1, 0, 0);
const B = candidate('10.1.0.2:80', 1, 0, 1);
const C = candidate('10.1.0.3:80', 1, 0, 2);
const all = [A, B, C];
const names = { a: A.address, b: B.address, c: C.address };

/** A request from `ip` with the group `up` in service and `candidates` eligible. */
const from = (ip: string, candidates = all, up = all): RouteRequest => request(candidates, ip, 40000, up);

describe('maglev', () => {
  it('gives each client its own backend, the same every time', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      // Pinned: 192.0.2.1 -> B, .2 -> C, .5 -> A with the default 65,537-slot table.
      const reqs = hot('  --x--y--x--z--y--|', { x: from('192.0.2.1'), y: from('192.0.2.2'), z: from('192.0.2.5') });
      const subs = '      ^----------------!';
      const expected = '  --b--c--b--a--c--|';
      expectObservable(reqs.pipe(maglev(), map(picked))).toBe(expected, names);
      expectSubscriptions(reqs.subscriptions).toBe(subs);
    });
  });

  it("probes the following slots while the client's backend is no candidate, and returns after", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // B full (still up): 192.0.2.1 goes to the next slot's backend, A, every time.
      const reqs = cold(' xXXx|', { x: from('192.0.2.1'), X: from('192.0.2.1', [A, C]) });
      expectObservable(reqs.pipe(maglev(), map(picked))).toBe('baab|', names);
    });
  });

  it('moves only the clients of a backend that leaves the group', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const noB = [A, C];
      const reqs = cold(' xyzXYZ|', {
        x: from('192.0.2.1'),
        y: from('192.0.2.2'),
        z: from('192.0.2.5'),
        X: from('192.0.2.1', noB, noB),
        Y: from('192.0.2.2', noB, noB),
        Z: from('192.0.2.5', noB, noB),
      });
      expectObservable(reqs.pipe(maglev(), map(picked))).toBe('bcacca|', names); // only 192.0.2.1 (on B) moves
    });
  });

  it('rebuilds its table only when the addresses or weights of the up group change', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const built: number[] = [];
      const policy = maglev({ tableSize: 251, onRebuild: (t) => built.push(t.backends.length) });
      const busyA = candidate(A.address, 1, 7, 0);
      const heavyA = candidate(A.address, 3, 0, 0);
      const reqs = cold(' abcdef|', {
        a: from('192.0.2.1'),
        b: from('192.0.2.2', [B, C]), // A full: same up group
        c: from('192.0.2.3', [busyA, B, C], [busyA, B, C]), // new objects, new counts, same group
        d: from('192.0.2.4', [C, B, A], [C, B, A]), // another order, same group
        e: from('192.0.2.5', [heavyA, B, C], [heavyA, B, C]), // a weight changed: rebuild
        f: from('192.0.2.6', [A, C], [A, C]), // B left: rebuild
      });
      expectObservable(reqs.pipe(policy, map(() => built.length))).toBe('uuuuvw|', { u: 1, v: 2, w: 3 });
    });
  });

  it('keeps its table per subscription', () => {
    const built: MaglevTable[] = [];
    const policy = maglev({ tableSize: 7, onRebuild: (t) => built.push(t) });
    testScheduler().run(({ cold, expectObservable }) => {
      const reqs = cold(' x|', { x: from('192.0.2.1') });
      expectObservable(reqs.pipe(policy, map(() => 'v'))).toBe('v|');
      expectObservable(reqs.pipe(policy, map(() => 'v'))).toBe('v|');
    });
    expect(built).toHaveLength(2);
  });

  it('refuses a table size that is not prime', () => {
    expect(() => maglev({ tableSize: 65_536 })).toThrow(PolicyError);
    expect(() => maglev({ tableSize: 1 })).toThrow(/prime/);
    expect(() => maglev({ tableSize: 65_537 })).not.toThrow();
  });

  it('sizes the table at 65,537 up to 655 backends, then the smallest listed prime with 100 slots each', () => {
    expect(maglevTableSize(1)).toBe(65_537);
    expect(maglevTableSize(655)).toBe(65_537);
    expect(maglevTableSize(656)).toBe(131_101);
    expect(maglevTableSize(5_000)).toBe(524_309);
    expect(maglevTableSize(10_000_000)).toBe(MAGLEV_SIZES[MAGLEV_SIZES.length - 1]);
  });

  it('fills the table in proportion to the weights, whatever their config order', () => {
    const count = (t: MaglevTable, address: string) => t.entries.filter((i) => t.backends[i]?.address === address).length;
    const group = [candidate('x:1', 1), candidate('y:1', 2), candidate('z:1', 5)];
    const table = buildMaglevTable(group, 65_537);
    expect(table.entries.includes(-1)).toBe(false);
    expect(count(table, 'x:1') / 65_537).toBeCloseTo(1 / 8, 3);
    expect(count(table, 'y:1') / 65_537).toBeCloseTo(2 / 8, 3);
    expect(count(table, 'z:1') / 65_537).toBeCloseTo(5 / 8, 3);
    expect(buildMaglevTable([...group].reverse(), 65_537).entries).toEqual(table.entries);
  });

  it('errors when the key callback or onRebuild throws', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('boom');
      const throwing = (): never => {
        throw boom;
      };
      const reqs = cold(' -x|', { x: from('192.0.2.1') });
      expectObservable(reqs.pipe(maglev({ key: throwing }))).toBe('-#', undefined, boom);
      expectObservable(reqs.pipe(maglev({ tableSize: 7, onRebuild: throwing }))).toBe('-#', undefined, boom);
    });
  });

  it('mirrors never, empty and error, and lets go on early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<RouteRequest>('-').pipe(maglev())).toBe('-');
      expectObservable(cold<RouteRequest>('|').pipe(maglev())).toBe('|');
      expectObservable(cold<RouteRequest>('--#').pipe(maglev())).toBe('--#');
      const reqs = hot('-x-x-x', { x: from('192.0.2.1') });
      expectObservable(reqs.pipe(maglev(), map(picked)), '^--!').toBe('-b', names);
      expectSubscriptions(reqs.subscriptions).toBe('^--!');
    });
  });
});
