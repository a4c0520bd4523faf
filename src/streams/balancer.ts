import {
  BehaviorSubject,
  EMPTY,
  Observable,
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
  throwError,
  timer,
} from 'rxjs';
import type { Config, ListenerConfig } from '../config/types.js';
import { ListenError } from '../errors.js';
import { builtinPolicies } from '../operators/registry.js';
import type { PolicyFactory } from '../operators/types.js';
import { connection$ } from './connection.js';
import type { BackendStateChanged, ConfigApplied, ConnClosed, ConnEvent, StateEvent } from './events.js';
import { health$ } from './health.js';
import { passive$ } from './passive.js';
import type { ConnectionIo, HealthIo, ListenEvent, ListenIo, UdpIo } from './ports.js';
import type { RouteTable } from './routing.js';
import { routing$ } from './routing.js';
import { type BalancerState, initialState, reduceBackendState } from './state.js';
import { statusChanges } from './status-changes.js';
import type { UdpDropped } from './udp-events.js';
import { type UdpListenerEvent, udpListener$ } from './udp-listener.js';

/** Stands for a UDP listener in the listener set; `ended$` says it was replaced or stopped. */
interface UdpListenerToken {
  readonly type: 'udp-listener';
  readonly listener: ListenerConfig;
  readonly ended$: Observable<void>;
}

/** Everything the balancer reports, for logs (and later metrics). */
export type BalancerEvent = ConnEvent | Exclude<ListenEvent<unknown>, { type: 'accepted' }> | BackendStateChanged | UdpDropped;

export interface BalancerSources {
  /** The config in force: the first value starts everything, later ones are reloads. */
  readonly config$: Observable<Config>;
  /** Stop accepting and let open connections finish (SIGTERM, SIGINT). */
  readonly stop$: Observable<unknown>;
}

export interface BalancerDeps<C, U, L = unknown, S = unknown> {
  readonly io: ConnectionIo<C, U> & ListenIo<C>;
  /** The UDP edges (`src/io/udp.ts` on real sockets); needed only by `protocol = "udp"` listeners. */
  readonly udp?: UdpIo<L, S>;
  readonly policies?: Readonly<Record<string, PolicyFactory>>;
  readonly now: () => number;
  /**
   * Runs active health checks (`src/io/health-probe.ts` on real sockets). Without it,
   * `[health]` tables are not acted on: every backend stays up for lack of checks.
   */
  readonly probe$?: HealthIo['probe$'];
  /** A number in [0, 1) for the jitter of health checks; default Math.random. */
  readonly random?: () => number;
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
 * config$ ──┬─ routing$ (one policy per pool)
 *           ├─ switchMap(listen$ per listener) ─ mergeMap(connection$) ── conn events ──┬──> events$
 *           ├─ health$ (active checks per backend) ── health ──────┐                     │     ^
 *           ├─ passive$ <── conn events ── ejected, restored ──────┤                     │     │
 *           └───────────────────────────── config ─────────────────┴─ scan(reduceBackendState)
 *                                                                      │                 backend-state
 *                                          state (read by each routing decision) <───────┘
 * ```
 *
 * Connections are merged, never switched: a new connection or a new listener set never
 * cancels an established one. Their lifecycle events feed the state that the next
 * routing decision reads, and passive checks. Every status change the state takes is
 * reported on events$ as a `backend-state` event with its cause. Health checks and
 * ejection timers live as long as events$ does.
 *
 * A UDP listener (`udpListener$`) sits where a connection does, below the switch, since
 * its sessions answer clients from its socket; a session reports the same events as a
 * connection, so routing and passive checks count sessions as connections.
 */
export function createBalancer<C, U, L = unknown, S = unknown>(sources: BalancerSources, deps: BalancerDeps<C, U, L, S>): Balancer {
  const state = new BehaviorSubject<BalancerState>(initialState);

  const events$ = defer(() => {
    const config$ = sources.config$.pipe(shareReplay({ bufferSize: 1, refCount: true }));
    const feedback = new Subject<ConnEvent>();
    // The `backend state` records, in the order the changes were folded.
    const changes = new Subject<BackendStateChanged>();
    const probe$ = deps.probe$;
    const checks$ = probe$ ? health$(config$, { probe$, random: deps.random ?? Math.random }) : EMPTY;
    const stateSubscription = merge(
      config$.pipe(map((config): ConfigApplied => ({ type: 'config', config }))),
      feedback,
      checks$,
      passive$({ config$, conns$: feedback }),
    )
      .pipe(
        // Connection events are produced while routing reads the state, and ejections
        // while folding them: fold everything in order.
        observeOn(queueScheduler),
        scan(
          (step: { state: BalancerState; changes: readonly BackendStateChanged[] }, event: StateEvent) => {
            const next = reduceBackendState(step.state, event);
            return { state: next, changes: statusChanges(step.state, next, event) };
          },
          { state: initialState, changes: [] },
        ),
      )
      .subscribe((step) => {
        state.next(step.state);
        for (const change of step.changes) changes.next(change);
      });

    // After stop$, the grace period; then connections still open are cut.
    const kill$ = sources.stop$.pipe(
      take(1),
      switchMap(() => timer(state.value.config?.global.shutdownGraceMs ?? 0)),
      share(),
    );
    // The records of cut connections (and of UDP sessions ended with their listener):
    // they can no longer emit themselves.
    const cut = new Subject<BalancerEvent>();

    let routes: RouteTable = () => undefined;
    const routingSubscription = routing$(config$, deps.policies ?? builtinPolicies).subscribe((table) => (routes = table));
    const context = {
      io: deps.io,
      state: () => state.value,
      route: (pool: string) => routes(pool),
      cut: (closed: ConnClosed) => cut.next(closed),
      now: deps.now,
    };
    // A UDP listener runs its own sessions (src/streams/udp-listener.ts), which answer
    // clients from its socket: so it runs downstream of the switch, as a connection does,
    // and the switch holds only a token whose end (stop$, or a new listener set) ends the
    // listener and its sessions. UDP has nothing to drain: they end then, not at the kill.
    const udpToken$ = (listener: ListenerConfig): Observable<UdpListenerToken> =>
      new Observable<UdpListenerToken>((subscriber) => {
        const ended = new Subject<void>();
        subscriber.next({ type: 'udp-listener', listener, ended$: ended });
        return () => ended.next();
      });
    const udp = deps.udp;
    const udpListen$ = ({ listener, ended$ }: UdpListenerToken): Observable<UdpListenerEvent> =>
      udp
        ? udpListener$(listener, { io: udp, state: context.state, route: context.route, now: deps.now, stop$: ended$, cut: (event) => cut.next(event) })
        : throwError(() => new ListenError(`listener ${listener.name}: protocol "udp" needs the UDP io, which was not given`));

    // The newest listener set replaces the old one; connections live downstream of the
    // switch, so replacing listeners never reaches them. One takeUntil ends them all at
    // the end of the grace period, rather than a subscription held by each connection.
    const running$ = config$.pipe(
      switchMap((config) => merge(...config.listeners.map((l) => (l.protocol === 'udp' ? udpToken$(l) : deps.io.listen$(l))))),
      takeUntil(sources.stop$),
      mergeMap((event): Observable<BalancerEvent> => {
        if (event.type === 'accepted') return connection$(event.accepted, context);
        return event.type === 'udp-listener' ? udpListen$(event) : of(event);
      }),
      // Drained by itself: no connection is left to be cut. (Above the takeUntil, so
      // being cut at the kill does not count as completing.)
      tap({ complete: () => cut.complete() }),
      takeUntil(kill$),
    );
    // Order matters at the kill: running$ subscribed to kill$ first, so its takeUntil
    // tears the connections down (their records go into `cut`) before the takeUntil
    // below closes `cut`.
    const traffic$ = merge(running$, cut.pipe(takeUntil(kill$))).pipe(
      tap({
        next: (event) => {
          if (event.type.startsWith('conn-')) feedback.next(event as ConnEvent);
        },
        // The state changes are reported for as long as there is traffic to steer.
        complete: () => changes.complete(),
      }),
    );
    return merge(changes, traffic$).pipe(
      finalize(() => {
        routingSubscription.unsubscribe();
        stateSubscription.unsubscribe();
      }),
    );
  });

  return { events$, state$: state.asObservable() };
}
