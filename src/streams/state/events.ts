import type { Config } from '../../config/types.js';
import type { ConnectFailureReason, PolicyFailureKind } from '../../errors.js';
import type { DoorRefusal } from '../door/arrival.js';
import type { ListenEvent } from '../ports.js';
import type { BackendStatus } from './status.js';
import type { UdpDropped } from '../udp/events.js';

/** Why a connection ended, as the `connection closed` record says it. */
export type CloseReason =
  | 'client_closed'
  | 'backend_closed'
  | 'idle_timeout'
  | 'connect_failed'
  | 'no_backend'
  | 'limit'
  | 'shutdown'
  | 'error'
  | DoorRefusal;

/** A new config took effect (at start, and on every reload). */
export interface ConfigApplied {
  readonly type: 'config';
  readonly config: Config;
}

/** A listener accepted a client connection. */
export interface ConnOpened {
  readonly type: 'conn-opened';
  readonly listener: string;
  readonly client: string;
}

/** A backend was picked for the connection and a connect attempt started. */
export interface ConnAttempt {
  readonly type: 'conn-attempt';
  readonly listener: string;
  readonly pool: string;
  readonly client: string;
  readonly backend: string;
  readonly attempt: number;
}

/** The attempt failed before any byte was forwarded. */
export interface ConnFailed {
  readonly type: 'conn-failed';
  readonly listener: string;
  readonly pool: string;
  readonly client: string;
  readonly backend: string;
  readonly attempt: number;
  readonly reason: ConnectFailureReason;
  /**
   * Set when the failure was rxlb's own (the errno code, such as EMFILE): the backend
   * is not counted against, by passive checks or in its failures.
   */
  readonly local?: string;
}

/** The attempt succeeded; bytes flow from here on. */
export interface ConnConnected {
  readonly type: 'conn-connected';
  readonly listener: string;
  readonly pool: string;
  readonly client: string;
  readonly backend: string;
  readonly attempt: number;
}

/** The connection ended; its access-log record. */
export interface ConnClosed {
  readonly type: 'conn-closed';
  readonly listener: string;
  readonly pool: string;
  readonly client: string;
  /**
   * The backend it was connected (or connecting) to; after a failed attempt, the one it
   * tried last (then `released` is set); undefined if it never got as far as a backend.
   */
  readonly backend: string | undefined;
  /** The connection's slot on `backend` was already given back (its last attempt failed). */
  readonly released?: true;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly durationMs: number;
  readonly reason: CloseReason;
  /** The TCP peer, when a PROXY header named another client. */
  readonly peer?: string | undefined;
  /** The TLS server name the door read, if any. */
  readonly sni?: string | undefined;
  /** The index of the route that matched, if any. */
  readonly route?: number | undefined;
  /** A PROXY v2 header's unique id (hex), if any. */
  readonly uniqueId?: string | undefined;
  /** What was wrong, when the door refused it for a reason that needs saying (a bad PROXY header). */
  readonly detail?: string | undefined;
  /**
   * UDP sessions only (a session counts as a connection of its listener and backend):
   * the datagrams forwarded each way. Its record is `session closed`, not `connection closed`.
   */
  readonly datagrams?: { readonly up: number; readonly down: number };
}

/** Everything a connection reports over its life, in this order: opened, then attempts, then closed. */
export type ConnEvent = ConnOpened | ConnAttempt | ConnFailed | ConnConnected | ConnClosed;

/**
 * Active checks changed their verdict on a backend: `fall` failures in a row took it
 * down, or `rise` passes in a row brought it back.
 */
export interface HealthChanged {
  readonly type: 'health';
  readonly pool: string;
  readonly backend: string;
  readonly up: boolean;
  /** What the deciding check saw: `status 200`, `connection refused`, `no answer within 2s`. */
  readonly detail: string;
}

/** Passive checks took a backend out after connect failures of real traffic. */
export interface BackendEjected {
  readonly type: 'ejected';
  readonly pool: string;
  readonly backend: string;
  /** How long it stays out: `eject_for`, doubled per repeat ejection, at most ten times it. */
  readonly forMs: number;
  /** Which ejection in a row this is (1 for the first since a successful connect). */
  readonly count: number;
  /** The connect failures in a row that led to it. */
  readonly failures: number;
}

/** A passive ejection is over: the backend is back (unless something else holds it down). */
export interface BackendRestored {
  readonly type: 'restored';
  readonly pool: string;
  readonly backend: string;
}

/** One active check ran: counted for `rxlb_health_checks_total`. */
export interface HealthChecked {
  readonly type: 'checked';
  readonly pool: string;
  readonly backend: string;
  readonly pass: boolean;
}

/** What an operator can do to a backend through the admin API. */
export type AdminActionName = 'drain' | 'disable' | 'enable';

/** An operator drained, disabled or enabled a backend. */
export interface AdminAction {
  readonly type: 'admin';
  readonly pool: string;
  readonly backend: string;
  readonly action: AdminActionName;
}

/** A reload was turned down (the file is invalid, or a listener could not bind): nothing changed. */
export interface ReloadFailed {
  readonly type: 'reload-failed';
  /** One line per problem, each naming where it is. */
  readonly errors: readonly string[];
}

/** What a listener reports besides its connections: bound, or an accept that failed. */
export type ListenerReport = Exclude<ListenEvent<unknown>, { type: 'accepted' }>;

/**
 * A pool's policy let a connection down (it threw, picked a backend that was not a
 * candidate, stopped, did not answer in time, or answered a request it was not asked).
 * The state counts every one; the log hears them throttled, with `count` saying how
 * many this record stands for.
 */
export interface PolicyFailed {
  readonly type: 'policy-failed';
  readonly pool: string;
  readonly policy: string;
  readonly kind: PolicyFailureKind;
  readonly message: string;
  readonly count: number;
}

/**
 * Connections a PROXY listener refused for a bad header (`bad_header`): the log hears the
 * first of a listener at once, then one a minute with `count` saying how many it stands
 * for, naming the last one's peer and what was wrong with its header.
 */
export interface BadHeader {
  readonly type: 'bad-header';
  readonly listener: string;
  readonly peer: string;
  readonly detail: string;
  readonly count: number;
}

/**
 * Connections a listener refused for `connection_rate_per_client` (`rate_limit`): the log
 * hears the first of a listener at once, then one a minute with `count` saying how many
 * it stands for, naming the last client refused.
 */
export interface RateLimited {
  readonly type: 'rate-limited';
  readonly listener: string;
  readonly client: string;
  readonly count: number;
}

/** The events the backend-state reducer folds. */
export type StateEvent =
  | ConfigApplied
  | ReloadFailed
  | ListenerReport
  | UdpDropped
  | ConnEvent
  | HealthChecked
  | HealthChanged
  | BackendEjected
  | BackendRestored
  | AdminAction
  | PolicyFailed;

/** What moved a backend from one state to another. */
export type StateCause = 'health' | 'passive' | 'admin' | 'reload';

/** A backend's status changed: the `backend state` log record. */
export interface BackendStateChanged {
  readonly type: 'backend-state';
  readonly pool: string;
  readonly backend: string;
  readonly from: BackendStatus;
  readonly to: BackendStatus;
  readonly cause: StateCause;
  /** A few words on why: the check's result, or how long an ejection lasts. */
  readonly detail: string;
}

/**
 * An event from health checks, passive checks or the admin API could not be folded (a
 * bug): it was dropped, and the state stays as it was before it. Reported with the stack.
 */
export interface StateEventDropped {
  readonly type: 'state-event-dropped';
  readonly event: StateEvent;
  readonly error: unknown;
}

/** A source of the state (health checks, passive checks, admin commands) failed (a bug): reported, and subscribed again a second later. */
export interface SourceFailed {
  readonly type: 'source-failed';
  readonly source: 'health checks' | 'passive checks' | 'admin commands';
  readonly error: unknown;
}
