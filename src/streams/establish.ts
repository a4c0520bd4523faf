import { type Observable, catchError, concat, defer, map, mergeMap, of, retry, throwError, timeout } from 'rxjs';
import type { PoolConfig } from '../config/types.js';
import { LimitError, NoBackendError, UpstreamConnectError } from '../errors.js';
import type { ClientAddress } from '../operators/types.js';
import { eligible } from './eligible.js';
import type { ConnAttempt, ConnFailed } from './events.js';
import type { ConnectionIo } from './ports.js';
import type { Route } from './router.js';
import type { BackendState, BalancerState } from './state.js';

/** The upstream is connected; the socket now belongs to whoever receives this. */
export interface Established<U> {
  readonly type: 'established';
  readonly socket: U;
  readonly backend: string;
  readonly attempt: number;
}

export type EstablishStep<U> = ConnAttempt | ConnFailed | Established<U>;

export interface EstablishContext<U> {
  readonly io: Pick<ConnectionIo<unknown, U>, 'connect$'>;
  readonly state: () => BalancerState;
  readonly route: (pool: string) => Route | undefined;
}

/**
 * Finds a backend for one client and connects to it: `conn-attempt`, then `conn-failed`
 * or the `established` socket, then complete. Completing is what lets a long
 * connection hold no part of this chain once its bytes flow.
 *
 * ```
 * connect to A:  ----#               (refused)
 * connect to B:      ------(u|)
 * steps:         a---(fa)-----(e|)    a attempt, f failed, e established
 * ```
 *
 * 1. Read the latest state; take the eligible backends this client has not tried.
 * 2. Ask the pool's policy to pick one; connect within `connect_timeout`.
 * 3. A connect failure moves on to another backend (`retry`, resubscribing step 1),
 *    at most `retries` times; nothing has been forwarded yet, so nothing is lost. A
 *    failure of rxlb's own (out of descriptors) is not retried: it would fail anywhere.
 * 4. Errors: UpstreamConnectError when every try failed, NoBackendError when no backend
 *    is up, LimitError when every eligible backend is full.
 */
export function establish$<U>(
  request: { readonly listener: string; readonly client: string; readonly address: ClientAddress; readonly pool: PoolConfig },
  ctx: EstablishContext<U>,
): Observable<EstablishStep<U>> {
  return defer(() => {
    const { pool } = request;
    const tried = new Set<string>();
    let lastFailure: UpstreamConnectError | undefined;
    let attempt = 0;

    const attempt$ = defer((): Observable<EstablishStep<U>> => {
      const current = ctx.state().pools[pool.name];
      const route = ctx.route(pool.name);
      if (!current || !route) return throwError(() => new NoBackendError(pool.name));
      const choice = eligible(current.backends, tried);
      if (!choice.ok) {
        // Every backend was tried and failed: a connect failure, not an empty pool.
        if (choice.reason === 'no_backend' && lastFailure) return throwError(() => lastFailure);
        return throwError(() => (choice.reason === 'limit' ? new LimitError(`pool ${pool.name}: every backend is full`) : new NoBackendError(pool.name)));
      }
      return route({ pool: pool.name, client: request.address, candidates: choice.candidates, up: choice.up }).pipe(
        mergeMap((picked) => {
          const target = picked as BackendState | undefined; // the router checked it is one of the candidates
          if (!target) return throwError(() => new NoBackendError(pool.name));
          attempt += 1;
          tried.add(target.address);
          const tag = { listener: request.listener, pool: pool.name, client: request.client, backend: target.address, attempt };
          return concat(
            of<EstablishStep<U>>({ type: 'conn-attempt', ...tag }),
            ctx.io.connect$(target).pipe(
              timeout({ first: pool.connectTimeoutMs, with: () => throwError(() => new UpstreamConnectError(target.address, 'timeout')) }),
              map((socket): EstablishStep<U> => ({ type: 'established', socket, backend: target.address, attempt: tag.attempt })),
              catchError((err: unknown) => {
                const failure = err instanceof UpstreamConnectError ? err : new UpstreamConnectError(target.address, 'error', { cause: err });
                lastFailure = failure;
                const failed: ConnFailed = failure.local ? { type: 'conn-failed', ...tag, reason: failure.reason, local: failure.local } : { type: 'conn-failed', ...tag, reason: failure.reason };
                return concat(of<EstablishStep<U>>(failed), throwError(() => failure));
              }),
            ),
          );
        }),
      );
    });

    return attempt$.pipe(
      // A failure of rxlb's own (out of descriptors) would fail on any backend: no retry.
      retry({ count: pool.retries, delay: (err: unknown) => (err instanceof UpstreamConnectError && !err.local ? of(0) : throwError(() => err)) }),
    );
  });
}
