// A custom door stage for rxlb, written as a user would: TLS clients that name no server
// (scanners trying the address, old clients) are turned away before they reach a pool,
// except from the networks given.
//
// Plain ESM JavaScript, typed by JSDoc (and server-name-required.d.ts beside it). Give it
// to the graph as `createBalancer(sources, { ..., door: serverNameRequired(...) })`.
import { map } from 'rxjs';
import { addressList } from 'rxlb';

/** @typedef {import('rxlb').Arrival<unknown>} Arrival */

/**
 * A door stage for every listener that reads the ClientHello (one with a route on `sni`
 * or `alpn`): an arrival without a server name is refused `denied`, unless its client is
 * in `trusted`. It runs after the hello is read, and refuses before the per-client count
 * and the routes, so a refused connection holds no slot anywhere.
 *
 * ```
 * arrivals: -a-b-c-|     a sni api.example.com, b none, c none from 10.1.2.3
 * passed:   -a-B-c-|     B refused `denied`                 (trusted 10.1.0.0/16)
 * ```
 *
 * @param {readonly string[]} trusted  addresses and CIDR blocks whose clients need no name
 * @returns {import('rxlb').DoorStage<unknown>}
 */
export function serverNameRequired(trusted) {
  const lists = addressList(trusted);
  return (listener) =>
    listener.needsClientHello
      ? map((/** @type {Arrival} */ arrival) => (arrival.refused !== undefined || arrival.sni !== undefined || lists.matches(arrival.client.address) ? arrival : { ...arrival, refused: 'denied' }))
      : undefined;
}
