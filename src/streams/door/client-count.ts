import { type MonoTypeOperatorFunction, map } from 'rxjs';
import type { Arrival } from './arrival.js';
import { type ClientCounts, closeConnection, openConnection } from './client-counts.js';
import { clientKey } from './client-key.js';

/**
 * Holds each client to `max_connections_per_client` open connections on the listener: a
 * connection over it is refused `limit`; one under it is counted, and its count is given
 * back through `arrival.leave`, which the connection calls once when it ends, however it
 * ends (refused later at the door, failed, or closed).
 *
 * ```
 * arrivals: a-a-a-----a-|    max 2, all from client a; the first one leaves at frame 8
 * passed:   a-a-L-----a-|    L refused `limit`
 * leave:    --------^        (gives its count back: the fourth fits)
 * ```
 *
 * It must be the last stage of a door that waits (for a PROXY header, a ClientHello):
 * the connection takes `leave` from the arrival the door lets through, so a connection
 * torn down while a stage before this one waits (its client reset, or shutdown) has no
 * arrival to call it on. Counted after every wait, the count and the `leave` that gives
 * it back reach the connection on the same tick, and nothing can come between them.
 * What follows it must be synchronous for the same reason (the routes are).
 *
 * `counts` is the listener's table, shared by its connections and kept by the caller
 * across reloads, so connections opened before a reload are still counted after it.
 */
export function clientCount<C>(counts: ClientCounts, max: number): MonoTypeOperatorFunction<Arrival<C>> {
  return map((arrival) => {
    if (arrival.refused !== undefined) return arrival;
    const key = clientKey(arrival.client.address);
    if (!openConnection(counts, key, max).allowed) return { ...arrival, refused: 'limit' };
    const before = arrival.leave;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      closeConnection(counts, key);
      before?.();
    };
    return { ...arrival, leave };
  });
}
