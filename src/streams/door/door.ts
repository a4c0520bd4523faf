import { type MonoTypeOperatorFunction, pipe } from 'rxjs';
import type { ListenerConfig } from '../../config/types.js';
import { accessList } from './access-list.js';
import type { Arrival, Door, DoorIo } from './arrival.js';
import { clientCount } from './client-count.js';
import type { ClientCounts } from './client-counts.js';
import { clientHello } from './client-hello.js';
import { clientRate } from './client-rate.js';
import { acceptProxyHeader } from './proxy-accept.js';
import { type RateState, rateState } from './rate.js';
import { route } from './route.js';

/**
 * A stage of the library user's own for a listener's door, or undefined for none: it runs
 * after rxlb's checks and the ClientHello, before the per-client count and the routes
 * (see the README, "Routing at the door").
 */
export type DoorStage<C> = (listener: ListenerConfig, io: DoorIo<C>) => MonoTypeOperatorFunction<Arrival<C>> | undefined;

/**
 * Builds the door of each listener from its config, once per config (a reload that
 * keeps a listener's settings keeps its door), or none for a listener that checks
 * nothing: its connections go straight to routing and pay nothing for doors.
 *
 * The operators run in this order, each only when the config asks for it:
 * 1. `proxy_protocol = "accept"`: the PROXY header (from a trusted peer), whose source is
 *    the client from then on;
 * 2. `allow` and `deny`, on the client (`access-list.ts`): nothing is done for a client
 *    they keep out;
 * 3. `connection_rate_per_client` (`client-rate.ts`), before a byte is read;
 * 4. the TLS ClientHello, when a route needs `sni` or `alpn` (`client-hello.ts`);
 * 5. `ownStage`, the library user's, if any;
 * 6. `max_connections_per_client` (`client-count.ts`), after every stage that waits, so
 *    that a connection torn down while waiting holds no count;
 * 7. the routes, first match in file order, else the listener's `pool` (`route.ts`).
 *
 * The per-client tables belong to the listener, by name, not to one config of it: the
 * rate buckets outlive a reload that keeps the listener's name and rate (a new rate
 * starts afresh), and the open-connection counts every reload, so connections opened
 * before it are still counted and given back after it. A listener that is removed
 * leaves its tables here until a listener of its name comes back (the rate table is
 * bounded; the counts empty as its connections close).
 */
export function createDoors<C>(io: DoorIo<C>, ownStage?: DoorStage<C>): (listener: ListenerConfig) => Door<C> | undefined {
  const built = new WeakMap<ListenerConfig, Door<C> | undefined>();
  const tables: ClientTables = { rates: new Map(), counts: new Map() };
  return (listener) => {
    if (built.has(listener)) return built.get(listener);
    const door = listenerDoor(listener, io, tables, ownStage);
    built.set(listener, door);
    return door;
  };
}

/** Every listener's per-client tables, by listener name. */
interface ClientTables {
  readonly rates: Map<string, RateState>;
  readonly counts: Map<string, ClientCounts>;
}

function listenerDoor<C>(listener: ListenerConfig, io: DoorIo<C>, tables: ClientTables, ownStage: DoorStage<C> | undefined): Door<C> | undefined {
  const stages: MonoTypeOperatorFunction<Arrival<C>>[] = [];
  if (listener.proxyProtocol === 'accept') stages.push(acceptProxyHeader(listener, io));
  if (listener.allow !== undefined || listener.deny !== undefined) stages.push(accessList(listener));
  const rate = rateTable(listener, tables.rates);
  if (rate !== undefined) stages.push(clientRate(rate, io.now));
  if (listener.needsClientHello) stages.push(clientHello(io, listener.prereadTimeoutMs));
  const own = ownStage?.(listener, io);
  if (own !== undefined) stages.push(own);
  if (listener.maxConnectionsPerClient > 0) stages.push(clientCount(countTable(listener, tables.counts), listener.maxConnectionsPerClient));
  // Without a default pool, even a listener with no route (a reload left none) refuses `no_route`.
  if (listener.routes.length > 0 || listener.pool === '') stages.push(route(listener));
  if (stages.length === 0) return undefined;
  return (arrivals) => arrivals.pipe(pipe(...(stages as [MonoTypeOperatorFunction<Arrival<C>>])));
}

/** The listener's rate buckets: the ones it had while its rate stays, else new ones. */
function rateTable(listener: ListenerConfig, rates: Map<string, RateState>): RateState | undefined {
  const rate = listener.connectionRatePerClient;
  const kept = rates.get(listener.name);
  if (rate === undefined) {
    rates.delete(listener.name);
    return undefined;
  }
  if (kept !== undefined && kept.rate.count === rate.count && kept.rate.perMs === rate.perMs) return kept;
  const fresh = rateState(rate);
  rates.set(listener.name, fresh);
  return fresh;
}

function countTable(listener: ListenerConfig, counts: Map<string, ClientCounts>): ClientCounts {
  let table = counts.get(listener.name);
  if (table === undefined) {
    table = new Map();
    counts.set(listener.name, table);
  }
  return table;
}
