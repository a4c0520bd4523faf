import type { BackendConfig, Config, PoolConfig } from '../../config/types.js';
import type { ProbeTarget } from '../ports.js';

/** One backend to check actively, with the settings its pool's `[health]` gives it. */
export interface HealthTarget {
  /**
   * Names the pool, the backend and every check setting: a backend whose key stays the
   * same across configs keeps its checker (and its counts); any change starts a new one.
   */
  readonly key: string;
  readonly pool: string;
  readonly backend: string;
  readonly probe: ProbeTarget;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
}

/** Every backend of every pool that has `[health]`, in config order. */
export function healthTargets(config: Config): HealthTarget[] {
  return config.pools.flatMap((pool) => pool.backends.flatMap((backend) => healthTarget(pool, backend) ?? []));
}

/** The check a backend gets from its pool, or undefined when the pool has no `[health]`. */
export function healthTarget(pool: PoolConfig, backend: BackendConfig): HealthTarget | undefined {
  const health = pool.health;
  if (!health) return undefined;
  const port = health.port ?? backend.port;
  const probe: ProbeTarget = {
    kind: health.kind,
    host: backend.host,
    port,
    path: backend.healthPath ?? health.path,
    hostHeader: `${originHost(backend.origin)}:${port}`,
    expectStatus: health.expectStatus,
    // left out when off, so the key of a check without it is what it always was
    ...(health.sendProxy && pool.proxyProtocol !== undefined ? { sendProxy: pool.proxyProtocol } : {}),
  };
  const settings = { probe, intervalMs: health.intervalMs, timeoutMs: health.timeoutMs, rise: health.rise, fall: health.fall };
  return { key: JSON.stringify([pool.name, backend.address, settings]), pool: pool.name, backend: backend.address, ...settings };
}

/**
 * Whether a backend is checked the same way under two pool configs: then what the
 * checks found so far still holds. Both without checks counts as the same.
 */
export function sameChecks(before: PoolConfig, beforeBackend: BackendConfig, after: PoolConfig, afterBackend: BackendConfig): boolean {
  return healthTarget(before, beforeBackend)?.key === healthTarget(after, afterBackend)?.key;
}

/** The host part of `host:port` as written (`[::1]` keeps its brackets). */
function originHost(origin: string): string {
  const match = /^(.*):\d+$/.exec(origin);
  return match?.[1] ?? origin;
}
