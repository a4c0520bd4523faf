import type { Config, ListenerConfig, PoolConfig } from '../config/types.js';
import type { StateEvent } from './events.js';

export type BackendStatus = 'up' | 'down' | 'draining' | 'disabled';

export interface BackendState {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly maxConnections: number;
  readonly backup: boolean;
  /** Position in the pool as configured. */
  readonly index: number;
  readonly status: BackendStatus;
  /** Open now, including connects under way. */
  readonly active: number;
  /** Connections established to it, ever. */
  readonly total: number;
  /** Connect attempts that failed, ever. */
  readonly failures: number;
  /** Connect failures since the last success. */
  readonly consecutiveFailures: number;
}

export interface PoolState {
  readonly config: PoolConfig;
  readonly backends: readonly BackendState[];
}

export interface ListenerState {
  readonly config: ListenerConfig;
  readonly active: number;
}

/** The single source of truth: what every pool, backend and listener looks like now. */
export interface BalancerState {
  readonly config: Config | undefined;
  readonly pools: Readonly<Record<string, PoolState>>;
  readonly listeners: Readonly<Record<string, ListenerState>>;
  /** Client connections open across all listeners. */
  readonly active: number;
}

export const initialState: BalancerState = Object.freeze({ config: undefined, pools: {}, listeners: {}, active: 0 });

/**
 * The pure reducer behind the backend-state stream: `scan(reduceBackendState, initialState)`.
 * It never mutates its input, so every emitted state is a snapshot that stays true.
 */
export function reduceBackendState(state: BalancerState, event: StateEvent): BalancerState {
  switch (event.type) {
    case 'config':
      return applyConfig(state, event.config);
    case 'conn-opened':
      return withListener(state, event.listener, +1);
    case 'conn-attempt':
      return withBackend(state, event.pool, event.backend, (b) => ({ ...b, active: b.active + 1 }));
    case 'conn-failed':
      return withBackend(state, event.pool, event.backend, (b) => ({
        ...b,
        active: b.active - 1,
        failures: b.failures + 1,
        consecutiveFailures: b.consecutiveFailures + 1,
      }));
    case 'conn-connected':
      return withBackend(state, event.pool, event.backend, (b) =>
        b.consecutiveFailures === 0 ? { ...b, total: b.total + 1 } : { ...b, total: b.total + 1, consecutiveFailures: 0 },
      );
    case 'conn-closed': {
      const released = withListener(state, event.listener, -1);
      return event.backend === undefined
        ? released
        : withBackend(released, event.pool, event.backend, (b) => ({ ...b, active: b.active - 1 }));
    }
  }
}

/** Rebuilds pools and listeners from a config, carrying over the counters of what stays. */
function applyConfig(state: BalancerState, config: Config): BalancerState {
  const pools: Record<string, PoolState> = {};
  for (const pool of config.pools) {
    const before = state.pools[pool.name];
    const backends = pool.backends.map((b, index): BackendState => {
      const old = before?.backends.find((o) => o.address === b.address);
      return {
        address: b.address,
        host: b.host,
        port: b.port,
        weight: b.weight,
        maxConnections: b.maxConnections,
        backup: b.backup,
        index,
        status: old?.status ?? 'up',
        active: old?.active ?? 0,
        total: old?.total ?? 0,
        failures: old?.failures ?? 0,
        consecutiveFailures: old?.consecutiveFailures ?? 0,
      };
    });
    pools[pool.name] = { config: pool, backends };
  }
  const listeners: Record<string, ListenerState> = {};
  for (const listener of config.listeners) {
    listeners[listener.name] = { config: listener, active: state.listeners[listener.name]?.active ?? 0 };
  }
  return { config, pools, listeners, active: state.active };
}

function withListener(state: BalancerState, name: string, delta: number): BalancerState {
  const listener = state.listeners[name];
  const listeners = listener ? { ...state.listeners, [name]: { ...listener, active: listener.active + delta } } : state.listeners;
  return { ...state, listeners, active: state.active + delta };
}

function withBackend(
  state: BalancerState,
  poolName: string,
  address: string,
  update: (b: BackendState) => BackendState,
): BalancerState {
  const pool = state.pools[poolName];
  if (!pool) return state;
  const i = pool.backends.findIndex((b) => b.address === address);
  const backend = pool.backends[i];
  if (!backend) return state;
  const backends = pool.backends.slice();
  backends[i] = update(backend);
  return { ...state, pools: { ...state.pools, [poolName]: { ...pool, backends } } };
}
