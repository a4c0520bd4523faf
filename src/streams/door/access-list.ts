import { type MonoTypeOperatorFunction, map } from 'rxjs';
import type { ListenerConfig } from '../../config/types.js';
import type { Arrival } from './arrival.js';

/**
 * Turns away the clients a listener's access lists keep out, refused `denied`: first
 * `deny`, then `allow` (when set, only the clients in it get in). It reads
 * `arrival.client`, so behind a PROXY header it is the header's source that is checked,
 * and an IPv4-mapped IPv6 address as the IPv4 one (the lists match it so).
 *
 * ```
 * arrivals: -a-b-c-d-|    a 10.0.0.1, b 10.9.0.1, c 192.0.2.1, d refused before
 * passed:   -a-B-C-d-|    (allow 10.0.0.0/8, deny 10.9.0.0/16) B, C refused `denied`, d untouched
 * ```
 *
 * It does nothing else for the connection (reads no byte, takes no slot), so it comes
 * first in a door: a scan from a denied network costs an accept and a close.
 */
export function accessList<C>(lists: Pick<ListenerConfig, 'allow' | 'deny'>): MonoTypeOperatorFunction<Arrival<C>> {
  return map((arrival) => (arrival.refused !== undefined || admits(lists, arrival.client.address) ? arrival : { ...arrival, refused: 'denied' }));
}

/** Whether a listener's `deny` and `allow` let this client address in: a tcp door's check, and a udp listener's. */
export function admits(lists: Pick<ListenerConfig, 'allow' | 'deny'>, address: string): boolean {
  const { allow, deny } = lists;
  return !(deny?.matches(address) ?? false) && (allow === undefined || allow.matches(address));
}
