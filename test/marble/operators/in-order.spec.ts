import { Subject, observeOn, queueScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { inOrder } from '../../../src/operators/in-order.js';
import { testScheduler } from '../helpers.js';

describe('inOrder', () => {
  it('passes never, empty, values and errors through as they are', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const never = cold('-');
      expectObservable(never.pipe(inOrder())).toBe('-');
      expectObservable(cold('|').pipe(inOrder())).toBe('|');
      const values = cold('a-b-(c|)');
      expectObservable(values.pipe(inOrder())).toBe('a-b-(c|)');
      expectSubscriptions(values.subscriptions).toBe('^---!');
      expectObservable(cold('a-#').pipe(inOrder())).toBe('a-#');
    });
  });

  it('unsubscribes from the source when unsubscribed early', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-');
      expectObservable(source.pipe(inOrder()), '^--!').toBe('-a-');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('delivers a value fed back while another is delivered after it, as observeOn(queueScheduler) does', () => {
    const run = (serialise: typeof inOrder): string[] => {
      const seen: string[] = [];
      const source = new Subject<string>();
      source.pipe(serialise<string>()).subscribe((v) => {
        seen.push(`start ${v}`);
        if (v === 'a') {
          source.next('b'); // fed back from inside the delivery of a
          source.next('c');
        }
        seen.push(`end ${v}`);
      });
      source.next('a');
      source.next('d');
      return seen;
    };
    const expected = ['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d'];
    expect(run(inOrder)).toEqual(expected);
    expect(run(() => observeOn(queueScheduler))).toEqual(expected);
  });

  it('holds an error or completion that arrives during a delivery behind the values queued before it', () => {
    for (const ending of ['error', 'complete'] as const) {
      const seen: string[] = [];
      const source = new Subject<string>();
      source.pipe(inOrder()).subscribe({
        next: (v) => {
          seen.push(v);
          if (v === 'a') {
            source.next('b');
            if (ending === 'error') source.error(new Error('boom'));
            else source.complete();
          }
        },
        error: (err: Error) => seen.push(err.message),
        complete: () => seen.push('done'),
      });
      source.next('a');
      expect(seen).toEqual(['a', 'b', ending === 'error' ? 'boom' : 'done']);
    }
  });
});
