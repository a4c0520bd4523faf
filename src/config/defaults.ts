import { formatEndpoint } from './endpoint.js';
import type {
  BackendConfig,
  Endpoint,
  GlobalConfig,
  HealthConfig,
  ListenerConfig,
  PassiveConfig,
  PoolConfig,
} from './types.js';

/** Every default of the config schema, in one place (interface.md, "Config file"). */
export const DEFAULTS = {
  global: { shutdownGraceMs: 30_000, maxConnections: 0 } satisfies GlobalConfig,
  listener: {
    protocol: 'tcp',
    maxConnections: 0,
    sessionTimeoutMs: 60_000,
    maxSessions: 0,
    prereadTimeoutMs: 5_000,
    proxyProtocol: undefined,
    proxyTrusted: undefined,
    allow: undefined,
    deny: undefined,
    maxConnectionsPerClient: 0,
    connectionRatePerClient: undefined,
    routes: [],
    needsClientHello: false,
  },
  pool: { policy: 'round-robin', connectTimeoutMs: 3_000, idleTimeoutMs: 600_000, retries: 2, onNoBackend: 'close', proxyProtocol: undefined },
  health: {
    kind: 'tcp',
    port: undefined,
    path: '/',
    expectStatus: [[200, 299]],
    intervalMs: 5_000,
    timeoutMs: 2_000,
    rise: 2,
    fall: 3,
    sendProxy: false,
  } satisfies HealthConfig,
  passive: { consecutiveFailures: 5, ejectForMs: 30_000 } satisfies PassiveConfig,
  backend: { weight: 1, maxConnections: 0, backup: false, healthPath: undefined },
} as const;

/** `listener-1`, `listener-2`, ... for the listener at 0-based `index`. */
export const defaultListenerName = (index: number): string => `listener-${index + 1}`;

/** A listener with every default but name, bind and pool. */
export function defaultListener(name: string, bind: Endpoint, pool: string): ListenerConfig {
  return { name, bind, pool, ...DEFAULTS.listener };
}

/** A pool with every default but its name and backends. */
export function defaultPool(name: string, backends: readonly BackendConfig[]): PoolConfig {
  return { name, ...DEFAULTS.pool, health: undefined, passive: undefined, backends };
}

/** A backend at `endpoint`, written `origin`, with every default. */
export function defaultBackend(endpoint: Endpoint, origin: string): BackendConfig {
  return { address: formatEndpoint(endpoint), host: endpoint.host, port: endpoint.port, origin, ...DEFAULTS.backend };
}
