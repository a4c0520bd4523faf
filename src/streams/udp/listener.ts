import { Observable, Subscription, distinctUntilChanged, interval, map, switchMap, take, tap } from 'rxjs';
import type { ListenerConfig } from '../../config/types.js';
import { UpstreamConnectError } from '../../errors.js';
import type { ClientAddress } from '../../operators/policies/types.js';
import { eligible } from '../routing/eligible.js';
import type { ConnEvent } from '../state/events.js';
import { formatHostPort } from '../../config/endpoint.js';
import type { ListenEvent, UdpIo } from '../ports.js';
import type { Router } from '../routing/router.js';
import type { BackendState, BalancerState } from '../state/backend-state.js';
import { hasRoom } from '../state/limits.js';
import { datagramHeader } from './datagram-header.js';
import type { UdpDropped } from './events.js';
import { type SessionEffect, type SessionInput, type SessionSettings, type SessionTable, emptySessionTable, reduceSessions, sweepIntervalMs } from './sessions.js';

/** What a UDP listener reports: its bound address, its sessions' lifecycles, and dropped datagrams. */
export type UdpListenerEvent = Exclude<ListenEvent<unknown>, { type: 'accepted' }> | ConnEvent | UdpDropped;

/** What a UDP listener needs from the rest of the graph. */
export interface UdpListenerContext<L, S> {
  readonly io: UdpIo<L, S>;
  readonly state: () => BalancerState;
  /** The running policy of a pool, if the pool exists. */
  readonly router: (pool: string) => Router | undefined;
  readonly now: () => number;
  /**
   * Ends the listener (shutdown, or a new listener set without it): its sessions end
   * with `shutdown`, their records are emitted, and the observable completes.
   */
  readonly stop$: Observable<unknown>;
  /**
   * Takes the records of sessions still open when the listener is torn down without
   * `stop$` (cut at the end of the grace period): it can no longer emit them.
   */
  readonly cut: (event: UdpListenerEvent) => void;
  /** The most connections and sessions the process may hold (from its descriptor limit); Infinity for none. */
  readonly connectionCap: number;
}

/**
 * One UDP listener and its sessions, as an observable of events: `listening`, then per
 * session `conn-opened`, `conn-attempt`, `conn-connected` at the backend's first answer
 * (or `conn-failed`), `conn-closed` (with datagram counts) at its end; and `udp-dropped`
 * at most once per sweep.
 *
 * ```
 * datagrams:  -a--a-b------------      (clients a and b)
 * sweep:      ----t----t----t----t     (every min(timeout / 2, 1s))
 * events:     -(oa)-(oa)--------x-x    o opened, a attempt, x closed (idle_timeout)
 * ```
 *
 * The session table is `reduceSessions` folded over the inputs: datagrams from the
 * listener, what upstream sockets and the policy answer, and the sweep's `interval`.
 * This function only performs what each step asks, in order:
 * 1. `pick`: the eligible backends (those up, avoiding ones that failed this session)
 *    and the pool's policy, as a TCP connection picks, so `source-hash` and `maglev`
 *    keep a client on one backend;
 * 2. `connect`: subscribes to `io.upstream$` for the session's own socket, whose
 *    `ready`, replies and error go back into the table;
 * 3. `forward`, `reply`: one datagram each, as it came, boundaries kept; a forward
 *    after the PROXY header of the session's pool, if it sends one (built at the pick);
 * 4. `disconnect`: unsubscribes the session's socket; `emit`: reports.
 * Inputs that arrive while a step is being performed (a synchronous answer) wait until
 * it is done, so each step sees the table the previous one left.
 *
 * `listener$` is the listener's config: its first value starts the listener, and each
 * later one (a reload that keeps the socket) is folded into the table as `settings`,
 * so sessions live on across a reload and follow the new config from then on:
 * - `session_timeout`: every session is judged by the new one at the next sweep (one
 *   already idle for longer ends then, `idle_timeout`), and the sweep runs at its pace;
 * - `max_sessions`: new clients are turned away until there are fewer sessions; none is cut;
 * - `pool`: new sessions pick from the new pool, as does a session whose backend fails;
 *   an open session stays on its backend until it ends, as nginx's old workers finish
 *   their flows after a reload;
 * - `name`: new sessions are recorded under the new name (and `listening` says it),
 *   while open ones keep the name they were opened under, as TCP connections accepted
 *   before a rename do: each session is counted under one listener from start to end.
 *
 * `stop$` stops the sweep, closes the listener's socket, ends every session with
 * `shutdown` and completes: UDP has no connection to drain, so sessions end when their
 * listener stops rather than at the end of the grace period. Teardown does the same,
 * handing the records to `ctx.cut`.
 */
export function udpListener$<L, S>(listener$: Observable<ListenerConfig>, ctx: UdpListenerContext<L, S>): Observable<UdpListenerEvent> {
  return new Observable<UdpListenerEvent>((subscriber) => {
    const { io } = ctx;
    // Both set by the first config.
    let listener: ListenerConfig | undefined;
    let table: SessionTable | undefined;
    let socket: L | undefined;
    let address: string | undefined;
    let local: ClientAddress | undefined;
    let emit = (event: UdpListenerEvent): void => subscriber.next(event);
    const upstreams = new Map<number, { socket: S | undefined; subscription: Subscription | undefined }>();
    const picks = new Map<number, Subscription>();

    const queue: SessionInput[] = [];
    let busy = false;
    const dispatch = (input: SessionInput): void => {
      if (busy) {
        queue.push(input);
        return;
      }
      busy = true;
      try {
        let next: SessionInput | undefined = input;
        while (next !== undefined && table !== undefined) {
          const step = reduceSessions(table, next);
          table = step.table;
          for (const effect of step.effects) perform(effect);
          next = queue.shift();
        }
      } finally {
        busy = false;
      }
    };

    const perform = (effect: SessionEffect): void => {
      switch (effect.type) {
        case 'forward': {
          const upstream = upstreams.get(effect.upstream)?.socket;
          if (upstream !== undefined) io.forward(upstream, effect.data, effect.header);
          return;
        }
        case 'reply':
          if (socket !== undefined) io.reply(socket, effect.client, effect.data);
          return;
        case 'emit':
          emit(effect.event);
          return;
        case 'pick':
          pick(effect.key, effect.session, effect.pool, effect.client, effect.tried);
          return;
        case 'connect':
          connect(effect.key, effect.upstream, effect.backend);
          return;
        case 'disconnect': {
          const upstream = upstreams.get(effect.upstream);
          upstreams.delete(effect.upstream);
          upstream?.subscription?.unsubscribe();
          return;
        }
      }
    };

    const pick = (key: string, session: number, poolName: string, client: ClientAddress, tried: readonly string[]): void => {
      const pool = ctx.state().pools[poolName];
      const router = ctx.router(poolName);
      if (!pool || !router) {
        dispatch({ type: 'unpicked', key, session, reason: 'no_backend' });
        return;
      }
      let choice = eligible(pool.backends, new Set(tried));
      // Every backend failed this session once: start over rather than give up.
      if (!choice.ok && choice.reason === 'no_backend' && tried.length > 0) choice = eligible(pool.backends, new Set());
      if (!choice.ok) {
        dispatch({ type: 'unpicked', key, session, reason: choice.reason });
        return;
      }
      let answered = false;
      const subscription = router.route$({ pool: poolName, client, candidates: choice.candidates, up: choice.up })
        .pipe(take(1))
        .subscribe({
          next: (candidate) => {
            answered = true;
            const target = candidate as BackendState | undefined; // the router checked it is one of the candidates
            dispatch(
              target
                ? { type: 'picked', key, session, backend: { address: target.address, host: target.host, port: target.port }, header: datagramHeader(pool.config, client, local) }
                : { type: 'unpicked', key, session, reason: 'no_backend' },
            );
          },
          error: () => {
            answered = true;
            dispatch({ type: 'unpicked', key, session, reason: 'error' });
          },
          complete: () => {
            picks.delete(session);
            if (!answered) dispatch({ type: 'unpicked', key, session, reason: 'no_backend' });
          },
        });
      if (!subscription.closed) picks.set(session, subscription);
    };

    const connect = (key: string, upstream: number, backend: { readonly host: string; readonly port: number }): void => {
      const entry: { socket: S | undefined; subscription: Subscription | undefined } = { socket: undefined, subscription: undefined };
      upstreams.set(upstream, entry);
      entry.subscription = io.upstream$(backend).subscribe({
        next: (event) => {
          if (event.type === 'reply') {
            dispatch({ type: 'reply', key, upstream, data: event.data, at: ctx.now() });
            return;
          }
          entry.socket = event.socket;
          dispatch({ type: 'ready', key, upstream });
        },
        error: (err: unknown) => dispatch({ type: 'upstream-error', key, upstream, reason: err instanceof UpstreamConnectError ? err.reason : 'error' }),
        complete: () => dispatch({ type: 'upstream-error', key, upstream, reason: 'error' }),
      });
    };

    const listen = (first: ListenerConfig): Subscription =>
      io.listen$(first).subscribe({
        next: (event) => {
          switch (event.type) {
            case 'datagram': {
              const key = formatHostPort(event.client.address, event.client.port);
              const room = table!.sessions.has(key) || hasRoom(ctx.state(), table!.settings.listener, ctx.connectionCap);
              dispatch({ type: 'datagram', key, client: event.client, data: event.data, at: ctx.now(), room });
              return;
            }
            case 'listening':
              socket = event.socket;
              address = event.address;
              local = event.local;
              subscriber.next({ type: 'listening', listener: listener!, address: event.address });
              return;
            case 'receive-error':
              subscriber.next({ type: 'accept-error', listener: listener!, error: event.error });
              return;
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });

    // The first config starts the table and the socket; each later one becomes the
    // table's settings. The sweep keeps the pace of the timeout in force.
    let listening: Subscription | undefined;
    const apply = (next: ListenerConfig): void => {
      const before = listener;
      listener = next;
      if (table === undefined) {
        table = emptySessionTable(settingsOf(next));
        listening = listen(next);
        return;
      }
      dispatch({ type: 'settings', settings: settingsOf(next) });
      if (before?.name !== next.name && address !== undefined) subscriber.next({ type: 'listening', listener: next, address });
    };
    const sweep = listener$
      .pipe(
        tap(apply),
        map((l) => sweepIntervalMs(l.sessionTimeoutMs)),
        distinctUntilChanged(),
        switchMap((every) => interval(every)),
      )
      .subscribe({
        next: () => dispatch({ type: 'tick', at: ctx.now() }),
        error: (err: unknown) => subscriber.error(err),
      });

    // Ends everything: the records go wherever `emit` points by then.
    const stopping = new Subscription();
    const end = (): void => {
      stopping.unsubscribe();
      sweep.unsubscribe();
      listening?.unsubscribe();
      socket = undefined;
      for (const subscription of picks.values()) subscription.unsubscribe();
      picks.clear();
      dispatch({ type: 'shutdown', at: ctx.now() });
      for (const upstream of upstreams.values()) upstream.subscription?.unsubscribe();
      upstreams.clear();
    };
    stopping.add(
      ctx.stop$.subscribe(() => {
        end();
        subscriber.complete();
      }),
    );

    return () => {
      emit = ctx.cut;
      end(); // a second time (after stop$) finds nothing left
    };
  });
}

function settingsOf(listener: ListenerConfig): SessionSettings {
  const { allow, deny, routes, pool } = listener;
  return { listener: listener.name, pool, allow, deny, routes, timeoutMs: listener.sessionTimeoutMs, maxSessions: listener.maxSessions };
}
