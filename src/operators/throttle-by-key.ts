import { Observable, type OperatorFunction, type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';

/** A value that stands for `count` values of its key: itself and those it was throttled with. */
export interface Counted<T> {
  readonly value: T;
  readonly count: number;
}

/**
 * Passes the first value of each key at once, then at most one per key and window: the
 * last value of the window, counting every one it stands for. A key with nothing in a
 * window goes quiet, and its next value passes at once again. What a log needs from a
 * flood of one complaint: the first at once, then one line a minute with a count.
 *
 * ```
 * source:  a-a-a-b-----a------------a-      (windowMs = 6 frames)
 * result:  a-----b-----(a)------(a)-a-      a(1), b(1), a(count 3), a(count 1), a(1)
 * ```
 *
 * 1. A value whose key has no window open is emitted with count 1, and opens a window.
 * 2. Within the window, values of that key are counted, and the last one kept.
 * 3. When the window ends, the last one is emitted with its count and a new window
 *    opens; a window with nothing in it closes the key.
 * 4. When the source completes, every count still open is emitted, then completion.
 */
export function throttleByKey<T>(keyOf: (value: T) => string, windowMs: number, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, Counted<T>> {
  return (source) =>
    new Observable<Counted<T>>((subscriber) => {
      const open = new Map<string, { last: T | undefined; count: number; timer: Subscription }>();
      const openWindow = (key: string): void => {
        const timer = scheduler.schedule(() => {
          const window = open.get(key);
          if (window === undefined) return;
          if (window.count === 0) {
            open.delete(key);
            return;
          }
          const counted = { value: window.last as T, count: window.count };
          open.delete(key);
          openWindow(key);
          subscriber.next(counted);
        }, windowMs);
        open.set(key, { last: undefined, count: 0, timer });
      };
      const subscription = source.subscribe({
        next: (value) => {
          let key: string;
          try {
            key = keyOf(value);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          const window = open.get(key);
          if (window !== undefined) {
            window.last = value;
            window.count += 1;
            return;
          }
          openWindow(key);
          subscriber.next({ value, count: 1 });
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          const rest = [...open.values()];
          open.clear();
          for (const window of rest) {
            window.timer.unsubscribe();
            if (window.count > 0) subscriber.next({ value: window.last as T, count: window.count });
          }
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        for (const window of open.values()) window.timer.unsubscribe();
        open.clear();
      };
    });
}
