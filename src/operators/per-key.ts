import { type Observable, type OperatorFunction, defer, filter, map, mergeMap, pairwise, share, startWith, takeUntil, takeWhile } from 'rxjs';

/**
 * Runs one inner stream per key of the latest list: a key that appears starts its
 * stream, a key that disappears stops it, a key that stays keeps its stream running
 * untouched. (A `switchMap` would restart every stream on every list.)
 *
 * ```
 * lists:  a----(ab)----b----
 * a:      ^------------!        (project(a) subscribed, then unsubscribed)
 * b:           ^----------------
 * ```
 *
 * 1. Key each list into a map; pair it with the previous one.
 * 2. Start `project(item, latest$)` for every key that is new in the pair.
 * 3. Each inner stream ends at the first later list without its key.
 *
 * `latest$` is how a running stream follows its key's item as the lists change (the
 * same key with new settings): it emits `item`, then the key's item in every later
 * list, and completes at the first list without the key. Subscribe to it at once, as
 * `project` returns: a list that comes before it is subscribed is missed.
 *
 * The source completing starts and stops nothing more: the running inner streams go on
 * until they complete or the result is unsubscribed.
 */
export function perKey<T, R>(keyOf: (item: T) => string, project: (item: T, latest$: Observable<T>) => Observable<R>): OperatorFunction<readonly T[], R> {
  return (source) =>
    defer(() => {
      const maps$ = source.pipe(
        map((items) => new Map(items.map((item) => [keyOf(item), item] as const))),
        share(),
      );
      return maps$.pipe(
        startWith(new Map<string, T>()),
        pairwise(),
        mergeMap(([before, now]) => [...now].filter(([key]) => !before.has(key))),
        mergeMap(([key, item]) => {
          const latest$ = maps$.pipe(
            takeWhile((latest) => latest.has(key)),
            map((latest) => latest.get(key)!),
            startWith(item),
          );
          return project(item, latest$).pipe(takeUntil(maps$.pipe(filter((latest) => !latest.has(key)))));
        }),
      );
    });
}
