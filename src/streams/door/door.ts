import { type MonoTypeOperatorFunction, pipe } from 'rxjs';
import type { ListenerConfig } from '../../config/types.js';
import type { Arrival, Door, DoorIo } from './arrival.js';
import { acceptProxyHeader } from './proxy-accept.js';

/**
 * Builds the door of each listener from its config, once per config (a reload that
 * keeps a listener's settings keeps its door), or none for a listener that checks
 * nothing: its connections go straight to routing and pay nothing for doors.
 *
 * The operators run in this order, each only when the config asks for it:
 * 1. `proxy_protocol = "accept"`: the PROXY header (from a trusted peer), whose source is
 *    the client from then on;
 * 2. `allow` and `deny`, on the client;
 * 3. `connection_rate_per_client`, `max_connections_per_client`;
 * 4. the TLS ClientHello, when a route needs `sni` or `alpn`;
 * 5. the routes, first match in file order, else the listener's `pool`.
 */
export function createDoors<C>(io: DoorIo<C>): (listener: ListenerConfig) => Door<C> | undefined {
  const built = new WeakMap<ListenerConfig, Door<C> | undefined>();
  return (listener) => {
    if (built.has(listener)) return built.get(listener);
    const door = listenerDoor(listener, io);
    built.set(listener, door);
    return door;
  };
}

function listenerDoor<C>(listener: ListenerConfig, io: DoorIo<C>): Door<C> | undefined {
  const stages: MonoTypeOperatorFunction<Arrival<C>>[] = [];
  if (listener.proxyProtocol === 'accept') stages.push(acceptProxyHeader(listener, io));
  if (stages.length === 0) return undefined;
  return (arrivals) => arrivals.pipe(pipe(...(stages as [MonoTypeOperatorFunction<Arrival<C>>])));
}
