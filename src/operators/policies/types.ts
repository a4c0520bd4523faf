import type { OperatorFunction } from 'rxjs';

/** A backend as a policy sees it: eligible right now (up, not excluded, under its limit). */
export interface Candidate {
  /** Canonical `host:port`; unique within a pool. */
  readonly address: string;
  /** Relative share, > 0. */
  readonly weight: number;
  /** Connections open to it now, including ones still connecting. */
  readonly active: number;
  /** Position in the pool as configured (0-based), for policies that care about order. */
  readonly index: number;
}

/** The client a connection came from. */
export interface ClientAddress {
  readonly address: string;
  readonly port: number;
}

/** One routing decision to make: which of `candidates` should take this client? */
export interface RouteRequest {
  readonly pool: string;
  readonly client: ClientAddress;
  /** Eligible backends in configured order; never empty. */
  readonly candidates: readonly Candidate[];
  /**
   * The backends of the group in service (the up primaries, or the up backups when no
   * primary is up), including ones that are full or that this connection already tried.
   * Consistent-hash policies build on this steadier set, so one backend filling up or
   * one failed attempt does not reshuffle every client; `candidates` is a subset.
   */
  readonly up: readonly Candidate[];
}

/** The answer to a request; `backend` is one of `request.candidates`, or undefined to refuse. */
export interface Routed {
  readonly request: RouteRequest;
  readonly backend: Candidate | undefined;
}

/**
 * A routing policy: a long-lived operator that answers each request with exactly one
 * `Routed`, in order. It is subscribed once per pool, so state kept in a `defer`
 * closure (a round-robin cursor, weights) lives as long as the pool does.
 */
export type Policy = OperatorFunction<RouteRequest, Routed>;

/** Makes a fresh policy; called once per pool. */
export type PolicyFactory = () => Policy;
