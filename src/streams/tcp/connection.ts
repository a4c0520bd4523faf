import { Observable, type Observer, type Subscriber, type Subscription, type Unsubscribable, asyncScheduler, of, take } from 'rxjs';
import { formatHostPort } from '../../config/endpoint.js';
import type { ListenerConfig, PoolConfig } from '../../config/types.js';
import { LimitError, NoBackendError, PolicyFailedError, UpstreamConnectError } from '../../errors.js';
import type { ClientAddress, RouteRequest } from '../../operators/policies/types.js';
import { type Arrival, type Door, arrivalOf } from '../door/arrival.js';
import type { Accepted, ConnectionIo, SpliceEnd } from '../ports.js';
import { eligible } from '../routing/eligible.js';
import { type Answer, PENDING, type Router } from '../routing/router.js';
import type { BackendState, BalancerState } from '../state/backend-state.js';
import type { CloseReason, ConnClosed, ConnEvent, ConnFailed } from '../state/events.js';
import { hasRoom } from '../state/limits.js';
import { preamble } from './preamble.js';

/** What one connection needs from the rest of the graph. */
export interface ConnectionContext<C, U> {
  readonly io: ConnectionIo<C, U>;
  /** The latest backend state, read when the connection arrives and at each pick. */
  readonly state: () => BalancerState;
  /** The running policy of a pool, if the pool exists. */
  readonly router: (pool: string) => Router | undefined;
  /**
   * Takes the `conn-closed` record of a connection that was unsubscribed before it
   * ended by itself: rxlb cuts connections only at shutdown, so its reason is `shutdown`.
   */
  readonly cut: (closed: ConnClosed) => void;
  readonly now: () => number;
  /** The most connections the process may hold (from its descriptor limit); Infinity for none. */
  readonly connectionCap: number;
  /**
   * The door of a listener (access lists, a PROXY header to read, routes, per-client
   * limits), if it has one: operators a connection passes through before it is routed.
   * A listener without one pays nothing for it.
   */
  readonly door?: (listener: ListenerConfig) => Door<C> | undefined;
}

const NOTHING_TRIED: ReadonlySet<string> = new Set();

/**
 * One accepted client connection, from accept to close, as an observable of its
 * lifecycle events: `conn-opened`, then per attempt `conn-attempt` and `conn-failed` or
 * `conn-connected`, and always exactly one `conn-closed` last, then complete.
 *
 * ```
 * client gone:   ---------------------        (watched until the copy takes over)
 * connect to A:   -----#                      (refused)
 * connect to B:         ----(u|)
 * copy:                      ---------(s|)    (the peers finish)
 * events:        (oa)--(fa)--c--------(x|)    o opened, a attempt, f failed, c connected, x closed
 * ```
 *
 * 1. Admit: refuse at once with `limit` when the listener or the process is full.
 * 2. Set-up. From here until the copy starts, the client is watched: if it goes (a
 *    reset, an error; not a half-close), the connection ends at once as
 *    `client_closed`, abandoning the pick or connect under way and every slot it took.
 *    a. Pick: the eligible backends it has not tried, and the pool's policy, asked and
 *       answered on the same tick. A policy that answers late is waited on for at most
 *       `connect_timeout`, then the connection fails (the policy is reported).
 *    b. Connect within `connect_timeout` (a timer on the async scheduler, so virtual in
 *       tests). A failure moves on to another backend (back to a), at most `retries`
 *       times: nothing has been forwarded yet, so nothing is lost. A failure of rxlb's
 *       own (out of descriptors) is not retried: it would fail anywhere.
 *    c. If set-up fails, `on_no_backend` answers the client: no byte has been forwarded.
 * 3. The copy: one native `splice$` of the two sockets, ended by the peers or by
 *    `idle_timeout`. Nothing is ever written to the client here but the backend's bytes.
 *
 * Teardown ends whichever phase runs (the connect's teardown destroys its socket, the
 * copy's both sockets) and releases the client (adopted from the listener). A
 * connection torn down before it ended (at shutdown) hands its record to `ctx.cut`,
 * since it can no longer emit.
 */
export function connection$<C, U>(accepted: Accepted<C>, ctx: ConnectionContext<C, U>): Observable<ConnEvent> {
  return new Observable<ConnEvent>((subscriber) => {
    const connection = new Connection(subscriber, ctx, accepted);
    connection.start();
    return connection;
  });
}

/**
 * Everything one connection holds, in one object that is also its teardown and the
 * observer of its copy. A connection can live for hours and thousands can be open, so
 * what only set-up needs (the pick, the connect, the client watch, their callbacks)
 * is dropped once the copy starts.
 */
class Connection<C, U> implements Observer<SpliceEnd>, Unsubscribable {
  private readonly listener: ListenerConfig;
  private readonly socket: C;
  /** The client: the TCP peer, or the source of its PROXY header once the door has read it. */
  private address: ClientAddress;
  /** The client's `host:port`, as the records name it. */
  private client: string;
  /** What the door learned (undefined without a door): the TCP peer, the server name, the route, the bytes read. */
  private arrival: Arrival<C> | undefined;
  private atDoor: Subscription | undefined;
  /** Bytes of PROXY header sent to the backend: not the client's, so not in `bytes_up`. */
  private overhead = 0;
  private readonly started: number;
  private pool: PoolConfig | undefined;
  /** Set-up only: the client watch, the connect or pick deadline, the connect under way, the pick waiting on a policy. */
  private watch: Subscription | undefined;
  private deadline: Subscription | undefined;
  private connecting: Subscription | undefined;
  private waiting: { readonly router: Router; readonly request: RouteRequest } | undefined;
  private tried: Set<string> | undefined; // made at the first failure
  private lastFailure: UpstreamConnectError | undefined;
  private attempt = 0;
  /** The backend of the attempt under way or connected; after a failed attempt, the last one tried. */
  private backend: string | undefined;
  /** Whether this connection holds a slot on `backend` (from its attempt until it fails or the connection closes). */
  private holding = false;
  private upstream: U | undefined;
  private copy: Subscription | undefined;
  private closed = false;

  constructor(
    private readonly subscriber: Subscriber<ConnEvent>,
    private readonly ctx: ConnectionContext<C, U>,
    accepted: Accepted<C>,
  ) {
    this.listener = accepted.listener;
    this.socket = accepted.socket;
    this.address = accepted.client;
    this.client = formatHostPort(accepted.client.address, accepted.client.port);
    this.started = ctx.now();
  }

  /** 1. Admit, then 2. set up. */
  start(): void {
    const { ctx, listener } = this;
    // Read the state before announcing this connection: `conn-opened` reaches the
    // state at once, and this connection must not count against its own limit.
    const state = ctx.state();
    this.pool = state.pools[listener.pool]?.config;
    const door = ctx.door?.(listener);
    const full = !hasRoom(state, listener.name, ctx.connectionCap);
    this.subscriber.next({ type: 'conn-opened', listener: listener.name, client: this.client });
    // With a door, routes may still send it to a pool: the listener's own is not needed yet.
    if ((this.pool === undefined && door === undefined) || full) {
      this.finish(full ? 'limit' : 'no_backend');
      return;
    }
    this.watch = ctx.io.clientGone$(this.socket).subscribe(() => this.finish('client_closed'));
    if (this.closed) return;
    if (door === undefined) {
      this.pick();
      return;
    }
    // 2. The door: one arrival in, one out (refused, or with what it learned).
    const arrival = arrivalOf(this.socket, listener, this.address);
    this.atDoor = of(arrival)
      .pipe(door, take(1))
      .subscribe({
        next: (passed) => this.passed(passed),
        error: (err: unknown) => this.fail(err),
        complete: () => {
          if (this.arrival === undefined) this.finish('error'); // a door that let nothing through: a bug in it
        },
      });
  }

  /** Through the door: turned away, or on to its pool as its client. */
  private passed(arrival: Arrival<C>): void {
    this.atDoor = undefined;
    this.arrival = arrival;
    if (arrival.client !== arrival.peer) {
      this.address = arrival.client;
      this.client = formatHostPort(arrival.client.address, arrival.client.port);
    }
    if (arrival.refused !== undefined) {
      this.finish(arrival.refused);
      return;
    }
    this.pool = this.ctx.state().pools[arrival.pool]?.config;
    if (this.pool === undefined) this.finish('no_backend');
    else this.pick();
  }

  /** 2a. Asks the pool's policy for a backend this client has not tried. */
  private pick(): void {
    const pool = this.pool as PoolConfig;
    const current = this.ctx.state().pools[pool.name];
    const router = this.ctx.router(pool.name);
    if (current === undefined || router === undefined) {
      this.fail(new NoBackendError(pool.name));
      return;
    }
    const choice = eligible(current.backends, this.tried ?? NOTHING_TRIED);
    if (!choice.ok) {
      // Every backend was tried and failed: a connect failure, not an empty pool.
      if (choice.reason === 'no_backend' && this.lastFailure) this.fail(this.lastFailure);
      else this.fail(choice.reason === 'limit' ? new LimitError(`pool ${pool.name}: every backend is full`) : new NoBackendError(pool.name));
      return;
    }
    const request: RouteRequest = { pool: pool.name, client: this.address, candidates: choice.candidates, up: choice.up };
    const answer = router.pick(request, (late) => this.answered(late));
    if (answer !== PENDING) {
      this.answered(answer);
      return;
    }
    this.waiting = { router, request };
    this.deadline = asyncScheduler.schedule(() => {
      this.deadline = undefined;
      this.waiting = undefined;
      this.fail(router.expire(request));
    }, pool.connectTimeoutMs);
  }

  private answered(answer: Answer): void {
    if (this.waiting !== undefined) {
      this.waiting = undefined;
      this.clearDeadline();
    }
    if (answer instanceof PolicyFailedError) this.fail(answer);
    else if (answer === undefined) this.fail(new NoBackendError((this.pool as PoolConfig).name));
    else this.connect(answer as BackendState); // the router checked it is one of the candidates
  }

  /** 2b. One attempt, within `connect_timeout`. */
  private connect(target: BackendState): void {
    const pool = this.pool as PoolConfig;
    const attempt = (this.attempt += 1);
    this.backend = target.address;
    this.holding = true;
    this.subscriber.next({ type: 'conn-attempt', listener: this.listener.name, pool: pool.name, client: this.client, backend: target.address, attempt });
    this.deadline = asyncScheduler.schedule(() => this.failed(target, attempt, new UpstreamConnectError(target.address, 'timeout')), pool.connectTimeoutMs);
    const connecting = this.ctx.io.connect$(target).subscribe({
      next: (socket) => this.connected(target, attempt, socket),
      error: (err: unknown) => this.failed(target, attempt, err instanceof UpstreamConnectError ? err : new UpstreamConnectError(target.address, 'error', { cause: err })),
    });
    if (this.upstream === undefined && attempt === this.attempt && !this.closed) this.connecting = connecting;
  }

  private failed(target: BackendState, attempt: number, failure: UpstreamConnectError): void {
    if (this.closed || attempt !== this.attempt || this.upstream !== undefined) return;
    const pool = this.pool as PoolConfig;
    this.clearDeadline();
    this.connecting?.unsubscribe(); // a timed-out connect is torn down, destroying its socket
    this.connecting = undefined;
    this.holding = false;
    this.lastFailure = failure;
    (this.tried ??= new Set()).add(target.address);
    const event: ConnFailed = { type: 'conn-failed', listener: this.listener.name, pool: pool.name, client: this.client, backend: target.address, attempt, reason: failure.reason };
    this.subscriber.next(failure.local ? { ...event, local: failure.local } : event);
    // 2b: `retries` more attempts after the first.
    if (attempt <= pool.retries && !failure.local) this.pick();
    else this.fail(failure);
  }

  /** Connected: the set-up is over, and the copy takes the client over from the watch. */
  private connected(target: BackendState, attempt: number, socket: U): void {
    if (this.closed || attempt !== this.attempt) return;
    const pool = this.pool as PoolConfig;
    this.clearDeadline();
    this.connecting = undefined; // connect$ completes after handing the socket over
    this.upstream = socket;
    this.endSetUp();
    this.subscriber.next({ type: 'conn-connected', listener: this.listener.name, pool: pool.name, client: this.client, backend: target.address, attempt });
    // 3. The copy, after the pool's PROXY header and what the door read. From here nothing
    // but the backend's bytes is written to the client.
    const arrival = this.arrival;
    const first = pool.proxyProtocol === undefined && arrival?.preread === undefined ? undefined : this.preamble(pool, arrival);
    this.copy = this.ctx.io.splice$(this.socket, socket, pool.idleTimeoutMs, first).subscribe(this);
  }

  private preamble(pool: PoolConfig, arrival: Arrival<C> | undefined): Buffer | undefined {
    const destination = arrival?.destination ?? (pool.proxyProtocol === undefined ? undefined : this.ctx.io.localAddress(this.socket));
    const { first, header } = preamble(pool, this.address, destination, arrival?.preread);
    this.overhead = header;
    if (arrival !== undefined && arrival.preread !== undefined) this.arrival = { ...arrival, preread: undefined }; // sent: not held for the connection's life
    return first;
  }

  /** 2c. Set-up failed before any byte was forwarded: answer as `on_no_backend` says. */
  private fail(err: unknown): void {
    if (this.closed) return;
    if (this.pool !== undefined) this.ctx.io.refuse(this.socket, this.pool.onNoBackend);
    this.finish(refusalReason(err));
  }

  /** How the copy ended. */
  next(end: SpliceEnd): void {
    this.finish(end.reason);
  }

  /** The copy failed (a bug in it): the connection ends, and nothing is written to the client. */
  error(): void {
    this.finish('error');
  }

  complete(): void {
    // the copy completes after its end, which `next` has already recorded
  }

  /** The record this connection ends with; `emit` false hands it back for ctx.cut. */
  private finish(reason: CloseReason, emit = true): ConnClosed | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    this.endSetUp();
    this.arrival?.leave?.();
    const bytes = this.ctx.io.transferred(this.socket, this.upstream);
    const record: ConnClosed = {
      type: 'conn-closed',
      listener: this.listener.name,
      pool: this.listener.pool,
      client: this.client,
      backend: this.backend,
      bytesUp: bytes.up - this.overhead,
      bytesDown: bytes.down,
      durationMs: this.ctx.now() - this.started,
      reason,
    };
    // After a failed attempt the record still names the backend last tried, whose slot is already given back.
    let closed: ConnClosed = this.holding || this.backend === undefined ? record : { ...record, released: true };
    if (this.arrival !== undefined) closed = withDoorFacts(closed, this.arrival);
    if (!emit) return closed;
    this.subscriber.next(closed);
    this.subscriber.complete();
    return undefined;
  }

  /** Drops everything set-up holds: the client watch, the deadline, the connect under way, the pick waiting. */
  private endSetUp(): void {
    this.watch?.unsubscribe();
    this.watch = undefined;
    this.clearDeadline();
    this.connecting?.unsubscribe();
    this.connecting = undefined;
    this.atDoor?.unsubscribe();
    this.atDoor = undefined;
    if (this.waiting !== undefined) {
      this.waiting.router.forget(this.waiting.request);
      this.waiting = undefined;
    }
  }

  private clearDeadline(): void {
    this.deadline?.unsubscribe();
    this.deadline = undefined;
  }

  /** Teardown: ends whichever phase runs, then releases the client. */
  unsubscribe(): void {
    this.copy?.unsubscribe();
    const cut = this.finish('shutdown', false); // after the copy's teardown: the counts include every byte
    if (cut) this.ctx.cut(cut);
    this.ctx.io.release(this.socket);
  }
}

/** A record with what the door learned: the TCP peer when it is not the client, the server name, the route. */
function withDoorFacts<C>(record: ConnClosed, arrival: Arrival<C>): ConnClosed {
  const peer = arrival.client === arrival.peer ? undefined : formatHostPort(arrival.peer.address, arrival.peer.port);
  if (peer === undefined && arrival.sni === undefined && arrival.route === undefined && arrival.uniqueId === undefined) return record;
  return { ...record, peer, sni: arrival.sni, route: arrival.route, uniqueId: arrival.uniqueId };
}

function refusalReason(err: unknown): CloseReason {
  if (err instanceof UpstreamConnectError) return 'connect_failed';
  if (err instanceof NoBackendError) return 'no_backend';
  if (err instanceof LimitError) return 'limit';
  return 'error'; // a failing policy, or a bug: the client is still answered
}
