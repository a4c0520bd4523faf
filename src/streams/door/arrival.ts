import type { Observable, OperatorFunction } from 'rxjs';
import type { ListenerConfig } from '../../config/types.js';
import type { ClientAddress } from '../../operators/policies/types.js';

/** Why the door turned a connection away; each is also its `connection closed` reason. */
export type DoorRefusal = 'denied' | 'rate_limit' | 'limit' | 'bad_header' | 'preread_timeout' | 'no_route';

/**
 * A connection at the door: what is known of it before it is routed. Door operators
 * read it and pass on a copy with what they learned (the client behind a PROXY header,
 * the TLS server name, the route), or with `refused` set, which every later operator
 * passes on untouched.
 */
export interface Arrival<C> {
  readonly socket: C;
  readonly listener: ListenerConfig;
  /** The TCP peer. */
  readonly peer: ClientAddress;
  /** The client: the TCP peer, or the source of its PROXY header. */
  readonly client: ClientAddress;
  /** Where the client connected to: the PROXY header's destination, else the listener's address once known. */
  readonly destination: ClientAddress | undefined;
  /** Bytes read from the client at the door, to be forwarded to the backend before any other. */
  readonly preread: Buffer | undefined;
  /** The ClientHello's server name (lower-cased), or a PROXY header's authority; undefined when none. */
  readonly sni: string | undefined;
  /** ALPN protocols the ClientHello offered (or a PROXY header's ALPN); empty when none. */
  readonly alpn: readonly string[];
  /** A PROXY v2 header's unique id (hex), for the logs. */
  readonly uniqueId: string | undefined;
  /** The index of the route that matched, if any. */
  readonly route: number | undefined;
  /** The pool it goes to: the matched route's, else the listener's own. */
  readonly pool: string;
  /** Set when the door turned it away. */
  readonly refused: DoorRefusal | undefined;
  /** What was wrong, in a few words, when a refusal needs saying (a bad PROXY header): the record's `detail`. */
  readonly detail: string | undefined;
  /**
   * Called once when the connection ends, if set: a door operator that counts open
   * connections (per client) gives its count back here.
   */
  readonly leave: (() => void) | undefined;
}

/**
 * The door of a listener: operators each arrival passes through, once, before routing.
 * It must emit exactly one arrival per arrival it is given (refused or not).
 */
export type Door<C> = OperatorFunction<Arrival<C>, Arrival<C>>;

/** What door operators may use besides the arrival: the client's first bytes, and a clock. */
export interface DoorIo<C> {
  /**
   * The bytes a client sends, as they arrive, for reading a header or a ClientHello
   * before routing. What is read is the reader's: it must hand on what it does not
   * consume in `preread`. Completes when the client ends its sending (a FIN); teardown
   * stops reading, and the socket waits (paused) for the copy.
   */
  preread$(client: C): Observable<Buffer>;
  readonly now: () => number;
}

/** A new arrival, as the listener accepted it: nothing learned yet. */
export function arrivalOf<C>(socket: C, listener: ListenerConfig, peer: ClientAddress): Arrival<C> {
  return {
    socket,
    listener,
    peer,
    client: peer,
    destination: undefined,
    preread: undefined,
    sni: undefined,
    alpn: NO_ALPN,
    uniqueId: undefined,
    route: undefined,
    pool: listener.pool,
    refused: undefined,
    detail: undefined,
    leave: undefined,
  };
}

const NO_ALPN: readonly string[] = Object.freeze([]);
