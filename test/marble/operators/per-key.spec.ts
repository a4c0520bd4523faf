import { type Observable, finalize, map, mergeAll, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { perKey } from '../../../src/operators/per-key.js';
import { testScheduler } from '../helpers.js';

const lists = { a: ['a'], b: ['a', 'b'], c: ['b'], e: [] as string[] };

describe('perKey', () => {
  it('starts a stream per new key, stops it when the key goes, keeps it while the key stays', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('  a----b----c-----', lists);
      const inner = { a: cold('--x--x--x--x--x--x'), b: cold('-y') };
      const result = source.pipe(perKey((k) => k, (k) => inner[k as keyof typeof inner] as Observable<string>));
      expectObservable(result, '^ 15ms !').toBe('--x--xy-x', { x: 'x', y: 'y' });
      expectSubscriptions(inner.a.subscriptions).toBe('^---------!');
      expectSubscriptions(inner.b.subscriptions).toBe('5ms ^ 10ms !');
    });
  });

  it("hands each stream its key's item from every list, until a list drops the key", () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const v = { a: [{ k: 'a', v: 1 }], b: [{ k: 'a', v: 2 }, { k: 'b', v: 1 }], c: [{ k: 'b', v: 2 }], d: [{ k: 'a', v: 3 }] };
      const source = hot<readonly { k: string; v: number }[]>('a-----b-----c-----d', v);
      // latest$ read outside the inner stream (as a UDP listener reads its settings): it completes by itself at the list without its key
      const ended: string[] = [];
      const result = source.pipe(
        perKey((item) => item.k, (first, latest$) => of(latest$.pipe(finalize(() => ended.push(`${first.k}@${rx.now()}`))))),
        mergeAll(),
        map((item) => `${item.k}${item.v}`),
      );
      // b starts before a hears of the list that brought it; a comes back as new at d
      expectObservable(result).toBe('x-----(zy)--w-----u', { x: 'a1', y: 'a2', z: 'b1', w: 'b2', u: 'a3' });
      rx.flush();
      expect(ended).toEqual(['a@12', 'b@18']);
    });
  });

  it('emits nothing for a source that never emits', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      expectObservable(cold<string[]>('-').pipe(perKey((k) => k, () => cold('x')))).toBe('-');
    });
  });

  it('completes with an empty source, and once every inner stream completed after the source did', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      expectObservable(cold<string[]>('|').pipe(perKey((k) => k, () => cold('x')))).toBe('|');
      expectObservable(cold('a|', lists).pipe(perKey((k) => k, () => cold('--x|')))).toBe('--x|');
    });
  });

  it('keeps inner streams running after the source completes', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('-x-x-x-x');
      expectObservable(cold('a|', lists).pipe(perKey((k) => k, () => inner)), '^ 5ms !').toBe('-x-x-x');
      expectSubscriptions(inner.subscriptions).toBe('^ 5ms !');
    });
  });

  it('stops a stream when its key goes, even from an empty list', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const inner = cold('-x-x-x-x');
      expectObservable(hot('a---e', lists).pipe(perKey((k) => k, () => inner)), '^ 9ms !').toBe('-x-x');
      expectSubscriptions(inner.subscriptions).toBe('^---!');
    });
  });

  it('passes on an error of the source or of an inner stream, unsubscribing the rest', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const inner = cold('-x-x-x-x');
      expectObservable(hot('a--#', lists).pipe(perKey((k) => k, () => inner))).toBe('-x-#', { x: 'x' });
      expectSubscriptions(inner.subscriptions).toBe('^--!');
      const other = cold('-x-x-x');
      expectObservable(hot('b', lists).pipe(perKey((k) => k, (k) => (k === 'a' ? other : cold('--#'))))).toBe('-x#', { x: 'x' });
      expectSubscriptions(other.subscriptions).toBe('^-!');
    });
  });

  it('errors when keyOf or project throws', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const boom = new Error('boom');
      const throwing = (): string => {
        throw boom;
      };
      expectObservable(cold('-a', lists).pipe(perKey(throwing, () => cold('x')))).toBe('-#', undefined, boom);
      expectObservable(
        cold('-a', lists).pipe(
          perKey(
            (k) => k,
            (): Observable<string> => {
              throw boom;
            },
          ),
        ),
      ).toBe('-#', undefined, boom);
    });
  });
});
