import { Observable, type Observer, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { LimitError, NoBackendError, UpstreamConnectError } from '../../errors.js';
import type { ListenerConfig, PoolConfig } from '../../config/types.js';
import { establish$, type EstablishContext, type EstablishStep } from './establish.js';
import type { CloseReason, ConnClosed, ConnEvent } from '../state/events.js';
import { formatHostPort } from '../../config/endpoint.js';
import { hasRoom } from '../state/limits.js';
import type { Accepted, ConnectionIo, SpliceEnd } from '../ports.js';

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
 *    then completes, releasing all it held. If it fails,
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
    const client = formatHostPort(accepted.client.address, accepted.client.port);
    // Read the state before announcing this connection: `conn-opened` reaches the
    // state at once, and this connection must not count against its own limit.
    const state = ctx.state();
    const pool = state.pools[listener.pool]?.config;
    const full = !hasRoom(state, listener.name, ctx.connectionCap);
    const open = new OpenConnection(subscriber, ctx, socket, listener, pool, client);
    subscriber.next({ type: 'conn-opened', listener: listener.name, client });
    if (!pool || full) {
      open.finish(pool ? 'limit' : 'no_backend');
      return open;
    }
    open.setup = establish$({ listener: listener.name, client, address: accepted.client, pool }, ctx).subscribe(open);
    return open;
  });
}

/**
 * What one connection holds while it lasts: its few fields, the observer of both
 * phases (`establish$` steps, then the copy's end) and the teardown, in one object.
 * A connection can live for hours and thousands can be open, so this is a class rather
 * than closures over the subscribe function: no per-connection function objects, and
 * nothing held that only setting up needed (the accepted record, the state read).
 */
class OpenConnection<C, U> implements Observer<EstablishStep<U> | SpliceEnd>, Unsubscribable {
  /** Phase 1, until connected; then phase 2, the copy. */
  setup: Subscription | undefined;
  private copy: Subscription | undefined;
  /** The backend this connection holds a slot on. */
  private backend: string | undefined;
  private upstream: U | undefined;
  private closed = false;
  private readonly started: number;

  constructor(
    private readonly subscriber: Subscriber<ConnEvent>,
    private readonly ctx: ConnectionContext<C, U>,
    private readonly socket: C,
    private readonly listener: ListenerConfig,
    private readonly pool: PoolConfig | undefined,
    private readonly client: string,
  ) {
    this.started = ctx.now();
  }

  /** A step of `establish$`, or (without a `type`) how the copy ended. */
  next(step: EstablishStep<U> | SpliceEnd): void {
    if (!('type' in step)) {
      this.finish(step.reason);
      return;
    }
    if (step.type !== 'established') {
      this.backend = step.type === 'conn-attempt' ? step.backend : undefined;
      this.subscriber.next(step);
      return;
    }
    const pool = this.pool as PoolConfig; // establish$ runs only with a pool
    this.upstream = step.socket;
    this.subscriber.next({ type: 'conn-connected', listener: this.listener.name, pool: pool.name, client: this.client, backend: step.backend, attempt: step.attempt });
    this.copy = this.ctx.io.splice$(this.socket, step.socket, pool.idleTimeoutMs).subscribe(this);
    this.setup = undefined; // establish$ completes after this step: a long connection need not keep its subscriber
  }

  /** No backend could be connected: answer the client as `on_no_backend` says. */
  error(err: unknown): void {
    this.ctx.io.refuse(this.socket, (this.pool as PoolConfig).onNoBackend);
    this.finish(refusalReason(err));
  }

  complete(): void {
    // establish$ completes once connected, the copy after its end: both said so already
  }

  /** The record this connection ends with; `emit` false hands it back for ctx.cut. */
  finish(reason: CloseReason, emit = true): ConnClosed | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    const bytes = this.ctx.io.transferred(this.socket, this.upstream);
    const record: ConnClosed = {
      type: 'conn-closed',
      listener: this.listener.name,
      pool: this.listener.pool,
      client: this.client,
      backend: this.backend,
      bytesUp: bytes.up,
      bytesDown: bytes.down,
      durationMs: this.ctx.now() - this.started,
      reason,
    };
    if (!emit) return record;
    this.subscriber.next(record);
    this.subscriber.complete();
    return undefined;
  }

  /** Teardown: ends whichever phase runs (its own teardown destroys the upstream), then releases the client. */
  unsubscribe(): void {
    this.setup?.unsubscribe();
    this.copy?.unsubscribe();
    const cut = this.finish('shutdown', false); // after the copy's teardown: the counts include every byte
    if (cut) this.ctx.cut(cut);
    this.ctx.io.release(this.socket);
  }
}

function refusalReason(err: unknown): CloseReason {
  if (err instanceof UpstreamConnectError) return 'connect_failed';
  if (err instanceof NoBackendError) return 'no_backend';
  if (err instanceof LimitError) return 'limit';
  return 'error'; // a failing policy, or a bug: the client is still answered
}
