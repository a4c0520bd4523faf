import { Observable, type Subscriber, Subscription, defer, finalize, from, map, mergeMap, tap, toArray } from 'rxjs';

/** The first event of a listener's stream once its socket is bound. */
interface Listening {
  readonly type: 'listening';
  readonly address: string;
}

/**
 * A listening socket that is bound and held open apart from whoever consumes it, so a
 * reload can bind it before committing, and a listener set that keeps it can take it
 * over without closing it.
 */
export interface BoundSocket<E> {
  /** The `listening` event it was bound with. */
  readonly listening: E & Listening;
  /**
   * Everything after `listening` (connections, datagrams, accept errors). What arrives
   * while nobody is subscribed waits, so nothing is lost between binding and commit, or
   * while one listener set hands the socket to the next; one subscriber at a time.
   */
  readonly events$: Observable<E>;
  /** Stops listening: unsubscribes the source, and discards what still waits. */
  close(): void;
}

/**
 * Subscribes to a listener's stream (`listen$` of the io) and emits the socket once it
 * is bound, then completes; errors as the source does if it cannot bind. The source
 * stays subscribed, owned by the BoundSocket, until its `close()`. Unsubscribed before
 * the socket is bound, it gives up and unsubscribes the source.
 *
 * `discard` disposes of an event that waited but will never be consumed (a TCP
 * connection accepted just before a failed reload closes the socket).
 */
export function bindSocket<E extends { readonly type: string }>(source$: Observable<E>, discard: (event: E) => void): Observable<BoundSocket<E>> {
  return new Observable<BoundSocket<E>>((subscriber) => {
    const waiting: E[] = [];
    let sink: Subscriber<E> | undefined;
    let closed = false;
    let handedOver = false;
    // Added to once subscribed; closing it first (synchronously, by the taker) still unsubscribes.
    const source = new Subscription();
    const events$ = new Observable<E>((consumer) => {
      sink = consumer;
      while (waiting.length > 0 && sink === consumer) consumer.next(waiting.shift()!);
      return () => {
        if (sink === consumer) sink = undefined;
      };
    });
    const close = (): void => {
      if (closed) return;
      closed = true;
      source.unsubscribe();
      for (const event of waiting.splice(0)) discard(event);
      sink?.complete();
    };
    source.add(source$.subscribe({
      next: (event) => {
        if (!handedOver) {
          if (event.type !== 'listening') return; // nothing else comes before it
          handedOver = true;
          subscriber.next({ listening: event as E & Listening, events$, close });
          subscriber.complete();
          return;
        }
        if (sink) sink.next(event);
        else waiting.push(event);
      },
      error: (err: unknown) => (handedOver ? sink?.error(err) : subscriber.error(err)),
      complete: () => sink?.complete(),
    }));
    return () => {
      if (!handedOver) source.unsubscribe();
    };
  });
}

/**
 * Binds every socket, all or nothing: emits them (in the order given) once all are
 * bound; if one cannot bind, closes those that did and errors with its error. Also
 * closes them if unsubscribed before all are bound.
 */
export function bindAll<E extends { readonly type: string }>(binds: readonly Observable<BoundSocket<E>>[]): Observable<BoundSocket<E>[]> {
  return defer(() => {
    const bound = new Map<number, BoundSocket<E>>();
    let done = false;
    return from(binds.map((bind$, i) => [bind$, i] as const)).pipe(
      mergeMap(([bind$, i]) => bind$.pipe(tap((socket) => bound.set(i, socket)))),
      toArray(),
      map(() => {
        done = true;
        return binds.map((_, i) => bound.get(i)!);
      }),
      finalize(() => {
        if (!done) for (const socket of bound.values()) socket.close();
      }),
    );
  });
}
