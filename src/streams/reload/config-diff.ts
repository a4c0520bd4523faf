import { type OperatorFunction, filter, map, pairwise } from 'rxjs';
import { formatHostPort } from '../../config/endpoint.js';
import type { BackendConfig, Config, ListenerConfig, PoolConfig } from '../../config/types.js';

/**
 * One difference between the config in force and a reloaded one, as a reload applies
 * it. `fields` are the config keys that changed, spelled as in the file.
 */
export type ConfigChange =
  | { readonly kind: 'listener'; readonly change: 'added' | 'removed'; readonly name: string; readonly at: string }
  /** Its protocol or bind changed: a new socket replaces the old one. */
  | { readonly kind: 'listener'; readonly change: 'rebound'; readonly name: string; readonly at: string; readonly was: string }
  /** Same socket, new settings (`pool`, `max_connections`, ...). */
  | { readonly kind: 'listener'; readonly change: 'changed'; readonly name: string; readonly at: string; readonly fields: readonly string[] }
  | { readonly kind: 'pool'; readonly change: 'added' | 'removed'; readonly name: string }
  | { readonly kind: 'pool'; readonly change: 'changed'; readonly name: string; readonly fields: readonly string[] }
  | { readonly kind: 'backend'; readonly change: 'added' | 'removed'; readonly pool: string; readonly address: string }
  | { readonly kind: 'backend'; readonly change: 'changed'; readonly pool: string; readonly address: string; readonly fields: readonly string[] }
  | { readonly kind: 'global' | 'admin'; readonly change: 'changed'; readonly fields: readonly string[] };

/**
 * What it takes to go from `before` to `after`, in file order: listeners, then pools
 * with their backends, then `[global]` and `[admin]`. Nothing that stays the same is
 * listed, so an unchanged file gives `[]`.
 */
export function diffConfigs(before: Config, after: Config): ConfigChange[] {
  const changes: ConfigChange[] = [];
  const oldListeners = new Map(before.listeners.map((l) => [l.name, l]));
  const newListeners = new Set(after.listeners.map((l) => l.name));
  for (const l of before.listeners) {
    if (!newListeners.has(l.name)) changes.push({ kind: 'listener', change: 'removed', name: l.name, at: shown(l) });
  }
  for (const l of after.listeners) {
    const old = oldListeners.get(l.name);
    if (!old) changes.push({ kind: 'listener', change: 'added', name: l.name, at: shown(l) });
    else if (socketOf(old) !== socketOf(l)) changes.push({ kind: 'listener', change: 'rebound', name: l.name, at: shown(l), was: shown(old) });
    else {
      const fields = changedFields(old, l, LISTENER_FIELDS);
      if (fields.length > 0) changes.push({ kind: 'listener', change: 'changed', name: l.name, at: shown(l), fields });
    }
  }

  const oldPools = new Map(before.pools.map((p) => [p.name, p]));
  const newPools = new Set(after.pools.map((p) => p.name));
  for (const p of before.pools) {
    if (!newPools.has(p.name)) changes.push({ kind: 'pool', change: 'removed', name: p.name });
  }
  for (const p of after.pools) {
    const old = oldPools.get(p.name);
    if (!old) {
      changes.push({ kind: 'pool', change: 'added', name: p.name });
      continue;
    }
    const fields = changedFields(old, p, POOL_FIELDS);
    if (fields.length > 0) changes.push({ kind: 'pool', change: 'changed', name: p.name, fields });
    changes.push(...diffBackends(old, p));
  }

  const global = changedFields(before.global, after.global, GLOBAL_FIELDS);
  if (global.length > 0) changes.push({ kind: 'global', change: 'changed', fields: global });
  // Apart: a new token applies at once, a new address only at the next start.
  if ((before.admin && formatHostPort(before.admin.listen.host, before.admin.listen.port)) !== (after.admin && formatHostPort(after.admin.listen.host, after.admin.listen.port))) {
    changes.push({ kind: 'admin', change: 'changed', fields: ['listen'] });
  }
  if (before.admin?.token !== after.admin?.token) changes.push({ kind: 'admin', change: 'changed', fields: ['token'] });
  return changes;
}

function diffBackends(before: PoolConfig, after: PoolConfig): ConfigChange[] {
  const changes: ConfigChange[] = [];
  const old = new Map(before.backends.map((b) => [b.address, b]));
  const kept = new Set(after.backends.map((b) => b.address));
  for (const b of before.backends) {
    if (!kept.has(b.address)) changes.push({ kind: 'backend', change: 'removed', pool: after.name, address: b.address });
  }
  for (const b of after.backends) {
    const was = old.get(b.address);
    if (!was) changes.push({ kind: 'backend', change: 'added', pool: after.name, address: b.address });
    else {
      const fields = changedFields(was, b, BACKEND_FIELDS);
      if (fields.length > 0) changes.push({ kind: 'backend', change: 'changed', pool: after.name, address: b.address, fields });
    }
  }
  return changes;
}

/** Where a listener listens, as the change list shows it. */
function shown(listener: ListenerConfig): string {
  return `${listener.protocol} ${formatHostPort(listener.bind.host, listener.bind.port)}`;
}

/**
 * The listener's socket: a change of either part means binding anew. Port 0 asks for a
 * port of the system's choosing, different for each listener, so such a socket is the
 * listener's own (and stays its own across reloads while its name stays).
 */
export function socketOf(listener: ListenerConfig): string {
  return listener.bind.port === 0 ? `${shown(listener)} (${listener.name})` : shown(listener);
}

/** One line per change, for the `config reloaded` record and the admin API's answer. */
export function describeChange(change: ConfigChange): string {
  const fields = 'fields' in change ? ` (${change.fields.join(', ')})` : '';
  switch (change.kind) {
    case 'listener':
      return change.change === 'rebound'
        ? `listener rebound: ${change.name} ${change.was} -> ${change.at}`
        : `listener ${change.change}: ${change.name} ${change.at}${fields}`;
    case 'pool':
      return `pool ${change.change}: ${change.name}${fields}`;
    case 'backend':
      return `backend ${change.change}: pool.${change.pool} ${change.address}${fields}`;
    case 'admin':
      // The admin API keeps the socket it started with: a reload cannot move it.
      return `admin changed${fields}${change.fields.includes('listen') ? ': needs a restart' : ''}`;
    default:
      return `${change.kind} changed${fields}`;
  }
}

/**
 * The changes each config brings over the one before it; the first config (the start)
 * brings none and emits nothing, as does a reload of an unchanged file.
 *
 * ```
 * config$:  a----b----b----c
 * changes:  -----x---------y     x = diffConfigs(a, b), y = diffConfigs(b, c)
 * ```
 */
export function configChanges(): OperatorFunction<Config, readonly ConfigChange[]> {
  return (config$) =>
    config$.pipe(
      pairwise(),
      map(([before, after]) => diffConfigs(before, after)),
      filter((changes) => changes.length > 0),
    );
}

type Fields<T> = readonly (readonly [key: keyof T, name: string])[];

const LISTENER_FIELDS: Fields<ListenerConfig> = [
  ['pool', 'pool'],
  ['maxConnections', 'max_connections'],
  ['sessionTimeoutMs', 'session_timeout'],
  ['maxSessions', 'max_sessions'],
  ['prereadTimeoutMs', 'preread_timeout'],
  ['proxyProtocol', 'proxy_protocol'],
  ['proxyTrusted', 'proxy_trusted'],
  ['allow', 'allow'],
  ['deny', 'deny'],
  ['maxConnectionsPerClient', 'max_connections_per_client'],
  ['connectionRatePerClient', 'connection_rate_per_client'],
  ['routes', 'route'],
];
const POOL_FIELDS: Fields<PoolConfig> = [
  ['policy', 'policy'],
  ['connectTimeoutMs', 'connect_timeout'],
  ['idleTimeoutMs', 'idle_timeout'],
  ['retries', 'retries'],
  ['onNoBackend', 'on_no_backend'],
  ['proxyProtocol', 'proxy_protocol'],
  ['health', 'health'], // send_proxy included
  ['passive', 'passive'],
];
const BACKEND_FIELDS: Fields<BackendConfig> = [
  ['weight', 'weight'],
  ['maxConnections', 'max_connections'],
  ['backup', 'backup'],
  ['healthPath', 'health_check_endpoint'],
];
const GLOBAL_FIELDS: Fields<Config['global']> = [
  ['shutdownGraceMs', 'shutdown_grace'],
  ['maxConnections', 'max_connections'],
];

function changedFields<T>(before: T, after: T, fields: Fields<T>): string[] {
  return fields.filter(([key]) => !sameValue(before[key], after[key])).map(([, name]) => name);
}

/**
 * Config values are plain data (numbers, strings, arrays and objects of them); a compiled
 * list (addresses, server names) compares by its `entries`, as JSON leaves out its
 * `matches` function.
 */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
