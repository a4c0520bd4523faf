import {
  EMPTY,
  type Observable,
  catchError,
  concat,
  defer,
  finalize,
  map,
  mergeMap,
  NEVER,
  of,
  race,
  retry,
  take,
  takeUntil,
  takeWhile,
  throwError,
  timeout,
} from 'rxjs';
import { LimitError, NoBackendError, UpstreamConnectError } from '../errors.js';
import type { CloseReason, ConnClosed, ConnEvent } from './events.js';
import { eligible } from './eligible.js';
import type { Accepted, ConnectionIo } from './ports.js';
import type { Route } from './router.js';
import type { BalancerState, BackendState } from './state.js';
import { formatClient } from './format.js';

/** What one connection needs from the rest of the graph. */
export interface ConnectionContext<C, U> {
  readonly io: ConnectionIo<C, U>;
  /** The latest backend state, read at each decision. */
  readonly state: () => BalancerState;
  /** The pool's policy; undefined if the pool is gone. */
  readonly route: (pool: string) => Route | undefined;
  /** Fires when open connections must end (the shutdown grace period ran out). */
  readonly kill$: Observable<unknown>;
  readonly now: () => number;
}

type Step<U> = ConnEvent | { readonly type: 'upstream'; readonly socket: U };

/**
 * One accepted client connection, from accept to close, as an observable of its
 * lifecycle events: `conn-opened`, then per attempt `conn-attempt` and `conn-failed` or
 * `conn-connected`, and always exactly one `conn-closed` last, then complete.
 *
 * ```
 * connect$:  ---u                       (the first backend answers after 3 frames)
 * splice$:       ------e|               (the copy ends by itself)
 * events:    (oa)u-----c|               o opened, a attempt, u connected, c closed
 * ```
 *
 * 1. Refuse with `limit` when the listener or the process is at `max_connections`.
 * 2. Ask the pool's policy for a backend among the eligible ones; connect within
 *    `connect_timeout`. A connect failure is retried on a backend not yet tried, up to
 *    `retries` times; after that, or with no backend left, `on_no_backend` answers.
 * 3. Once connected, copy bytes both ways until both sides are done, `idle_timeout`
 *    passes with no byte, or `kill$` fires.
 * 4. The client socket, adopted from the listener, is released when this completes or
 *    is unsubscribed; the upstream socket is destroyed by the `connect$` that made it.
 */
export function connection$<C, U>(accepted: Accepted<C>, ctx: ConnectionContext<C, U>): Observable<ConnEvent> {
  return defer(() => {
    const { listener, socket } = accepted;
    const { io } = ctx;
    const base = { listener: listener.name, pool: listener.pool, client: formatClient(accepted.client) };
    const started = ctx.now();
    const tried = new Set<string>();
    let backend: string | undefined; // the backend this connection holds a slot on
    let upstream: U | undefined;
    let lastFailure: UpstreamConnectError | undefined;
    let attempt = 0;
    let closed = false;

    const close = (reason: CloseReason): ConnClosed => {
      closed = true;
      const bytes = io.transferred(socket, upstream);
      return { type: 'conn-closed', ...base, backend, bytesUp: bytes.up, bytesDown: bytes.down, durationMs: ctx.now() - started, reason };
    };

    const opened: ConnEvent = { type: 'conn-opened', ...base };
    const state = ctx.state();
    const pool = state.pools[listener.pool];
    if (!pool || atLimit(state, listener.name)) {
      return concat(of(opened), defer(() => of(close(pool ? 'limit' : 'no_backend')))).pipe(finalize(() => io.release(socket)));
    }
    const { connectTimeoutMs, idleTimeoutMs, retries, onNoBackend } = pool.config;

    // One attempt: pick among the eligible backends not yet tried, then connect.
    const attempt$ = defer((): Observable<Step<U>> => {
      const current = ctx.state().pools[listener.pool];
      const route = ctx.route(listener.pool);
      const choice = current ? eligible(current.backends, tried) : ({ ok: false, reason: 'no_backend' } as const);
      if (!choice.ok || !route) {
        // Every backend was tried and failed: that is a connect failure, not an empty pool.
        if (lastFailure && tried.size > 0 && choice.ok === false && choice.reason === 'no_backend') return throwError(() => lastFailure);
        return throwError(() =>
          choice.ok || choice.reason === 'no_backend' ? new NoBackendError(listener.pool) : new LimitError(`pool ${listener.pool}: every backend is full`),
        );
      }
      const request = { pool: listener.pool, client: accepted.client, candidates: choice.candidates, up: choice.up };
      return route(request).pipe(
        mergeMap((picked) => {
          const target = picked as BackendState | undefined; // the router checked it is one of the candidates
          if (!target) return throwError(() => new NoBackendError(listener.pool));
          attempt += 1;
          backend = target.address;
          tried.add(target.address);
          const tag = { ...base, backend: target.address, attempt };
          return concat(
            of<Step<U>>({ type: 'conn-attempt', ...tag }),
            io.connect$(target).pipe(
              timeout({ first: connectTimeoutMs, with: () => throwError(() => new UpstreamConnectError(target.address, 'timeout')) }),
              map((socket): Step<U> => {
                upstream = socket;
                return { type: 'upstream', socket };
              }),
              catchError((err: unknown) => {
                backend = undefined;
                if (err instanceof UpstreamConnectError) lastFailure = err;
                const reason = err instanceof UpstreamConnectError ? err.reason : 'error';
                return concat(of<Step<U>>({ type: 'conn-failed', ...tag, reason }), throwError(() => err));
              }),
            ),
          );
        }),
      );
    }).pipe(
      // Only connect failures move on to another backend; nothing has been forwarded yet.
      retry({ count: retries, delay: (err: unknown) => (err instanceof UpstreamConnectError ? of(0) : throwError(() => err)) }),
    );

    const transfer$ = (up: U): Observable<ConnClosed> =>
      race(
        io.splice$(socket, up).pipe(map((end) => end.reason)),
        (idleTimeoutMs > 0 ? io.idle$(socket, idleTimeoutMs) : NEVER).pipe(map((): CloseReason => 'idle_timeout')),
      ).pipe(
        take(1),
        map((reason) => close(reason)),
      );

    const flow$ = attempt$.pipe(
      mergeMap((step): Observable<ConnEvent> => {
        if (step.type !== 'upstream') return of(step);
        return concat(of<ConnEvent>({ type: 'conn-connected', ...base, backend: backend ?? '', attempt }), transfer$(step.socket));
      }),
      takeWhile((event) => event.type !== 'conn-closed', true),
      catchError((err: unknown) => {
        if (upstream !== undefined) return of(close('error')); // broke after connecting: no 503 mid-stream
        const reason = refusalReason(err);
        io.refuse(socket, onNoBackend);
        return of(close(reason));
      }),
    );

    return concat(
      of(opened),
      flow$.pipe(takeUntil(ctx.kill$)),
      defer(() => (closed ? EMPTY : of(close('shutdown')))),
    ).pipe(finalize(() => io.release(socket)));
  });
}

function atLimit(state: BalancerState, listener: string): boolean {
  const own = state.listeners[listener];
  const globalMax = state.config?.global.maxConnections ?? 0;
  if (globalMax > 0 && state.active >= globalMax) return true;
  return own !== undefined && own.config.maxConnections > 0 && own.active >= own.config.maxConnections;
}

function refusalReason(err: unknown): CloseReason {
  if (err instanceof UpstreamConnectError) return 'connect_failed';
  if (err instanceof NoBackendError) return 'no_backend';
  if (err instanceof LimitError) return 'limit';
  return 'error'; // a failing policy, or a bug: the client is still answered
}
