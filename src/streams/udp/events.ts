/**
 * Why a UDP listener dropped a client's datagram instead of forwarding it:
 * - `limit`: a new client while the listener is at `max_sessions` (or a `max_connections`);
 * - `no_backend`: no backend could be picked for the client's session;
 * - `backlog`: too many datagrams waiting while the session's backend is picked and its socket opened;
 * - `error`: waiting datagrams of an upstream socket that failed, or a failing policy;
 * - `too_large`: a datagram that the pool's PROXY header would make larger than UDP carries;
 * - `denied`: a client the listener's `deny` or `allow` keeps out (no session is opened);
 * - `no_route`: a client no route takes, on a listener without a `pool`.
 */
export type DropReason = 'limit' | 'no_backend' | 'backlog' | 'error' | 'too_large' | 'denied' | 'no_route';

/**
 * Datagrams a UDP listener dropped since its previous report, for one reason. Reported
 * once per sweep at most, so a flood of clients makes one record a second, not one per
 * datagram.
 */
export interface UdpDropped {
  readonly type: 'udp-dropped';
  readonly listener: string;
  readonly pool: string;
  readonly reason: DropReason;
  readonly datagrams: number;
  readonly bytes: number;
}
