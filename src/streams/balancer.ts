import {
  BehaviorSubject,
  type Observable,
  Subject,
  defer,
  finalize,
  map,
  merge,
  mergeMap,
  observeOn,
  of,
  queueScheduler,
  scan,
  share,
  shareReplay,
  switchMap,
  take,
  takeUntil,
  tap,
  timer,
} from 'rxjs';
import type { Config } from '../config/types.js';
import { builtinPolicies } from '../operators/registry.js';
import type { PolicyFactory } from '../operators/types.js';
import { connection$ } from './connection.js';
import type { ConfigApplied, ConnClosed, ConnEvent, StateEvent } from './events.js';
import type { ConnectionIo, ListenEvent, ListenIo } from './ports.js';
import type { RouteTable } from './routing.js';
import { routing$ } from './routing.js';
import { type BalancerState, initialState, reduceBackendState } from './state.js';

/** Everything the balancer reports, for logs (and later metrics). */
export type BalancerEvent = ConnEvent | Exclude<ListenEvent<unknown>, { type: 'accepted' }>;

export interface BalancerSources {
  /** The config in force: the first value starts everything, later ones are reloads. */
  readonly config$: Observable<Config>;
  /** Stop accepting and let open connections finish (SIGTERM, SIGINT). */
  readonly stop$: Observable<unknown>;
}

export interface BalancerDeps<C, U> {
  readonly io: ConnectionIo<C, U> & ListenIo<C>;
  readonly policies?: Readonly<Record<string, PolicyFactory>>;
  readonly now: () => number;
}

export interface Balancer {
  /** Subscribing runs the balancer; it completes once stopped and every connection has ended. */
  readonly events$: Observable<BalancerEvent>;
  /** The backend-state stream: the latest state first, then every change. */
  readonly state$: Observable<BalancerState>;
}

/**
 * The whole graph:
 *
 * ```
 * config$ ──┬─────────────────────────────────────────┐
 *           ├─ routing$ (one policy per pool)          │
 *           └─ switchMap(listen$ per listener) ─ mergeMap(connection$) ─┬─> events$
 *                                                                      │
 *            state = scan(reduceBackendState) <── config + conn events ─┘
 * ```
 *
 * Connections are merged, never switched: a new connection or a new listener set never
 * cancels an established one. Their lifecycle events feed the state that the next
 * routing decision reads.
 */
export function createBalancer<C, U>(sources: BalancerSources, deps: BalancerDeps<C, U>): Balancer {
  const state = new BehaviorSubject<BalancerState>(initialState);

  const events$ = defer(() => {
    const config$ = sources.config$.pipe(shareReplay({ bufferSize: 1, refCount: true }));
    const feedback = new Subject<StateEvent>();
    const stateSubscription = merge(config$.pipe(map((config): ConfigApplied => ({ type: 'config', config }))), feedback)
      .pipe(
        // Connection events are produced while routing reads the state: fold them in order.
        observeOn(queueScheduler),
        scan(reduceBackendState, initialState),
      )
      .subscribe((next) => state.next(next));

    // After stop$, the grace period; then connections still open are cut.
    const kill$ = sources.stop$.pipe(
      take(1),
      switchMap(() => timer(state.value.config?.global.shutdownGraceMs ?? 0)),
      share(),
    );
    // The records of cut connections: they can no longer emit themselves.
    const cut = new Subject<ConnClosed>();

    let routes: RouteTable = () => undefined;
    const routingSubscription = routing$(config$, deps.policies ?? builtinPolicies).subscribe((table) => (routes = table));
    const context = {
      io: deps.io,
      state: () => state.value,
      route: (pool: string) => routes(pool),
      cut: (closed: ConnClosed) => cut.next(closed),
      now: deps.now,
    };

    // The newest listener set replaces the old one; connections live downstream of the
    // switch, so replacing listeners never reaches them. One takeUntil ends them all at
    // the end of the grace period, rather than a subscription held by each connection.
    const running$ = config$.pipe(
      switchMap((config) => merge(...config.listeners.map((l) => deps.io.listen$(l)))),
      takeUntil(sources.stop$),
      mergeMap((event): Observable<BalancerEvent> => (event.type === 'accepted' ? connection$(event.accepted, context) : of(event))),
      // Drained by itself: no connection is left to be cut. (Above the takeUntil, so
      // being cut at the kill does not count as completing.)
      tap({ complete: () => cut.complete() }),
      takeUntil(kill$),
    );
    // Order matters at the kill: running$ subscribed to kill$ first, so its takeUntil
    // tears the connections down (their records go into `cut`) before the takeUntil
    // below closes `cut`.
    return merge(running$, cut.pipe(takeUntil(kill$))).pipe(
      tap((event) => {
        if (event.type.startsWith('conn-')) feedback.next(event as ConnEvent);
      }),
      finalize(() => {
        routingSubscription.unsubscribe();
        stateSubscription.unsubscribe();
      }),
    );
  });

  return { events$, state$: state.asObservable() };
}
