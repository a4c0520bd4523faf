import { type MonoTypeOperatorFunction, map } from 'rxjs';
import type { ListenerConfig } from '../../config/types.js';
import type { Arrival } from './arrival.js';
import { firstRoute } from './routes.js';

/**
 * Sends each arrival to the pool of the first of the listener's routes that matches it
 * (`sni`, `alpn`, `source`; see {@link firstRoute}), recording the route's index; when
 * none does, to the arrival's pool (the listener's `pool`), or refuses it `no_route`
 * when the listener has none.
 *
 * ```
 * arrivals: -a-b-c-|     a sni api.example.com, b sni www.example.com, c not TLS
 * passed:   -A-B-C-|     routes [sni api.example.com -> api, sni *.example.com -> web]
 *                        A pool api, route 0; B pool web, route 1; C the listener's pool
 * ```
 *
 * It reads what the stages before it learned (the client behind a PROXY header, the
 * ClientHello's server name and protocols), so it comes last, and it is synchronous.
 */
export function route<C>(listener: Pick<ListenerConfig, 'routes'>): MonoTypeOperatorFunction<Arrival<C>> {
  const routes = listener.routes;
  return map((arrival) => {
    if (arrival.refused !== undefined) return arrival;
    const index = firstRoute(routes, { client: arrival.client.address, sni: arrival.sni, alpn: arrival.alpn });
    const matched = routes[index];
    if (matched !== undefined) return { ...arrival, route: index, pool: matched.pool };
    return arrival.pool === '' ? { ...arrival, refused: 'no_route' } : arrival;
  });
}
