import type { Observable } from 'rxjs';
import type { Endpoint, ListenerConfig, OnNoBackend } from '../config/types.js';
import type { ClientAddress } from '../operators/policies/types.js';

/**
 * The edges the stream graph is built against. `src/io` implements them with real
 * sockets; marble tests implement them with `cold()` observables and plain objects,
 * which is why nothing in `src/streams` imports `node:net`.
 */

/** How the bidirectional copy ended, when it ended by itself. */
export interface SpliceEnd {
  readonly reason: 'client_closed' | 'backend_closed' | 'idle_timeout' | 'error';
}

/** Bytes delivered each way so far. */
export interface Transferred {
  readonly up: number;
  readonly down: number;
}

export interface ConnectionIo<C, U> {
  /**
   * Watches a client while its connection is being set up: emits once if the client
   * goes (a reset, an error on its socket, or a socket already closed when watched),
   * never on a half-close (a FIN): a client that has finished sending may still await
   * its answer, and what it sent, its end included, waits in the socket for the copy.
   * Teardown stops watching; tear the watch down before anything reads the client (the
   * copy, a refusal), or the socket may not flow.
   */
  clientGone$(client: C): Observable<void>;
  /**
   * Connects to a backend: emits the socket once connected and completes, handing the
   * socket over; errors with UpstreamConnectError before the connection is up.
   * Unsubscribed before then, it destroys the socket it made.
   */
  connect$(target: Endpoint): Observable<U>;
  /**
   * Copies bytes both ways with the runtime's own piping (backpressure, half-close),
   * after writing `first` to the upstream (a PROXY header, the bytes read at the door);
   * emits one SpliceEnd when both directions are done, or `idle_timeout` once no byte
   * has moved either way for `idleMs` (0: never), then completes. Teardown destroys
   * both sockets. The idle clock belongs here rather than in a stream of its own:
   * the runtime restarts it on every read and write, which no stream may hear about
   * (bytes never pass through RxJS), and a long connection keeps one subscription.
   */
  splice$(client: C, upstream: U, idleMs: number, first?: Uint8Array): Observable<SpliceEnd>;
  /**
   * The bytes a client sends, as they arrive, for the door to read a header or a
   * ClientHello before routing (see `DoorIo.preread$`).
   */
  preread$(client: C): Observable<Buffer>;
  /** The address a client connected to (the listener's side of its socket), for PROXY headers. */
  localAddress(client: C): ClientAddress | undefined;
  /** Bytes delivered so far; `upstream` undefined means none was connected. */
  transferred(client: C, upstream: U | undefined): Transferred;
  /** Turns a client away for want of a backend: a 503 response or a plain close. */
  refuse(client: C, how: OnNoBackend): void;
  /** Destroys the adopted client socket unless it is already closing by itself. */
  release(client: C): void;
}

/** A client connection a listener accepted. */
export interface Accepted<C> {
  readonly listener: ListenerConfig;
  readonly socket: C;
  readonly client: ClientAddress;
}

/** What a listener reports: its bound address once, then each connection. */
export type ListenEvent<C> =
  | { readonly type: 'listening'; readonly listener: ListenerConfig; readonly address: string }
  | { readonly type: 'accepted'; readonly accepted: Accepted<C> }
  | { readonly type: 'accept-error'; readonly listener: ListenerConfig; readonly error: Error };

export interface ListenIo<C> {
  /**
   * Binds a listener: emits `listening`, then `accepted` per connection; errors with
   * ListenError if it cannot bind. Teardown stops accepting (open connections stay).
   */
  listen$(listener: ListenerConfig): Observable<ListenEvent<C>>;
}

/** One active health check against one backend, everything resolved from the config. */
export interface ProbeTarget {
  readonly kind: 'tcp' | 'http';
  /** Where to connect: the backend's host, on `health.port` or else the backend's own port. */
  readonly host: string;
  readonly port: number;
  /** http only: the path to GET (a target's own `health_check_endpoint` wins over the pool's `path`). */
  readonly path: string;
  /** http only: the `Host` header, the backend as written in the config with the checked port. */
  readonly hostHeader: string;
  /** http only: inclusive status ranges that pass. */
  readonly expectStatus: readonly (readonly [number, number])[];
  /**
   * The PROXY header the check sends first (`send_proxy = true`: its pool's version), or
   * none: v2 sends LOCAL, as the spec advises for a proxy's own connections; v1, which
   * has no such command, a `PROXY TCP4` or `TCP6` line with the check's own addresses.
   */
  readonly sendProxy?: 'v1' | 'v2' | undefined;
}

/** What one check found: pass or fail, and a few words on why (`status 200`, `connection refused`). */
export interface ProbeResult {
  readonly pass: boolean;
  readonly detail: string;
}

export interface HealthIo {
  /**
   * Runs one check: emits one ProbeResult, then completes. Failing to connect is a
   * failed result, not an error. The stream applies `timeout` by unsubscribing, and
   * teardown destroys the socket the check made.
   */
  probe$(target: ProbeTarget): Observable<ProbeResult>;
}

/**
 * What a UDP listener reports: `listening` once bound, with the socket replies are sent
 * from and the address it is bound to (`address` as the records write it), then one `datagram` per datagram received, and `receive-error` for a socket
 * error after binding (the listener keeps going).
 */
export type UdpListenEvent<L> =
  | { readonly type: 'listening'; readonly listener: ListenerConfig; readonly address: string; readonly socket: L; readonly local: ClientAddress }
  | { readonly type: 'datagram'; readonly client: ClientAddress; readonly data: Uint8Array }
  | { readonly type: 'receive-error'; readonly listener: ListenerConfig; readonly error: Error };

/** What a session's upstream socket reports: `ready` once it can send, then one `reply` per datagram from the backend. */
export type UdpUpstreamEvent<S> = { readonly type: 'ready'; readonly socket: S } | { readonly type: 'reply'; readonly data: Uint8Array };

/**
 * The UDP edges. A datagram is the unit UDP carries, so unlike TCP's bytes each one
 * passes through `next`: there is no stream to pipe, and a datagram is never split.
 */
export interface UdpIo<L, S> {
  /**
   * Binds a UDP socket: emits `listening`, then each datagram; errors with ListenError
   * if it cannot bind. Teardown closes the socket.
   */
  listen$(listener: ListenerConfig): Observable<UdpListenEvent<L>>;
  /** Sends one datagram from the listener's socket to a client; a failed send is dropped, as UDP does. */
  reply(socket: L, client: ClientAddress, data: Uint8Array): void;
  /**
   * A socket connected to one backend, for one session: emits `ready`, then each reply.
   * Errors with UpstreamConnectError on a socket error: an ICMP port-unreachable from
   * the backend arrives as `refused`. Never completes by itself; teardown closes it.
   */
  upstream$(target: Endpoint): Observable<UdpUpstreamEvent<S>>;
  /**
   * Sends one datagram to the backend: `header` (a PROXY header), if given, then `data`,
   * as one datagram; a failure comes out of `upstream$` as its error.
   */
  forward(upstream: S, data: Uint8Array, header?: Uint8Array): void;
}
