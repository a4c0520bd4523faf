import { Observable, type Subscription } from 'rxjs';
import { LimitError, NoBackendError, UpstreamConnectError } from '../errors.js';
import { establish$, type EstablishContext } from './establish.js';
import type { CloseReason, ConnClosed, ConnEvent } from './events.js';
import { formatHostPort } from '../config/endpoint.js';
import type { Accepted, ConnectionIo } from './ports.js';
import type { BalancerState } from './state.js';

/** What one connection needs from the rest of the graph. */
export interface ConnectionContext<C, U> extends EstablishContext<U> {
  readonly io: ConnectionIo<C, U>;
  /**
   * Takes the `conn-closed` record of a connection that was unsubscribed before it
   * ended by itself: rxlb cuts connections only at shutdown, so its reason is `shutdown`.
   */
  readonly cut: (closed: ConnClosed) => void;
  readonly now: () => number;
  /** The most connections the process may hold (from its descriptor limit); Infinity for none. */
  readonly connectionCap: number;
}

/**
 * One accepted client connection, from accept to close, as an observable of its
 * lifecycle events: `conn-opened`, then per attempt `conn-attempt` and `conn-failed` or
 * `conn-connected`, and always exactly one `conn-closed` last, then complete.
 *
 * ```
 * establish$:  a-----(e|)              (attempt, then the connected upstream)
 * splice$:           ---------(s|)     (the copy ends by itself)
 * events:      (oa)--c--------(x|)     o opened, c connected, x closed
 * ```
 *
 * It runs in two phases, and a long-lived connection holds only the second:
 * 1. Refuse at once with `limit` when the listener or the process is full.
 * 2. `establish$` picks a backend and connects (timeouts, retries on other backends),
 *    then completes, releasing its whole operator chain. If it fails,
 *    `on_no_backend` answers the client.
 * 3. The copy: one native `splice$` of the two sockets, ended by the peers or by
 *    `idle_timeout` with no byte either way.
 * Teardown releases the client socket (adopted from the listener) and unsubscribes
 * whichever phase is running, whose own teardown destroys the upstream socket. A
 * connection torn down before it ended (at shutdown) hands its record to `ctx.cut`,
 * since it can no longer emit.
 */
export function connection$<C, U>(accepted: Accepted<C>, ctx: ConnectionContext<C, U>): Observable<ConnEvent> {
  return new Observable<ConnEvent>((subscriber) => {
    const { listener, socket } = accepted;
    const { io } = ctx;
    const client = formatHostPort(accepted.client.address, accepted.client.port);
    const started = ctx.now();
    let backend: string | undefined; // the backend this connection holds a slot on
    let upstream: U | undefined;
    let closed = false;

    // The record this connection ends with; `emit` false hands it back for ctx.cut.
    const finish = (reason: CloseReason, emit = true): ConnClosed | undefined => {
      if (closed) return undefined;
      closed = true;
      const bytes = io.transferred(socket, upstream);
      const record: ConnClosed = {
        type: 'conn-closed',
        listener: listener.name,
        pool: listener.pool,
        client,
        backend,
        bytesUp: bytes.up,
        bytesDown: bytes.down,
        durationMs: ctx.now() - started,
        reason,
      };
      if (!emit) return record;
      subscriber.next(record);
      subscriber.complete();
      return undefined;
    };

    // Read the state before announcing this connection: `conn-opened` reaches the
    // state at once, and this connection must not count against its own limit.
    const state = ctx.state();
    const pool = state.pools[listener.pool]?.config;
    const full = atLimit(state, listener.name, ctx.connectionCap);
    subscriber.next({ type: 'conn-opened', listener: listener.name, client });
    if (!pool || full) {
      finish(pool ? 'limit' : 'no_backend');
      return () => io.release(socket);
    }

    // Phase 1 holds `setup` until connected; phase 2 holds only `copy`.
    let copy: Subscription | undefined;
    const setup = establish$({ listener: listener.name, client, address: accepted.client, pool }, ctx).subscribe({
      next: (step) => {
        if (step.type !== 'established') {
          backend = step.type === 'conn-attempt' ? step.backend : undefined;
          subscriber.next(step);
          return;
        }
        upstream = step.socket;
        subscriber.next({ type: 'conn-connected', listener: listener.name, pool: pool.name, client, backend: step.backend, attempt: step.attempt });
        copy = io.splice$(socket, step.socket, pool.idleTimeoutMs).subscribe((end) => finish(end.reason));
      },
      error: (err: unknown) => {
        io.refuse(socket, pool.onNoBackend);
        finish(refusalReason(err));
      },
    });
    return () => {
      setup.unsubscribe();
      copy?.unsubscribe();
      const cut = finish('shutdown', false); // after the copy's teardown: the counts include every byte
      if (cut) ctx.cut(cut);
      io.release(socket);
    };
  });
}

function atLimit(state: BalancerState, listener: string, cap: number): boolean {
  const own = state.listeners[listener];
  const globalMax = state.config?.global.maxConnections ?? 0;
  if (state.active >= (globalMax > 0 ? Math.min(globalMax, cap) : cap)) return true;
  return own !== undefined && own.config.maxConnections > 0 && own.active >= own.config.maxConnections;
}

function refusalReason(err: unknown): CloseReason {
  if (err instanceof UpstreamConnectError) return 'connect_failed';
  if (err instanceof NoBackendError) return 'no_backend';
  if (err instanceof LimitError) return 'limit';
  return 'error'; // a failing policy, or a bug: the client is still answered
}
