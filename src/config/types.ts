/**
 * The validated, frozen configuration. Everything downstream of `src/config` reads
 * only these types: TOML keys are snake_case at the boundary and camelCase here, and
 * every duration is in milliseconds.
 */

/** A host (IP literal without brackets, or hostname) and a port. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type Protocol = 'tcp' | 'udp';

/**
 * A list of addresses and CIDR blocks (`allow`, `deny`, `proxy_trusted`, a route's
 * `source`), compiled once when the config is read: `matches` runs on every connection.
 * `entries` are as written, for summaries and for telling two configs apart.
 */
export interface AddressList {
  readonly entries: readonly string[];
  /** Whether a client address (`10.1.2.3`, `::1`, `::ffff:10.1.2.3`) is in the list. */
  readonly matches: (address: string) => boolean;
}
export type OnNoBackend = 'close' | 'http-503';

/**
 * A route's `sni`: exact names and `*.example.com` wildcards (any name ending in
 * `.example.com`, at any depth, but not `example.com` itself), compiled once. `entries`
 * are lower-cased, as names compare without regard to case.
 */
export interface ServerNameList {
  readonly entries: readonly string[];
  readonly matches: (name: string) => boolean;
}

/**
 * One `[[listener.route]]`: a connection matches when every key given matches. A
 * listener's routes are tried in file order and the first match wins.
 */
export interface RouteConfig {
  readonly sni: ServerNameList | undefined; // the ClientHello's server name is one of these
  readonly alpn: readonly string[] | undefined; // the client offers any of these protocols
  readonly source: AddressList | undefined; // the client address is in this list
  readonly pool: string;
}

/** `connection_rate_per_client`: at most `count` new connections per client in any `perMs` (a token bucket). */
export interface ConnectionRate {
  readonly count: number;
  readonly perMs: number; // 1000 for "/s", 60000 for "/m"
}

export interface GlobalConfig {
  readonly shutdownGraceMs: number; // default 30s
  readonly maxConnections: number; // 0 = unlimited
}

export interface AdminConfig {
  readonly listen: Endpoint;
  readonly token: string | undefined;
}

export interface ListenerConfig {
  readonly name: string; // default "listener-<n>", 1-based in file order
  readonly bind: Endpoint;
  readonly protocol: Protocol;
  /**
   * Where a connection goes when no route matches; `''` when the listener has routes and
   * no `pool` (then such a connection is closed, reason `no_route`).
   */
  readonly pool: string;
  readonly maxConnections: number; // 0 = unlimited
  readonly sessionTimeoutMs: number; // udp only; default 60s
  readonly maxSessions: number; // udp only; 0 = unlimited
  /** How long to wait for a PROXY header or a TLS ClientHello; tcp only; default 5s. */
  readonly prereadTimeoutMs: number;
  /** `"accept"`: every connection starts with a PROXY v1 or v2 header; tcp only; undefined = off. */
  readonly proxyProtocol: 'accept' | undefined;
  /** With `"accept"`: the peers that may send a header; undefined = any peer. */
  readonly proxyTrusted: AddressList | undefined;
  readonly allow: AddressList | undefined; // undefined = every client
  readonly deny: AddressList | undefined; // checked before allow
  readonly maxConnectionsPerClient: number; // tcp only; 0 = unlimited
  readonly connectionRatePerClient: ConnectionRate | undefined; // tcp only; undefined = unlimited
  /** `[[listener.route]]`, in file order; on a udp listener, `source` routes only. */
  readonly routes: readonly RouteConfig[];
  /** Whether any route has `sni` or `alpn`, so that the ClientHello must be read before routing. */
  readonly needsClientHello: boolean;
}

export interface HealthConfig {
  readonly kind: 'tcp' | 'http';
  readonly port: number | undefined; // check this port instead of the backend's own
  readonly path: string; // http only; default "/"
  /** Inclusive status ranges that pass, from "2xx", "200" or "200-399". */
  readonly expectStatus: readonly (readonly [number, number])[];
  readonly intervalMs: number; // default 5s
  readonly timeoutMs: number; // default 2s
  readonly rise: number; // default 2
  readonly fall: number; // default 3
  /** Whether checks start with the pool's PROXY header (`proxy_protocol`); default false. */
  readonly sendProxy: boolean;
}

export interface PassiveConfig {
  readonly consecutiveFailures: number; // default 5
  readonly ejectForMs: number; // default 30s
}

export interface BackendConfig {
  /** Canonical `host:port` (`[v6]:port`); after resolution the host is an IP literal. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** The address as written in the config, before any hostname was resolved. */
  readonly origin: string;
  readonly weight: number; // > 0, default 1
  readonly maxConnections: number; // 0 = unlimited
  readonly backup: boolean;
  /** Targets layout only: this backend's own HTTP check path, overriding the pool's. */
  readonly healthPath: string | undefined;
}

export interface PoolConfig {
  readonly name: string;
  readonly policy: string; // default "round-robin"
  readonly connectTimeoutMs: number; // default 3s
  readonly idleTimeoutMs: number; // default 10m
  readonly retries: number; // default 2
  readonly onNoBackend: OnNoBackend; // default "close"
  /** A PROXY header sent to each backend before the client's first byte; undefined = none. */
  readonly proxyProtocol: 'v1' | 'v2' | undefined;
  readonly health: HealthConfig | undefined;
  readonly passive: PassiveConfig | undefined;
  readonly backends: readonly BackendConfig[];
}

/** Which file layout a config was read from. */
export type Layout = 'rxlb' | 'mini-balancer' | 'targets' | 'quick';

export interface Config {
  /** The file the config came from, or `<command line>` in quick mode. */
  readonly source: string;
  readonly layout: Layout;
  readonly global: GlobalConfig;
  readonly admin: AdminConfig | undefined;
  readonly listeners: readonly ListenerConfig[];
  readonly pools: readonly PoolConfig[];
}
