import type { ConnectionRate } from '../../config/types.js';

/**
 * How many clients a rate limiter remembers at most: about 100 bytes each, so a few MiB.
 * Clients idle for a whole window are forgotten first; past this many busy ones, the one
 * seen longest ago is forgotten (see {@link admitConnection}).
 */
export const MAX_TRACKED_CLIENTS = 65_536;

/**
 * One client's token bucket, in integer units so that no rounding creeps in: a full
 * bucket holds `count * perMs` units, a connection costs `perMs`, and each millisecond
 * adds `count`.
 */
interface Bucket {
  units: number;
  /** When `units` was last worked out, in milliseconds. */
  at: number;
}

/** The per-client buckets of one listener's `connection_rate_per_client`. */
export interface RateState {
  readonly rate: ConnectionRate;
  readonly maxClients: number;
  /** In the order clients were last seen, oldest first: a Map keeps insertion order. */
  readonly buckets: Map<string, Bucket>;
}

export function rateState(rate: ConnectionRate, maxClients = MAX_TRACKED_CLIENTS): RateState {
  return { rate, maxClients: Math.max(1, maxClients), buckets: new Map() };
}

/**
 * Whether `client` may open a connection at `now` (milliseconds), under a token bucket of
 * `rate.count` connections refilled at `count` per `perMs`: a client may open up to
 * `count` at once (a burst), then one every `perMs / count` milliseconds. Over any span
 * of `t` milliseconds it gets at most `count + t * count / perMs`, so `"20/s"` is 20 per
 * second in the long run and never more than 40 in one second. A refused attempt costs
 * nothing.
 *
 * Memory stays bounded:
 * 1. a client idle for `perMs` or longer has a full bucket again, the same as an unknown
 *    client, so it is dropped (the oldest first, at each call);
 * 2. past `maxClients` remembered clients, the one seen longest ago is dropped to make
 *    room. That client starts over with a full bucket if it comes back: under a flood of
 *    new addresses, the limit loosens for the quietest clients rather than refusing
 *    anyone for want of room.
 *
 * It runs on every connection, so it updates `state` in place and hands it back, as the
 * accumulator of a `scan`: pass only the latest state on. Its answers depend on the calls
 * made before and on nothing else (no clock, no randomness). A clock that goes back is
 * taken as no time passing.
 */
export function admitConnection(state: RateState, client: string, now: number): { readonly allowed: boolean; readonly state: RateState } {
  const { count, perMs } = state.rate;
  const full = count * perMs;
  const buckets = state.buckets;
  forgetIdle(buckets, now - perMs);
  let bucket = buckets.get(client);
  if (bucket) {
    buckets.delete(client);
    bucket.units = Math.min(full, bucket.units + Math.max(0, now - bucket.at) * count);
    bucket.at = Math.max(bucket.at, now);
  } else {
    if (buckets.size >= state.maxClients) forgetOldest(buckets);
    bucket = { units: full, at: now };
  }
  const allowed = bucket.units >= perMs;
  if (allowed) bucket.units -= perMs;
  // set again, so that the Map's order stays the order clients were last seen
  buckets.set(client, bucket);
  return { allowed, state };
}

/** Drops the clients last seen at or before `until`, oldest first. */
function forgetIdle(buckets: Map<string, Bucket>, until: number): void {
  for (const [client, bucket] of buckets) {
    if (bucket.at > until) return;
    buckets.delete(client);
  }
}

function forgetOldest(buckets: Map<string, Bucket>): void {
  for (const client of buckets.keys()) {
    buckets.delete(client);
    return;
  }
}
