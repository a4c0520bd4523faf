import type { RouteConfig } from '../../config/types.js';

/** What a connection shows at the door, as far as routes look. */
export interface DoorFacts {
  /** The client address: the TCP peer, or the source of its PROXY header. */
  readonly client: string;
  /** The ClientHello's server name, lower-cased; undefined when none was read. */
  readonly sni: string | undefined;
  /** The ALPN protocols the ClientHello offered; empty when none was read. */
  readonly alpn: readonly string[];
}

/**
 * The index of the first route that matches, or -1: a route matches when each key it
 * gives does (`sni` the server name, `alpn` any protocol offered, `source` the client
 * address). A route with `sni` or `alpn` never matches a connection whose ClientHello
 * was not read (not TLS, or none needed), so those connections fall to the routes
 * without them, then to the listener's `pool`.
 */
export function firstRoute(routes: readonly RouteConfig[], facts: DoorFacts): number {
  for (let i = 0; i < routes.length; i += 1) {
    const route = routes[i];
    if (route && routeMatches(route, facts)) return i;
  }
  return -1;
}

export function routeMatches(route: RouteConfig, facts: DoorFacts): boolean {
  if (route.sni && (facts.sni === undefined || !route.sni.matches(facts.sni))) return false;
  if (route.alpn && !route.alpn.some((protocol) => facts.alpn.includes(protocol))) return false;
  if (route.source && !route.source.matches(facts.client)) return false;
  return true;
}
