import { defaultListenerName, DEFAULTS } from './defaults.js';
import { formatEndpoint } from './endpoint.js';
import type { Fields } from './fields.js';
import type { Issues } from './issues.js';
import { formatKeyPath, type KeyPath } from './key-path.js';
import { poolRef } from './pool-ref.js';
import type { AdminConfig, ListenerConfig } from './types.js';
import { DOOR_KEYS, validateDoor } from './validate-door.js';

export const LISTENER_KEYS = [
  'name',
  'bind',
  'protocol',
  'pool',
  'max_connections',
  'session_timeout',
  'max_sessions',
  ...DOOR_KEYS,
] as const;

const UDP_ONLY = ['session_timeout', 'max_sessions'] as const;

/** One validated `[[listener]]`, with where it was written for later cross-checks. */
export interface ListenerEntry {
  readonly listener: ListenerConfig;
  readonly fields: Fields;
  /** Whether `bind` was valid, so that a bad one is not also reported as a duplicate. */
  readonly bound: boolean;
}

/** The `[[listener]]` at 0-based `index`; `pools` are the names of the pools defined. */
export function validateListener(entry: Fields, index: number, pools: readonly string[]): ListenerEntry {
  const name = entry.text('name') ?? defaultListenerName(index);
  const bind = entry.require('bind') ? entry.endpoint('bind') : undefined;
  const protocol = entry.oneOf('protocol', ['tcp', 'udp'] as const);
  const protocolOk = protocol !== undefined || !entry.has('protocol');
  if (protocolOk && (protocol ?? DEFAULTS.listener.protocol) === 'tcp') {
    for (const key of UDP_ONLY) {
      if (entry.has(key)) entry.issues.add(entry.at(key), `"${key}" applies to udp listeners only; this listener's protocol is "tcp"`);
    }
  }
  // with routes, `pool` is only where unmatched connections go, and may be left out
  const routed = Array.isArray(entry.raw['route']) && entry.raw['route'].length > 0;
  const pool = routed || entry.require('pool') ? poolRef(entry, 'pool', pools) : undefined;
  const door = validateDoor(entry, protocolOk ? (protocol ?? DEFAULTS.listener.protocol) : undefined, pools);
  const listener: ListenerConfig = {
    name,
    bind: bind?.endpoint ?? { host: '', port: 0 },
    protocol: protocol ?? DEFAULTS.listener.protocol,
    pool: pool ?? '',
    maxConnections: entry.integer('max_connections', 0) ?? DEFAULTS.listener.maxConnections,
    sessionTimeoutMs: entry.duration('session_timeout', 1) ?? DEFAULTS.listener.sessionTimeoutMs,
    maxSessions: entry.integer('max_sessions', 0) ?? DEFAULTS.listener.maxSessions,
    ...door,
  };
  return { listener, fields: entry, bound: bind !== undefined };
}

/**
 * Checks across listeners: names are unique, and no two listeners (nor a listener and
 * the admin API, which is tcp) bind the same protocol, host and port. Port 0 asks the
 * system for a free port, so it never collides.
 */
export function checkListeners(issues: Issues, entries: readonly ListenerEntry[], admin?: { config: AdminConfig; path: KeyPath }): void {
  const names = new Map<string, KeyPath>();
  const binds = new Map<string, KeyPath>();
  if (admin && admin.config.listen.port !== 0) binds.set(`tcp ${formatEndpoint(admin.config.listen)}`, admin.path);
  for (const { listener, fields, bound } of entries) {
    const namePath = fields.has('name') ? fields.at('name') : fields.path;
    const sameName = names.get(listener.name);
    if (sameName) {
      const where = sameName[sameName.length - 1] === 'name' ? `also at ${formatKeyPath(sameName)}` : `the default name of ${formatKeyPath(sameName)}`;
      issues.add(namePath, `duplicate listener name ${JSON.stringify(listener.name)} (${where})`);
    }
    else names.set(listener.name, namePath);
    if (!bound || listener.bind.port === 0) continue;
    const bind = `${listener.protocol} ${formatEndpoint(listener.bind)}`;
    const sameBind = binds.get(bind);
    if (sameBind) issues.add(fields.at('bind'), `duplicate bind ${formatEndpoint(listener.bind)} (${listener.protocol}), also at ${formatKeyPath(sameBind)}`);
    else binds.set(bind, fields.at('bind'));
  }
}
