import type { Config, ListenerConfig, PoolConfig } from '../../config/types.js';
import type { ConnectFailureReason, PolicyFailureKind } from '../../errors.js';
import type { StateEvent } from './events.js';
import type { AdminMode, BackendStatus } from './status.js';
import { sameChecks } from '../health/targets.js';
import type { DropReason } from '../udp/events.js';

export type { AdminMode, BackendStatus } from './status.js';

/** One listener's traffic through one backend: the series behind the per-backend metrics. */
export interface Traffic {
  /** The listener's protocol: a UDP listener's connections are its sessions. */
  readonly protocol: 'tcp' | 'udp';
  /** Open now, including connects under way (for a UDP listener: sessions). */
  readonly active: number;
  /** Established, ever. */
  readonly total: number;
  /** Bytes delivered each way by connections that have closed. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** UDP only: datagrams forwarded each way by sessions that have ended. */
  readonly datagramsUp: number;
  readonly datagramsDown: number;
}

/** What the metrics count for a backend, besides its traffic. */
export interface BackendStats {
  /** Per listener name. */
  readonly traffic: Readonly<Record<string, Traffic>>;
  readonly connectFailures: Readonly<Record<ConnectFailureReason, number>>;
  readonly checks: { readonly pass: number; readonly fail: number };
}

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
   * What routing reads, derived from the inputs below by `deriveStatus`: `draining` once
   * removed from the config or drained by an operator, `disabled` when an operator says
   * so, `down` while active checks say so or passive checks hold it out, else `up`.
   */
  readonly status: BackendStatus;
  /** The verdict of active checks: `up` without `[health]`, and until `fall` checks fail. */
  readonly health: 'up' | 'down';
  /** Held out by passive checks (connect failures of real traffic) until restored. */
  readonly ejected: boolean;
  /** Set by `drain`, `disable` and `enable` on the admin API; kept across reloads. */
  readonly admin: AdminMode;
  /**
   * No longer in the config, but connections to it are still open: it stays (draining)
   * until the last one closes, so they are still counted and shown.
   */
  readonly removed: boolean;
  /** Open now, including connects under way. */
  readonly active: number;
  /** Connections established to it, ever. */
  readonly total: number;
  /** Connect attempts that failed, ever. */
  readonly failures: number;
  /** Connect failures since the last success. */
  readonly consecutiveFailures: number;
  readonly stats: BackendStats;
}

export interface PoolState {
  readonly config: PoolConfig;
  readonly backends: readonly BackendState[];
  /** No longer in the config; kept while a backend of it is still draining. */
  readonly removed: boolean;
  /** How often its policy let a connection down, by kind; kept across reloads while the policy stays. */
  readonly policyFailures: Readonly<Partial<Record<PolicyFailureKind, number>>>;
}

export interface ListenerState {
  readonly config: ListenerConfig;
  /** The bound `host:port` (the real port when 0 was asked); undefined until bound. */
  readonly address: string | undefined;
  readonly active: number;
  /** Connections turned away before reaching a backend (for UDP: sessions not opened). */
  readonly rejected: Readonly<Record<RejectReason, number>>;
  /** Accepts that failed (out of descriptors, say). */
  readonly acceptErrors: number;
  /** UDP only: datagrams dropped, by reason. */
  readonly dropped: Readonly<Partial<Record<DropReason, { readonly datagrams: number; readonly bytes: number }>>>;
  /** No longer in the config (it stopped accepting); kept while connections it accepted are open. */
  readonly removed: boolean;
}

/** The single source of truth: what every pool, backend and listener looks like now. */
export interface BalancerState {
  readonly config: Config | undefined;
  readonly pools: Readonly<Record<string, PoolState>>;
  readonly listeners: Readonly<Record<string, ListenerState>>;
  /** Client connections open across all listeners. */
  readonly active: number;
  /** Reloads applied and rejected. */
  readonly reloads: { readonly success: number; readonly failure: number };
}

export const initialState: BalancerState = Object.freeze({
  config: undefined,
  pools: {},
  listeners: {},
  active: 0,
  reloads: Object.freeze({ success: 0, failure: 0 }),
});

const NO_TRAFFIC = { tcp: freezeTraffic('tcp'), udp: freezeTraffic('udp') };
function freezeTraffic(protocol: Traffic['protocol']): Traffic {
  return Object.freeze({ protocol, active: 0, total: 0, bytesUp: 0, bytesDown: 0, datagramsUp: 0, datagramsDown: 0 });
}
const NO_POLICY_FAILURES: PoolState['policyFailures'] = Object.freeze({});

/** Why a connection (or UDP session) was turned away before reaching a backend: `rxlb_connections_rejected_total`'s reasons. */
export const REJECT_REASONS = ['no_backend', 'limit', 'denied', 'rate_limit', 'bad_header', 'preread_timeout', 'no_route', 'queue_timeout'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
const NO_REJECTIONS: Readonly<Record<RejectReason, number>> = Object.freeze(Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>);
const isRejection = (reason: string): reason is RejectReason => (REJECT_REASONS as readonly string[]).includes(reason);
const NO_STATS: BackendStats = Object.freeze({
  traffic: Object.freeze({}),
  connectFailures: Object.freeze({ refused: 0, timeout: 0, error: 0 }),
  checks: Object.freeze({ pass: 0, fail: 0 }),
});

/**
 * The pure reducer behind the backend-state stream: `scan(reduceBackendState, initialState)`.
 * It never mutates its input, so every emitted state is a snapshot that stays true.
 */
export function reduceBackendState(state: BalancerState, event: StateEvent): BalancerState {
  switch (event.type) {
    case 'config':
      return applyConfig(state, event.config);
    case 'reload-failed':
      return { ...state, reloads: { ...state.reloads, failure: state.reloads.failure + 1 } };
    case 'listening':
      return withListener(state, event.listener.name, (l) => ({ ...l, address: event.address }));
    case 'accept-error':
      return withListener(state, event.listener.name, (l) => ({ ...l, acceptErrors: l.acceptErrors + 1 }));
    case 'udp-dropped':
      return withListener(state, event.listener, (l) => {
        const was = l.dropped[event.reason] ?? { datagrams: 0, bytes: 0 };
        const now = { datagrams: was.datagrams + event.datagrams, bytes: was.bytes + event.bytes };
        return { ...l, dropped: { ...l.dropped, [event.reason]: now } };
      });
    case 'conn-opened':
      return withActive(state, event.listener, +1);
    case 'conn-attempt':
      return withBackend(state, event.pool, event.backend, (b) =>
        withCounters(b, b.active + 1, b.total, b.failures, b.consecutiveFailures, withTraffic(state, b.stats, event.listener, +1, 0, 0, 0, undefined)),
      );
    case 'conn-failed':
      return withBackend(state, event.pool, event.backend, (b) => {
        const stats = withTraffic(state, b.stats, event.listener, -1, 0, 0, 0, undefined);
        // rxlb's own failure (out of descriptors): the backend is not to blame, only the slot is given back.
        if (event.local) return withCounters(b, b.active - 1, b.total, b.failures, b.consecutiveFailures, stats);
        const failures = { ...stats.connectFailures, [event.reason]: stats.connectFailures[event.reason] + 1 };
        return withCounters(b, b.active - 1, b.total, b.failures + 1, b.consecutiveFailures + 1, { traffic: stats.traffic, connectFailures: failures, checks: stats.checks });
      });
    case 'conn-connected':
      return withBackend(state, event.pool, event.backend, (b) =>
        withCounters(b, b.active, b.total + 1, b.failures, 0, withTraffic(state, b.stats, event.listener, 0, 1, 0, 0, undefined)),
      );
    case 'conn-closed': {
      let next = withActive(state, event.listener, -1);
      if (isRejection(event.reason)) {
        const reason = event.reason;
        next = withListener(next, event.listener, (l) => ({ ...l, rejected: { ...l.rejected, [reason]: l.rejected[reason] + 1 } }));
      }
      if (event.backend === undefined || event.released) return next;
      const after = next;
      return withBackend(after, event.pool, event.backend, (b) =>
        withCounters(b, b.active - 1, b.total, b.failures, b.consecutiveFailures, withTraffic(after, b.stats, event.listener, -1, 0, event.bytesUp, event.bytesDown, event.datagrams)),
      );
    }
    case 'checked':
      return withBackend(state, event.pool, event.backend, (b) => ({
        ...b,
        stats: { ...b.stats, checks: event.pass ? { ...b.stats.checks, pass: b.stats.checks.pass + 1 } : { ...b.stats.checks, fail: b.stats.checks.fail + 1 } },
      }));
    case 'health':
      return withStatusInputs(state, event.pool, event.backend, { health: event.up ? 'up' : 'down' });
    case 'ejected':
      return withStatusInputs(state, event.pool, event.backend, { ejected: true });
    case 'restored':
      return withStatusInputs(state, event.pool, event.backend, { ejected: false });
    case 'policy-failed': {
      const pool = state.pools[event.pool];
      if (pool === undefined) return state;
      const policyFailures = { ...pool.policyFailures, [event.kind]: (pool.policyFailures[event.kind] ?? 0) + event.count };
      return { ...state, pools: withEntry(state.pools, event.pool, { ...pool, policyFailures }) };
    }
    case 'admin':
      return withStatusInputs(state, event.pool, event.backend, { admin: event.action === 'enable' ? 'none' : event.action === 'drain' ? 'draining' : 'disabled' });
  }
}

/** The status routing reads, from what the checks and the operator say. */
export function deriveStatus(backend: Pick<BackendState, 'health' | 'ejected' | 'admin' | 'removed'>): BackendStatus {
  if (backend.removed || backend.admin === 'draining') return 'draining';
  if (backend.admin === 'disabled') return 'disabled';
  return backend.health === 'down' || backend.ejected ? 'down' : 'up';
}

type StatusInputs = Pick<BackendState, 'health' | 'ejected' | 'admin'>;

/** Sets a status input and derives the status again; the same state when nothing changes. */
function withStatusInputs(state: BalancerState, poolName: string, address: string, inputs: Partial<StatusInputs>): BalancerState {
  const backend = state.pools[poolName]?.backends.find((b) => b.address === address);
  if (!backend) return state;
  const same = (key: keyof StatusInputs): boolean => (inputs[key] ?? backend[key]) === backend[key];
  if (same('health') && same('ejected') && same('admin')) return state;
  return withBackend(state, poolName, address, (b) => {
    const next = { ...b, ...inputs };
    return { ...next, status: deriveStatus(next) };
  });
}

/**
 * Rebuilds pools and listeners from a config, carrying over the counters of what stays.
 * A backend that stays keeps its health verdict while it is checked the same way (a
 * new or changed check starts from up, as a new backend does), its ejection while its
 * pool still has `[passive]`, and what an operator set. A backend, pool or listener
 * that leaves the config while connections through it are open stays, marked removed
 * (a backend drains), until the last of them closes.
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
      const admin = old?.admin ?? 'none';
      return {
        address: b.address,
        host: b.host,
        port: b.port,
        weight: b.weight,
        maxConnections: b.maxConnections,
        backup: b.backup,
        index,
        status: deriveStatus({ health, ejected, admin, removed: false }),
        health,
        ejected,
        admin,
        removed: false,
        active: old?.active ?? 0,
        total: old?.total ?? 0,
        failures: old?.failures ?? 0,
        consecutiveFailures: old?.consecutiveFailures ?? 0,
        stats: old?.stats ?? NO_STATS,
      };
    });
    const draining = (before?.backends ?? []).filter((o) => o.active > 0 && !backends.some((b) => b.address === o.address));
    for (const o of draining) backends.push({ ...o, index: backends.length, removed: true, status: 'draining' });
    const failures = before !== undefined && before.config.policy === pool.policy ? before.policyFailures : NO_POLICY_FAILURES;
    pools[pool.name] = { config: pool, backends, removed: false, policyFailures: failures };
  }
  for (const [name, before] of Object.entries(state.pools)) {
    if (pools[name] || !before.backends.some((b) => b.active > 0)) continue;
    const backends = before.backends.filter((b) => b.active > 0).map((b, index) => ({ ...b, index, removed: true, status: 'draining' as const }));
    pools[name] = { ...before, backends, removed: true };
  }
  const listeners: Record<string, ListenerState> = {};
  for (const listener of config.listeners) {
    const old = state.listeners[listener.name];
    // A listener whose socket stays (same protocol and bind) keeps its bound address.
    const sameSocket = old && old.config.protocol === listener.protocol && sameBind(old.config, listener);
    listeners[listener.name] = {
      config: listener,
      address: sameSocket ? old.address : undefined,
      active: old?.active ?? 0,
      rejected: old?.rejected ?? NO_REJECTIONS,
      acceptErrors: old?.acceptErrors ?? 0,
      dropped: old?.dropped ?? {},
      removed: false,
    };
  }
  for (const [name, old] of Object.entries(state.listeners)) {
    if (!listeners[name] && old.active > 0) listeners[name] = { ...old, removed: true };
  }
  const reloads = state.config === undefined ? state.reloads : { ...state.reloads, success: state.reloads.success + 1 };
  return { config, pools, listeners, active: state.active, reloads };
}

function sameBind(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.bind.host === b.bind.host && a.bind.port === b.bind.port;
}

function withListener(state: BalancerState, name: string, update: (l: ListenerState) => ListenerState): BalancerState {
  const listener = state.listeners[name];
  if (!listener) return state;
  return { ...state, listeners: { ...state.listeners, [name]: update(listener) } };
}

/** Counts a connection opening or closing on its listener and in all; a removed listener goes with its last one. */
function withActive(state: BalancerState, name: string, delta: number): BalancerState {
  const listener = state.listeners[name];
  if (!listener) return withTotals(state, state.pools, state.listeners, state.active + delta);
  const active = listener.active + delta;
  const listeners =
    listener.removed && active <= 0
      ? withEntry(state.listeners, name, undefined)
      : withEntry(state.listeners, name, {
          config: listener.config,
          address: listener.address,
          active,
          rejected: listener.rejected,
          acceptErrors: listener.acceptErrors,
          dropped: listener.dropped,
          removed: listener.removed,
        });
  return withTotals(state, state.pools, listeners, state.active + delta);
}

/*
 * Connection events fold four times per connection, so their copies are written out
 * field by field rather than spread: V8 copies a spread property by property on its
 * generic path, where a literal in one field order is built inline and every copy
 * shares one shape (the reducer alone went from 7.5 to 1.0 µs per connection). A field
 * added to these types must be added here too; the compiler says so.
 */

/** A copy of the state with new pools, listeners and count. */
function withTotals(state: BalancerState, pools: BalancerState['pools'], listeners: BalancerState['listeners'], active: number): BalancerState {
  return { config: state.config, pools, listeners, active, reloads: state.reloads };
}

/** A copy of a backend with new connection counters and stats. */
function withCounters(b: BackendState, active: number, total: number, failures: number, consecutiveFailures: number, stats: BackendStats): BackendState {
  return {
    address: b.address,
    host: b.host,
    port: b.port,
    weight: b.weight,
    maxConnections: b.maxConnections,
    backup: b.backup,
    index: b.index,
    status: b.status,
    health: b.health,
    ejected: b.ejected,
    admin: b.admin,
    removed: b.removed,
    active,
    total,
    failures,
    consecutiveFailures,
    stats,
  };
}

/** A copy of a record with one entry set in its place (keys keep their order), or taken out with `undefined`. */
function withEntry<T>(record: Readonly<Record<string, T>>, key: string, value: T | undefined): Record<string, T> {
  const copy: Record<string, T> = {};
  let found = false;
  for (const k in record) {
    if (k !== key) copy[k] = record[k] as T;
    else {
      found = true;
      if (value !== undefined) copy[k] = value;
    }
  }
  if (!found && value !== undefined) copy[key] = value;
  return copy;
}

/** The stats with one listener's traffic through the backend moved on. */
function withTraffic(
  state: BalancerState,
  stats: BackendStats,
  listener: string,
  active: number,
  total: number,
  bytesUp: number,
  bytesDown: number,
  datagrams: { readonly up: number; readonly down: number } | undefined,
): BackendStats {
  const t = stats.traffic[listener] ?? NO_TRAFFIC[state.listeners[listener]?.config.protocol ?? 'tcp'];
  const traffic: Traffic = {
    protocol: t.protocol,
    active: t.active + active,
    total: t.total + total,
    bytesUp: t.bytesUp + bytesUp,
    bytesDown: t.bytesDown + bytesDown,
    datagramsUp: t.datagramsUp + (datagrams?.up ?? 0),
    datagramsDown: t.datagramsDown + (datagrams?.down ?? 0),
  };
  return { traffic: withEntry(stats.traffic, listener, traffic), connectFailures: stats.connectFailures, checks: stats.checks };
}

/** Updates one backend; a removed one goes once its last connection has, and a removed pool with its last backend. */
function withBackend(state: BalancerState, poolName: string, address: string, update: (b: BackendState) => BackendState): BalancerState {
  const pool = state.pools[poolName];
  if (!pool) return state;
  const i = pool.backends.findIndex((b) => b.address === address);
  const backend = pool.backends[i];
  if (!backend) return state;
  const next = update(backend);
  const backends = pool.backends.slice();
  if (next.removed && next.active <= 0) backends.splice(i, 1);
  else backends[i] = next;
  const pools = withEntry(state.pools, poolName, pool.removed && backends.length === 0 ? undefined : { config: pool.config, backends, removed: pool.removed, policyFailures: pool.policyFailures });
  return withTotals(state, pools, state.listeners, state.active);
}
