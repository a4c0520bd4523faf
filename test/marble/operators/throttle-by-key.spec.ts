import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { throttleByKey } from '../../../src/operators/throttle-by-key.js';
import { testScheduler } from '../helpers.js';

/** `a1` is value a standing for one; `a3` for three. */
const shown = map(({ value, count }: { value: string; count: number }) => `${value}${count}`);

describe('throttleByKey', () => {
  it('passes the first of a key at once, then the last of each window with its count', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('  a-a-a-b-----a------------a-|');
      const subs = '        ^--------------------------!';
      // a's window 0-6 counted two more (x); a at 12 passes as the window 6-12 ends empty
      const expected = '    a-----(bx)--y------------z-|';
      expectObservable(source.pipe(throttleByKey((v) => v, 6), shown)).toBe(expected, { a: 'a1', b: 'b1', x: 'a2', y: 'a1', z: 'a1' });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('keeps keys apart', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const source = hot('ab-ab-|');
      expectObservable(source.pipe(throttleByKey((v) => v, 10), shown)).toBe('ab----(xy|)', { a: 'a1', b: 'b1', x: 'a1', y: 'b1' });
    });
  });

  it('emits what is still counted when the source completes, and stops its timers', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const source = hot('a-a-a|');
      expectObservable(source.pipe(throttleByKey((v) => v, 100), shown)).toBe('a----(x|)', { a: 'a1', x: 'a2' });
    });
    // no window outlived the completion: the clock stopped at the completion
    expect(rx.frame).toBe(5);
  });

  it('passes an error on, and stops its timers', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const source = hot('a-a-#');
      expectObservable(source.pipe(throttleByKey((v) => v, 100), shown)).toBe('a---#', { a: 'a1' });
    });
    expect(rx.frame).toBe(4);
  });

  it('never emits for a source that never emits, and stops its windows when unsubscribed early', () => {
    const rx = testScheduler();
    rx.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('-').pipe(throttleByKey((v: string) => v, 5), shown)).toBe('-');
      const source = hot('a-a---');
      expectObservable(source.pipe(throttleByKey((v) => v, 10), shown), '^--!').toBe('a--', { a: 'a1' });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    // the window due at 10 was torn down with the subscription
    expect(rx.frame).toBeLessThan(10);
  });

  it('errors when the key function throws', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const source = hot('a-b', { a: 'a', b: 'b' });
      const keyOf = (v: string): string => {
        if (v === 'b') throw new Error('no key');
        return v;
      };
      expectObservable(source.pipe(throttleByKey(keyOf, 10), shown)).toBe('a-#', { a: 'a1' }, new Error('no key'));
    });
  });
});
