import type { ListenerConfig } from '../../config/types.js';
import { admits } from '../door/access-list.js';
import { firstRoute } from '../door/routes.js';
import type { DropReason } from './events.js';

/** What a udp listener checks before it opens a session: `allow`, `deny` and routes on `source`. */
export type UdpDoor = Pick<ListenerConfig, 'allow' | 'deny' | 'routes' | 'pool'>;

/**
 * The pool a new client's session picks from, or why its datagram is dropped: `denied`
 * by the access lists, `no_route` when no route takes it and the listener has no
 * `pool`. A udp listener's routes match on `source` only (the config refuses `sni` and
 * `alpn` there), so this is synchronous and pure, as the session table needs it.
 */
export function udpPoolFor(door: UdpDoor, client: string): { readonly pool: string } | { readonly drop: DropReason } {
  if (!admits(door, client)) return { drop: 'denied' };
  const matched = door.routes[firstRoute(door.routes, { client, sni: undefined, alpn: [] })];
  if (matched !== undefined) return { pool: matched.pool };
  return door.pool === '' ? { drop: 'no_route' } : { pool: door.pool };
}
