import type { Config, ListenerConfig, PoolConfig } from '../config/types.js';
import type { StateEvent } from './events.js';
import { sameChecks } from './health-target.js';

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
  /**
   * What routing reads, derived from the inputs below by `deriveStatus`: `down` while
   * active checks say so or passive checks hold it out, else `up`.
   */
  readonly status: BackendStatus;
  /** The verdict of active checks: `up` without `[health]`, and until `fall` checks fail. */
  readonly health: 'up' | 'down';
  /** Held out by passive checks (connect failures of real traffic) until restored. */
  readonly ejected: boolean;
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
    case 'health':
      return withStatusInputs(state, event.pool, event.backend, { health: event.up ? 'up' : 'down' });
    case 'ejected':
      return withStatusInputs(state, event.pool, event.backend, { ejected: true });
    case 'restored':
      return withStatusInputs(state, event.pool, event.backend, { ejected: false });
  }
}

/** The status routing reads, from what the checks say. */
export function deriveStatus(backend: Pick<BackendState, 'health' | 'ejected'>): BackendStatus {
  return backend.health === 'down' || backend.ejected ? 'down' : 'up';
}

/** Sets a status input and derives the status again; the same state when nothing changes. */
function withStatusInputs(
  state: BalancerState,
  poolName: string,
  address: string,
  inputs: Partial<Pick<BackendState, 'health' | 'ejected'>>,
): BalancerState {
  const backend = state.pools[poolName]?.backends.find((b) => b.address === address);
  if (!backend) return state;
  if ((inputs.health ?? backend.health) === backend.health && (inputs.ejected ?? backend.ejected) === backend.ejected) return state;
  return withBackend(state, poolName, address, (b) => {
    const next = { ...b, ...inputs };
    return { ...next, status: deriveStatus(next) };
  });
}

/**
 * Rebuilds pools and listeners from a config, carrying over the counters of what stays.
 * A backend that stays keeps its health verdict while it is checked the same way (a
 * new or changed check starts from up, as a new backend does) and its ejection while
 * its pool still has `[passive]`.
 */
function applyConfig(state: BalancerState, config: Config): BalancerState {
  const pools: Record<string, PoolState> = {};
  for (const pool of config.pools) {
    const before = state.pools[pool.name];
    const backends = pool.backends.map((b, index): BackendState => {
      const old = before?.backends.find((o) => o.address === b.address);
      const oldConfig = before?.config.backends.find((o) => o.address === b.address);
      const health = old && before && oldConfig && sameChecks(before.config, oldConfig, pool, b) ? old.health : 'up';
      const ejected = (old?.ejected ?? false) && pool.passive !== undefined;
      return {
        address: b.address,
        host: b.host,
        port: b.port,
        weight: b.weight,
        maxConnections: b.maxConnections,
        backup: b.backup,
        index,
        status: deriveStatus({ health, ejected }),
        health,
        ejected,
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
