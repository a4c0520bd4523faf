import type { Config } from '../config/types.js';
import type { ConnectFailureReason } from '../errors.js';

/** Why a connection ended, as the `connection closed` record says it. */
export type CloseReason =
  | 'client_closed'
  | 'backend_closed'
  | 'idle_timeout'
  | 'connect_failed'
  | 'no_backend'
  | 'limit'
  | 'shutdown'
  | 'error';

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
  /** The backend it was connected (or connecting) to; undefined if it never got one. */
  readonly backend: string | undefined;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly durationMs: number;
  readonly reason: CloseReason;
}

/** Everything a connection reports over its life, in this order: opened, then attempts, then closed. */
export type ConnEvent = ConnOpened | ConnAttempt | ConnFailed | ConnConnected | ConnClosed;

/** The events the backend-state reducer folds. */
export type StateEvent = ConfigApplied | ConnEvent;
