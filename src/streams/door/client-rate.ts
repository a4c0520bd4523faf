import { type MonoTypeOperatorFunction, map } from 'rxjs';
import type { Arrival } from './arrival.js';
import { clientKey } from './client-key.js';
import { type RateState, admitConnection } from './rate.js';

/**
 * Holds each client to `connection_rate_per_client`: a token bucket per client address
 * ({@link admitConnection}), refilled on `now` (rxlb's clock, virtual in tests). A
 * connection over the rate is refused `rate_limit`, and costs the client nothing more.
 *
 * ```
 * arrivals: a-a-b-----a-|     rate 1 per 10 frames; b from another client
 * passed:   a-R-b-----a-|     R refused `rate_limit`; by frame 10, a has a token again
 * ```
 *
 * `state` is the listener's table of buckets, shared by every connection and kept by the
 * caller across reloads that keep the rate: a reload must not hand a greedy client a
 * fresh burst. It is bounded (see `rate.ts`), so a flood of new addresses cannot grow
 * it. It runs after the access lists and before anything is read from the client.
 */
export function clientRate<C>(state: RateState, now: () => number): MonoTypeOperatorFunction<Arrival<C>> {
  return map((arrival) => {
    if (arrival.refused !== undefined) return arrival;
    if (admitConnection(state, clientKey(arrival.client.address), now()).allowed) return arrival;
    return { ...arrival, refused: 'rate_limit' };
  });
}
