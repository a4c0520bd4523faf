import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  concat,
  concatMap,
  defer,
  distinctUntilChanged,
  filter,
  finalize,
  map,
  merge,
  mergeMap,
  of,
  retry,
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
import { throttleByKey } from '../operators/throttle-by-key.js';
import { builtinPolicies } from '../operators/policies/registry.js';
import type { PolicyFactory } from '../operators/policies/types.js';
import { connection$ } from './tcp/connection.js';
import { type DoorStage, createDoors } from './door/door.js';
import { type ConfigChange, socketOf } from './reload/config-diff.js';
import type { ConfigProposal } from './reload/proposal.js';
import type {
  AdminAction,
  BackendStateChanged,
  BadHeader,
  ConfigApplied,
  ConnClosed,
  ConnEvent,
  ListenerReport,
  PolicyFailed,
  RateLimited,
  ReloadFailed,
  SourceFailed,
  StateEvent,
  StateEventDropped,
} from './state/events.js';
import { health$ } from './health/checks.js';
import { passive$ } from './health/passive.js';
import { perKey } from '../operators/per-key.js';
import type { ConnectionIo, HealthIo, ListenEvent, ListenIo, UdpIo, UdpListenEvent } from './ports.js';
import type { RouteTable } from './routing/route-table.js';
import { routing$ } from './routing/route-table.js';
import { type BalancerState, initialState } from './state/backend-state.js';
import { foldState } from './state/fold.js';
import type { BoundSocket } from './reload/bound-socket.js';
import { type Commit, type Outcome, type Slot, createSocketTable } from './reload/socket-table.js';
import type { UdpDropped } from './udp/events.js';
import { type UdpListenerEvent, udpListener$ } from './udp/listener.js';

export type { ConfigProposal, ConfigRejected } from './reload/proposal.js';


/** A reload took effect; the first config (the start) makes none. */
export interface ConfigReloaded {
  readonly type: 'reloaded';
  readonly config: Config;
  readonly changes: readonly ConfigChange[];
}

/** Everything the balancer reports, for logs, the admin API and metrics. */
export type BalancerEvent =
  | ConnEvent
  | ListenerReport
  | BackendStateChanged
  | UdpDropped
  | ConfigReloaded
  | ReloadFailed
  | PolicyFailed
  | BadHeader
  | RateLimited
  | StateEventDropped
  | SourceFailed;

export interface BalancerSources {
  /**
   * The config: the first value starts everything, later ones are reloads. Each yields
   * exactly one `reloaded` or `reload-failed` event, in order (the first: none, or an
   * error if it cannot start).
   */
  readonly config$: Observable<ConfigProposal>;
  /** Stop accepting and let open connections finish (SIGTERM, SIGINT). */
  readonly stop$: Observable<unknown>;
  /** What operators do through the admin API: drain, disable, enable a backend. */
  readonly commands$?: Observable<AdminAction>;
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
  /**
   * The most connections (and UDP sessions) the process may hold, whatever the config
   * says: what its descriptor limit allows (`connectionCapFor`). Default: no cap.
   */
  readonly connectionCap?: number;
  /**
   * Whether events$ carries each connection's trail (`conn-opened`, `conn-attempt`,
   * `conn-connected`, and `conn-failed` unless rxlb itself ran short) besides its
   * `conn-closed` record; default true. The state hears them either way. The daemon
   * asks for them only when its log level shows them.
   */
  readonly trail?: boolean;
  /**
   * A door stage of your own for each TCP listener (or undefined for none): an operator
   * on each connection's arrival, after the access lists, the rate and the ClientHello,
   * before the per-client count and the routes. It may refuse an arrival or note what
   * it learned; it must emit exactly one arrival per arrival.
   */
  readonly door?: DoorStage<C>;
}

export interface Balancer {
  /** Subscribing runs the balancer; it completes once stopped and every connection has ended. */
  readonly events$: Observable<BalancerEvent>;
  /** The backend-state stream: the latest state first, then every change. */
  readonly state$: Observable<BalancerState>;
  /** The latest state, for reads outside the graph (the admin API). */
  readonly state: () => BalancerState;
}

/**
 * The whole graph:
 *
 * ```
 * config$ ─ concatMap(bind new sockets, all or nothing) ─ commits ─┬─ routing$ (one policy per pool)
 *                                                                  ├─ switchMap(TCP sockets of the set) ─┐
 *                                                                  ├─ perKey(UDP listener) ──────────────┤
 *                                                                  │      mergeMap(connection$, udpListener$)
 *                                                                  │                 │ conn events ─────────┬──> events$
 *                                                                  ├─ health$ ── checked, health ──┐        │
 *                                                                  ├─ passive$ <── ejected, restored ┤      │
 *                 commands$ (admin) ── drain, disable, enable ─────┼───────────────────────────────┤        │
 *                                                                  └── config ─────────────────────┴─ scan(reduceBackendState)
 *                                                                                                      │    backend-state
 *                                                  state (read by each routing decision) <─────────────┘
 * ```
 *
 * A config takes effect in one step, or not at all. Its listeners' sockets that are
 * not open yet are bound first (`bindAll`); if one cannot bind, those are closed, a
 * `reload-failed` event says why, and nothing changes. Otherwise it is committed: the
 * state folds it, routing follows it, the listener sets switch to it, and only then are
 * the sockets it no longer has closed. A socket that stays (same protocol and bind) is
 * handed from one set to the next without being closed, so no connection waiting in
 * its queue is lost.
 *
 * Connections are merged, never switched: a new connection or a new listener set never
 * cancels an established one, and a removed listener or backend lets its connections
 * finish. Their lifecycle events feed the state that the next routing decision reads,
 * and passive checks. Every status change the state takes is reported on events$ as a
 * `backend-state` event with its cause. Health checks and ejection timers live as long
 * as events$ does.
 *
 * A UDP listener (`udpListener$`) sits where a connection does, below the switch, since
 * its sessions answer clients from its socket; a session reports the same events as a
 * connection, so routing and passive checks count sessions as connections. It runs as
 * long as its socket stays (same protocol and bind), and its sessions with it: each
 * config hands it the listener's settings, which apply from then on.
 */
export function createBalancer<C, U, L = unknown, S = unknown>(sources: BalancerSources, deps: BalancerDeps<C, U, L, S>): Balancer {
  const state = new BehaviorSubject<BalancerState>(initialState);

  const events$ = defer(() => {
    const outcomes = new Subject<Outcome<C, L>>();
    const committed$ = outcomes.pipe(filter((o): o is Commit<C, L> => o.type === 'commit'));
    // Replayed, so a source that failed and is subscribed again starts from the config in force.
    const config$ = committed$.pipe(
      map((commit) => commit.config),
      shareReplay({ bufferSize: 1, refCount: false }),
    );
    const feedback = new Subject<StateEvent>();
    // The `backend state` records, in the order the changes were folded.
    const changes = new Subject<BackendStateChanged>();
    // What a policy let down: every one is counted in the state, and logged throttled.
    const policyFailures = new Subject<PolicyFailed>();
    // Connections refused for a bad PROXY header: each has its record, and the log a throttled warning.
    const badHeaders = new Subject<ConnClosed>();
    // Connections refused for a client's rate: each has its record, and the log a throttled warning.
    const rateLimited = new Subject<ConnClosed>();
    // Events that could not be folded, and sources that failed: reported, not fatal.
    const notices = new Subject<StateEventDropped | SourceFailed>();
    // A fold that failed on an event the state cannot do without: events$ errors with it.
    const fatal = new Subject<never>();
    // Health checks, passive checks and admin commands only adjust which backends routing
    // prefers: one that fails is reported and subscribed again a second later.
    const optional = <T>(source: SourceFailed['source'], events$: Observable<T>): Observable<T> =>
      events$.pipe(
        retry({
          delay: (error: unknown) => {
            notices.next({ type: 'source-failed', source, error });
            return timer(OPTIONAL_SOURCE_RETRY_MS);
          },
        }),
      );
    const probe$ = deps.probe$;
    const checks$ = probe$ ? health$(config$, { probe$, random: deps.random ?? Math.random }) : EMPTY;
    const stateSubscription = merge(
      config$.pipe(map((config): ConfigApplied => ({ type: 'config', config }))),
      feedback,
      policyFailures,
      optional('health checks', checks$),
      optional('passive checks', passive$({ config$, conns$: feedback.pipe(filter((e): e is ConnEvent => e.type.startsWith('conn-'))) })),
      optional('admin commands', sources.commands$ ?? EMPTY),
    )
      .pipe(foldState())
      .subscribe({
        next: (step) => {
          state.next(step.state);
          for (const change of step.changes) changes.next(change);
          if (step.dropped) notices.next(step.dropped);
        },
        error: (err: unknown) => fatal.error(err),
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
    const routingSubscription = routing$(config$, deps.policies ?? builtinPolicies, ({ pool, policy, kind, error }) =>
      policyFailures.next({ type: 'policy-failed', pool, policy, kind, message: error.message, count: 1 }),
    ).subscribe((table) => (routes = table));
    const context = {
      io: deps.io,
      state: () => state.value,
      router: (pool: string) => routes(pool),
      door: createDoors<C>({ preread$: (client) => deps.io.preread$(client), now: deps.now }, deps.door),
      cut: (closed: ConnClosed) => cut.next(closed),
      now: deps.now,
      connectionCap: deps.connectionCap ?? Infinity,
    };

    const feed = (event: BalancerEvent): void => {
      if (isStateEvent(event)) feedback.next(event);
      if (event.type === 'conn-closed' && event.reason === 'bad_header') badHeaders.next(event);
      if (event.type === 'conn-closed' && event.reason === 'rate_limit') rateLimited.next(event);
    };
    // A connection's trail (opened, attempt, failed, connected) is reported only when
    // asked for; its record at the end always is.
    const trail = deps.trail ?? true;
    const reported = (event: BalancerEvent): boolean =>
      trail || (event.type !== 'conn-opened' && event.type !== 'conn-attempt' && event.type !== 'conn-connected' && (event.type !== 'conn-failed' || event.local !== undefined));

    const sockets = createSocketTable<C, L>(deps);
    const udp = deps.udp;
    // A UDP listener runs its own sessions (src/streams/udp/listener.ts), which answer
    // clients from its socket: so it runs downstream of the switch, as a connection does,
    // and the switch holds only a token whose end (stop$, or a set without it) ends the
    // listener and its sessions. UDP has nothing to drain: they end then, not at the kill.
    // `listener$` carries the listener's settings from each config that keeps its socket.
    const udpToken$ = (slot: Slot<C, L>, slots$: Observable<Slot<C, L>>): Observable<UdpListenerToken<L>> =>
      new Observable<UdpListenerToken<L>>((subscriber) => {
        const ended = new Subject<void>();
        const listener$ = slots$.pipe(
          map((s) => s.listener),
          distinctUntilChanged((a, b) => JSON.stringify(a) === JSON.stringify(b)),
        );
        subscriber.next({ type: 'udp-listener', slot: slot as unknown as Slot<unknown, L>, listener$, ended$: ended });
        return () => ended.next();
      });
    const udpListen$ = ({ slot, listener$, ended$ }: UdpListenerToken<L>): Observable<UdpListenerEvent> => {
      const socket = slot.socket as unknown as BoundSocket<UdpListenEvent<L>>; // a UDP slot's
      // The socket is already bound: the listener reads it from where binding left off.
      const io = udp && { ...udp, listen$: () => concat(of(socket.listening), socket.events$) };
      return io
        ? udpListener$(listener$, { io, state: context.state, router: context.router, now: deps.now, stop$: ended$, cut: (event) => cut.next(event), connectionCap: context.connectionCap })
        : throwError(() => new ListenError(`listener ${slot.listener.name}: protocol "udp" needs the UDP io, which was not given`));
    };

    // The newest TCP listener set replaces the old one; connections live downstream of
    // the switch, so replacing listeners never reaches them. One takeUntil ends them all
    // at the end of the grace period, rather than a subscription held by each connection.
    const tcp$ = committed$.pipe(
      switchMap((commit) => merge(...commit.slots.filter((slot) => slot.listener.protocol === 'tcp').map(accepts$))),
    );
    const udp$ = committed$.pipe(
      map((commit) => commit.slots.filter((slot) => slot.listener.protocol === 'udp')),
      perKey((slot) => socketOf(slot.listener), udpToken$),
    );
    // `listening` for each TCP socket a commit bound; the outcome of each reload.
    const reports$ = outcomes.pipe(
      mergeMap((outcome): BalancerEvent[] => {
        if (outcome.type === 'reload-failed') return [outcome];
        const bound = outcome.fresh.filter((slot) => slot.listener.protocol === 'tcp').map((slot) => listeningOf(slot));
        return outcome.reload ? [...bound, { type: 'reloaded', config: outcome.config, changes: outcome.changes }] : bound;
      }),
    );
    const running$ = merge(reports$, tcp$, udp$).pipe(
      takeUntil(sources.stop$),
      finalize(() => sockets.closeAll()),
      mergeMap((event): Observable<BalancerEvent> => {
        if (event.type === 'accepted') return connection$(event.accepted, context);
        return event.type === 'udp-listener' ? udpListen$(event) : of(event);
      }),
      // The state hears every event where it is made; what goes on is what gets reported.
      tap(feed),
      filter(reported),
      // Drained by itself: no connection is left to be cut. (Above the takeUntil, so
      // being cut at the kill does not count as completing.)
      tap({ complete: () => cut.complete() }),
      takeUntil(kill$),
    );
    // Order matters at the kill: running$ subscribed to kill$ first, so its takeUntil
    // tears the connections down (their records go into `cut`) before the takeUntil
    // below closes `cut`.
    const traffic$ = merge(running$, cut.pipe(tap(feed), takeUntil(kill$))).pipe(
      tap({
        // The state changes are reported for as long as there is traffic to steer.
        complete: () => {
          changes.complete();
          policyFailures.complete();
          badHeaders.complete();
          rateLimited.complete();
          notices.complete();
          fatal.complete();
        },
      }),
    );
    // Started last, once everything above listens: every config becomes one outcome.
    const commits$ = new Observable<never>((subscriber) => {
      const subscription = sources.config$
        .pipe(
          concatMap((proposal) => sockets.commit$(proposal)),
          takeUntil(sources.stop$),
        )
        .subscribe({
          next: (outcome) => {
            outcomes.next(outcome);
            // Everything has moved to the new set: the sockets it dropped can close.
            if (outcome.type === 'commit') sockets.retire();
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        });
      return () => subscription.unsubscribe();
    });
    // The log hears the first failure of each pool's policy and kind at once, then one a minute with a count.
    const policyReports$ = policyFailures.pipe(
      throttleByKey((f) => `${f.pool}\n${f.kind}`, POLICY_REPORT_WINDOW_MS),
      map(({ value, count }): PolicyFailed => (count === 1 ? value : { ...value, count })),
    );
    // A scanner sending garbage to a PROXY listener makes one warning a minute per listener, with a count.
    const badHeaderReports$ = badHeaders.pipe(
      throttleByKey((closed) => closed.listener, BAD_HEADER_REPORT_WINDOW_MS),
      map(({ value, count }): BadHeader => ({ type: 'bad-header', listener: value.listener, peer: value.client, detail: value.detail ?? '', count })),
    );
    // A client held to its rate makes one warning a minute per listener, with a count: per
    // listener rather than per client, so many greedy addresses still make one line a minute.
    const rateReports$ = rateLimited.pipe(
      throttleByKey((closed) => closed.listener, RATE_LIMIT_REPORT_WINDOW_MS),
      map(({ value, count }): RateLimited => ({ type: 'rate-limited', listener: value.listener, client: value.client, count })),
    );
    return merge(changes, traffic$, commits$, policyReports$, badHeaderReports$, rateReports$, notices, fatal).pipe(
      finalize(() => {
        sockets.closeAll();
        routingSubscription.unsubscribe();
        stateSubscription.unsubscribe();
      }),
    );
  });

  return { events$, state$: state.asObservable(), state: () => state.value };
}

/** How long a failed health, passive or admin source waits before it is subscribed again. */
const OPTIONAL_SOURCE_RETRY_MS = 1000;
/** At most one log record per pool, policy failure kind and this long. */
const POLICY_REPORT_WINDOW_MS = 60_000;
/** At most one `bad PROXY header` warning per listener and this long. */
const BAD_HEADER_REPORT_WINDOW_MS = 60_000;
/** At most one `rate limited` warning per listener and this long. */
const RATE_LIMIT_REPORT_WINDOW_MS = 60_000;

/** Stands for a UDP listener in the listener set; `ended$` says it was replaced or stopped. */
interface UdpListenerToken<L> {
  readonly type: 'udp-listener';
  readonly slot: Slot<unknown, L>;
  /** The listener's config from each commit, starting with the slot's. */
  readonly listener$: Observable<ListenerConfig>;
  readonly ended$: Observable<void>;
}

/** A TCP slot's connections, each tagged with the listener config in force. */
function accepts$<C, L>(slot: Slot<C, L>): Observable<ListenEvent<C>> {
  const { listener } = slot;
  return (slot.socket as unknown as BoundSocket<ListenEvent<C>>).events$.pipe( // a TCP slot's
    map((event) => {
      if (event.type === 'accepted') return event.accepted.listener === listener ? event : { type: 'accepted', accepted: { ...event.accepted, listener } };
      return event.type === 'accept-error' ? { ...event, listener } : event;
    }),
  );
}

/** What traffic reports that the state folds: everything but the state's own reports and reload outcomes. */
function isStateEvent(event: BalancerEvent): event is BalancerEvent & StateEvent {
  return (
    event.type !== 'backend-state' &&
    event.type !== 'reloaded' &&
    event.type !== 'state-event-dropped' &&
    event.type !== 'source-failed' &&
    event.type !== 'bad-header' &&
    event.type !== 'rate-limited'
  );
}

function listeningOf<C, L>(slot: Slot<C, L>): ListenerReport {
  return { type: 'listening', listener: slot.listener, address: slot.socket.listening.address };
}
