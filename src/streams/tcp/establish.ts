import { Observable, type Subscription, asyncScheduler } from 'rxjs';
import type { PoolConfig } from '../../config/types.js';
import { LimitError, NoBackendError, UpstreamConnectError } from '../../errors.js';
import type { ClientAddress } from '../../operators/policies/types.js';
import { eligible } from '../routing/eligible.js';
import type { ConnAttempt, ConnFailed } from '../state/events.js';
import type { ConnectionIo } from '../ports.js';
import type { Route } from '../routing/router.js';
import type { BackendState, BalancerState } from '../state/backend-state.js';

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

/** What a connection asks `establish$` for. */
export interface EstablishRequest {
  readonly listener: string;
  readonly client: string;
  readonly address: ClientAddress;
  readonly pool: PoolConfig;
}

const NOTHING_TRIED: ReadonlySet<string> = new Set();

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
 * 2. Ask the pool's policy to pick one; connect within `connect_timeout` (a timer on
 *    the async scheduler, so virtual in tests).
 * 3. A connect failure moves on to another backend (back to step 1), at most `retries`
 *    times; nothing has been forwarded yet, so nothing is lost. A failure of rxlb's own
 *    (out of descriptors) is not retried: it would fail anywhere.
 * 4. Errors: UpstreamConnectError when every try failed, NoBackendError when no backend
 *    is up, LimitError when every eligible backend is full.
 *
 * Every new connection runs this, so it is one observable with its few variables
 * rather than a chain of operators per attempt (`defer`, `retry`, `mergeMap`, `concat`,
 * `timeout`, `catchError` cost a subscriber and closures each, per connection): at most
 * one subscription is live at a time, the policy's answer or the connect under way, and
 * the set of tried backends is made only once an attempt has failed.
 */
export function establish$<U>(request: EstablishRequest, ctx: EstablishContext<U>): Observable<EstablishStep<U>> {
  return new Observable<EstablishStep<U>>((subscriber) => {
    const { pool } = request;
    let tried: Set<string> | undefined; // made at the first failure
    let lastFailure: UpstreamConnectError | undefined;
    let attempt = 0;
    let step: Subscription | undefined; // the policy's answer, or the connect, under way
    let deadline: Subscription | undefined;

    // 1. and 2.: the next attempt, or the error that ends them.
    const next = (): void => {
      const current = ctx.state().pools[pool.name];
      const route = ctx.route(pool.name);
      if (!current || !route) {
        subscriber.error(new NoBackendError(pool.name));
        return;
      }
      const choice = eligible(current.backends, tried ?? NOTHING_TRIED);
      if (!choice.ok) {
        // Every backend was tried and failed: a connect failure, not an empty pool.
        if (choice.reason === 'no_backend' && lastFailure) subscriber.error(lastFailure);
        else subscriber.error(choice.reason === 'limit' ? new LimitError(`pool ${pool.name}: every backend is full`) : new NoBackendError(pool.name));
        return;
      }
      const routing = route({ pool: pool.name, client: request.address, candidates: choice.candidates, up: choice.up }).subscribe({
        next: (picked) => connect(picked as BackendState | undefined), // the router checked it is one of the candidates
        error: (err: unknown) => subscriber.error(err),
      });
      if (step === undefined) step = routing; // else the policy answered at once, and `step` is the connect
    };

    const connect = (target: BackendState | undefined): void => {
      if (!target) {
        subscriber.error(new NoBackendError(pool.name));
        return;
      }
      attempt += 1;
      const tag = attempt;
      subscriber.next({ type: 'conn-attempt', listener: request.listener, pool: pool.name, client: request.client, backend: target.address, attempt: tag });
      let settled = false;
      const failed = (failure: UpstreamConnectError): void => {
        if (settled) return;
        settled = true;
        deadline?.unsubscribe();
        deadline = undefined;
        step?.unsubscribe(); // a timed-out connect is torn down, destroying its socket
        step = undefined;
        lastFailure = failure;
        (tried ??= new Set()).add(target.address);
        const event: ConnFailed = { type: 'conn-failed', listener: request.listener, pool: pool.name, client: request.client, backend: target.address, attempt: tag, reason: failure.reason };
        subscriber.next(failure.local ? { ...event, local: failure.local } : event);
        // 3.: `retries` more attempts after the first.
        if (attempt <= pool.retries && !failure.local) next();
        else subscriber.error(failure);
      };
      step = undefined;
      deadline = asyncScheduler.schedule(() => failed(new UpstreamConnectError(target.address, 'timeout')), pool.connectTimeoutMs);
      const connecting = ctx.io.connect$(target).subscribe({
        next: (socket) => {
          if (settled) return;
          settled = true;
          deadline?.unsubscribe();
          subscriber.next({ type: 'established', socket, backend: target.address, attempt: tag });
          subscriber.complete();
        },
        error: (err: unknown) => failed(err instanceof UpstreamConnectError ? err : new UpstreamConnectError(target.address, 'error', { cause: err })),
      });
      if (!settled) step = connecting;
    };

    next();
    return () => {
      deadline?.unsubscribe();
      step?.unsubscribe();
    };
  });
}
