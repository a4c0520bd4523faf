import { addressList, parseBlock } from '../streams/door/cidr.js';
import { checkServerName, serverNames } from '../streams/door/server-names.js';
import { DEFAULTS } from './defaults.js';
import type { Fields } from './fields.js';
import type { Issues } from './issues.js';
import type { KeyPath } from './key-path.js';
import { poolRef } from './pool-ref.js';
import { tryParseRate } from './rate.js';
import { fail, ok, type Result } from './result.js';
import { describeValue } from './toml-value.js';
import type { AddressList, ConnectionRate, ListenerConfig, PoolConfig, Protocol, RouteConfig } from './types.js';

/** A listener's keys for what happens at the door, before a connection reaches a pool. */
export const DOOR_KEYS = [
  'preread_timeout',
  'proxy_protocol',
  'proxy_trusted',
  'allow',
  'deny',
  'max_connections_per_client',
  'connection_rate_per_client',
  'route',
] as const;
export const ROUTE_KEYS = ['sni', 'alpn', 'source', 'pool'] as const;

/** Why each door key a udp listener cannot use is tcp-only, as the error says it. */
const TCP_ONLY: Readonly<Record<string, string>> = {
  preread_timeout: 'a udp listener reads no PROXY header or ClientHello before forwarding',
  proxy_protocol: 'rxlb reads a PROXY header at the start of a tcp connection, not on every datagram',
  proxy_trusted: 'rxlb reads a PROXY header at the start of a tcp connection, not on every datagram',
  max_connections_per_client: 'a udp client address has one session at a time; max_sessions limits sessions',
  connection_rate_per_client: 'a udp client address has one session at a time, and a new one only after session_timeout',
};
const TLS_ONLY = 'it is read from the TLS ClientHello at the start of a tcp connection';

/** The door settings of one listener, as {@link validateDoor} reads them. */
export type DoorSettings = Pick<
  ListenerConfig,
  | 'prereadTimeoutMs'
  | 'proxyProtocol'
  | 'proxyTrusted'
  | 'allow'
  | 'deny'
  | 'maxConnectionsPerClient'
  | 'connectionRatePerClient'
  | 'routes'
  | 'needsClientHello'
>;

/**
 * The door keys of a `[[listener]]`: the PROXY header it accepts, who may connect, the
 * per-client limits and the routes, each list compiled for the connection path. A udp
 * listener takes `allow`, `deny` and routes on `source` only; `protocol` is undefined
 * when it was itself wrong, and then nothing is refused for it.
 */
export function validateDoor(entry: Fields, protocol: Protocol | undefined, pools: readonly string[]): DoorSettings {
  if (protocol === 'udp') {
    for (const [key, why] of Object.entries(TCP_ONLY)) {
      if (entry.has(key)) entry.issues.add(entry.at(key), `"${key}" applies to tcp listeners only: ${why}`);
    }
  }
  const proxyProtocol = entry.value('proxy_protocol', (value): Result<'accept'> => {
    if (value === 'accept') return ok('accept');
    if (value === 'v1' || value === 'v2') {
      return fail(`expected "accept", got ${JSON.stringify(value)}: a listener accepts either version; "v1" and "v2" are for pools, which send one`);
    }
    return fail(`expected "accept", got ${describeValue(value)}; leave the key out for no PROXY header`);
  });
  if (protocol === 'tcp' && entry.has('proxy_trusted') && !entry.has('proxy_protocol')) {
    entry.issues.add(entry.at('proxy_trusted'), '"proxy_trusted" applies only with proxy_protocol = "accept"');
  }
  const routes = validateRoutes(entry, protocol, pools);
  return {
    prereadTimeoutMs: entry.duration('preread_timeout', 1) ?? DEFAULTS.listener.prereadTimeoutMs,
    proxyProtocol,
    proxyTrusted: addresses(entry, 'proxy_trusted', 'an empty list trusts no peer, so every connection would be refused; leave the key out to trust every peer'),
    allow: addresses(entry, 'allow', 'an empty list allows no client; leave the key out to allow every client'),
    deny: addresses(entry, 'deny'),
    maxConnectionsPerClient: entry.integer('max_connections_per_client', 0) ?? DEFAULTS.listener.maxConnectionsPerClient,
    connectionRatePerClient: entry.value<ConnectionRate | undefined>('connection_rate_per_client', tryParseRate),
    routes,
    needsClientHello: routes.some((r) => r.sni !== undefined || r.alpn !== undefined),
  };
}

/** `[[listener.route]]` entries; a route with a mistake is reported and left out. */
function validateRoutes(entry: Fields, protocol: Protocol | undefined, pools: readonly string[]): RouteConfig[] {
  const entries = entry.tables('route', ROUTE_KEYS) ?? [];
  return entries.flatMap((route) => {
    const before = route.issues.size;
    if (protocol === 'udp') {
      for (const key of ['sni', 'alpn']) {
        if (route.has(key)) route.issues.add(route.at(key), `"${key}" applies to tcp listeners only: ${TLS_ONLY}`);
      }
    }
    if (!route.has('sni') && !route.has('alpn') && !route.has('source')) {
      route.issues.add(route.path, 'a route needs at least one of "sni", "alpn" or "source" to match on; for every other connection, set the listener\'s "pool"');
    }
    const sni = strings(route, 'sni', 'server names such as ["api.example.com", "*.example.com"]', checkServerName, NEVER_MATCHES);
    const alpn = strings(route, 'alpn', 'protocol names such as ["h2", "http/1.1"]', checkProtocolName, NEVER_MATCHES);
    const source = addresses(route, 'source', NEVER_MATCHES);
    const pool = route.require('pool') ? poolRef(route, 'pool', pools) : undefined;
    if (route.issues.size > before || pool === undefined) return [];
    return [{ sni: sni && serverNames(sni), alpn, source, pool }];
  });
}

const NEVER_MATCHES = 'an empty list matches no connection, so the route would never be used';

/**
 * A list of addresses and CIDR blocks, compiled; every bad entry is reported at its own
 * index. `empty`, when given, is why an empty list is refused.
 */
function addresses(fields: Fields, key: string, empty?: string): AddressList | undefined {
  const what = 'addresses or CIDR blocks such as ["10.0.0.0/8", "::1"]';
  const entries = strings(fields, key, what, (text) => blockProblem(text), empty);
  return entries && addressList(entries);
}

const blockProblem = (text: string): string | undefined => {
  const block = parseBlock(text);
  return typeof block === 'string' ? block : undefined;
};

/**
 * An array of strings, each checked; undefined when absent or when any entry is wrong
 * (each reported at its index). `what` names the entries in the message for a value that
 * is not an array; `empty`, when given, refuses an empty array with that reason.
 */
function strings(fields: Fields, key: string, what: string, check: (text: string) => string | undefined, empty?: string): string[] | undefined {
  if (!fields.has(key)) return undefined;
  const value = fields.raw[key];
  const at: KeyPath = fields.at(key);
  if (!Array.isArray(value)) {
    fields.issues.add(at, `expected an array of ${what}, got ${describeValue(value)}`);
    return undefined;
  }
  if (value.length === 0 && empty !== undefined) {
    fields.issues.add(at, empty);
    return undefined;
  }
  let good = true;
  value.forEach((item: unknown, i) => {
    const problem = typeof item === 'string' ? check(item) : `expected a string, got ${describeValue(item)}`;
    if (problem !== undefined) {
      fields.issues.add([...at, i], problem);
      good = false;
    }
  });
  return good ? (value as string[]) : undefined;
}

/** What is wrong with an ALPN protocol name, or undefined: 1 to 255 printable US-ASCII characters. */
export function checkProtocolName(name: string): string | undefined {
  if (name === '') return 'a protocol name must not be empty';
  if (name.length > 255) return `a protocol name has at most 255 characters, this one ${name.length}`;
  if (!/^[\x21-\x7e]+$/.test(name)) return `${JSON.stringify(name)}: a protocol name is printable US-ASCII without spaces, as in "h2" or "http/1.1"`;
  return undefined;
}

/** A pool's `proxy_protocol`: the header it sends to its backends. */
export function parseSendProxy(value: unknown): Result<'v1' | 'v2'> {
  if (value === 'v1' || value === 'v2') return ok(value);
  if (value === 'accept') return fail('expected "v1" or "v2", got "accept": a pool sends a header, a listener accepts one');
  return fail(`expected "v1" or "v2", got ${describeValue(value)}; leave the key out to send no PROXY header`);
}

/**
 * `send_proxy = true` in a pool's health table needs the pool's `proxy_protocol`, which
 * says which header to send.
 */
export function checkSendProxy(pool: Fields, health: Fields | undefined, config: Pick<PoolConfig, 'proxyProtocol' | 'health'>): void {
  if (health && config.health?.sendProxy && config.proxyProtocol === undefined && !pool.has('proxy_protocol')) {
    health.issues.add(health.at('send_proxy'), '"send_proxy" sends the pool\'s PROXY header, and this pool has none: set its proxy_protocol to "v1" or "v2"');
  }
}

/**
 * A pool with `proxy_protocol = "v1"` that a udp listener forwards to (as its pool or a
 * route's) is an error at the pool's key: v1 is a line of text at the start of a stream,
 * and only v2 has a form for datagrams.
 */
export function checkUdpProxyPools(issues: Issues, listeners: readonly ListenerConfig[], pools: readonly PoolConfig[]): void {
  for (const pool of pools) {
    if (pool.proxyProtocol !== 'v1') continue;
    const udp = listeners.find((l) => l.protocol === 'udp' && (l.pool === pool.name || l.routes.some((r) => r.pool === pool.name)));
    if (udp) {
      issues.add(
        ['pool', pool.name, 'proxy_protocol'],
        `"v1" cannot be sent over udp (the udp listener ${JSON.stringify(udp.name)} forwards to this pool): a v1 header is a line of text at the start of a stream; use "v2", which goes as a DGRAM header on every datagram`,
      );
    }
  }
}
