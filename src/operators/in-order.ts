import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Delivers notifications one at a time, in the order they arrived: one that arrives
 * while the previous one is still being delivered (a subscriber that feeds the source
 * again, synchronously) waits until that delivery returns. What
 * `observeOn(queueScheduler)` does for a stream that feeds back into itself, with the
 * queue kept per subscription and nothing scheduled: no action object, no finalizer
 * added and removed, per value.
 *
 * ```
 * source:   a(b)-c---       (b arrives while a is delivered: its subscriber emitted b)
 * result:   a b--c---       (b after a returned, still at the same moment)
 * ```
 *
 * 1. Not delivering: deliver at once.
 * 2. Delivering: queue it; the delivery under way drains the queue before returning.
 * 3. An error or completion waits behind the values queued before it.
 */
export function inOrder<T>(): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const queue: T[] = [];
      let delivering = false;
      let end: (() => void) | undefined; // the error or completion, once it arrives
      // Delivers `value`, then whatever arrived meanwhile. The queue is only touched when
      // something did arrive meanwhile: most values pass straight through.
      const deliver = (value: T): void => {
        delivering = true;
        try {
          subscriber.next(value);
          for (let i = 0; i < queue.length; i++) subscriber.next(queue[i] as T);
        } finally {
          if (queue.length > 0) queue.length = 0;
          delivering = false;
        }
        end?.();
      };
      return source.subscribe({
        next: (value) => {
          if (delivering) queue.push(value);
          else deliver(value);
        },
        error: (err: unknown) => {
          end = () => subscriber.error(err);
          if (!delivering) end();
        },
        complete: () => {
          end = () => subscriber.complete();
          if (!delivering) end();
        },
      });
    });
}
