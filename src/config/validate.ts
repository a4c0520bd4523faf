import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { DEFAULTS } from './defaults.js';
import { Fields } from './fields.js';
import { deepFreeze } from './freeze.js';
import { Issues } from './issues.js';
import { createLocator, type Locator } from './locate.js';
import { rememberLocator } from './source-locations.js';
import { describeValue, isTable, unknownKeyMessage, type TomlTableLike } from './toml-value.js';
import type { AdminConfig, Config, Endpoint, GlobalConfig, Layout, ListenerConfig, PoolConfig } from './types.js';
import { checkUdpProxyPools } from './validate-door.js';
import { checkListeners, LISTENER_KEYS, validateListener, type ListenerEntry } from './validate-listener.js';
import { POOL_KEYS, validatePool } from './validate-pool.js';
import { validateMiniBalancer, validateTargets, type LayoutConfig } from './validate-seed.js';

export interface ValidateOptions {
  /** `--listen`: where the targets layout listens (it has no bind of its own). */
  readonly listen?: Endpoint | undefined;
}

/** The top-level keys of each file layout. */
export const LAYOUT_KEYS: Readonly<Record<Exclude<Layout, 'quick'>, readonly string[]>> = {
  rxlb: ['global', 'admin', 'listener', 'pool'],
  'mini-balancer': ['frontend'],
  targets: ['targets'],
};

const GLOBAL_KEYS = ['shutdown_grace', 'max_connections'] as const;
const ADMIN_KEYS = ['listen', 'token'] as const;

/**
 * Validates a parsed TOML document against the schema in interface.md (or one of the
 * seed-style layouts) and returns the deep-frozen Config. Every problem is collected:
 * it throws one ConfigError listing them all, each with its key path and, from `text`,
 * its line, sorted by line.
 */
export function validateConfig(doc: unknown, file: string, text: string, options: ValidateOptions = {}): Config {
  const issues = new Issues();
  const locate = createLocator(text);
  const table: TomlTableLike = isTable(doc) ? doc : {};
  const layout = detectLayout(issues, table, locate);
  let read: LayoutConfig | undefined;
  if (layout === 'mini-balancer') read = validateMiniBalancer(issues, table);
  else if (layout === 'targets') read = validateTargets(issues, table, options.listen);
  else if (layout === 'rxlb') read = validateRxlb(issues, table, dirname(file), locate);
  if (!read || issues.size > 0) throw new ConfigError(issues.toConfigIssues(file, locate));
  const config = deepFreeze<Config>({ source: file, ...read });
  rememberLocator(config, locate);
  return config;
}

/**
 * Which layout the top-level keys belong to. Keys of no layout are reported (with the
 * nearest known one), and so is a file mixing layouts; then it gives undefined. A file
 * with no key at all is an (empty, so invalid) rxlb layout.
 */
function detectLayout(issues: Issues, doc: TomlTableLike, locate: Locator): Exclude<Layout, 'quick'> | undefined {
  const layouts = Object.keys(LAYOUT_KEYS) as Exclude<Layout, 'quick'>[];
  const found = new Map<Exclude<Layout, 'quick'>, string[]>();
  const unknown: string[] = [];
  for (const key of Object.keys(doc)) {
    const layout = layouts.find((l) => LAYOUT_KEYS[l].includes(key));
    if (layout === undefined) unknown.push(key);
    else found.set(layout, [...(found.get(layout) ?? []), key]);
  }
  const [only] = found.size === 1 ? found.keys() : [];
  // suggest among the keys of the file's layout, or of any layout when that is unclear
  const known = only === undefined ? Object.values(LAYOUT_KEYS).flat() : LAYOUT_KEYS[only];
  for (const key of unknown) issues.add([key], unknownKeyMessage(key, known));
  if (found.size > 1) {
    const line = (key: string): number => locate([key])?.line ?? 0;
    const byLine = (keys: readonly string[]): string[] => [...keys].sort((a, b) => line(a) - line(b));
    const groups = [...found].map(([layout, keys]) => [layout, byLine(keys)] as const);
    groups.sort(([, a], [, b]) => line(a[0] ?? '') - line(b[0] ?? ''));
    const named = groups.map(([layout, keys]) => `${keys.map((k) => JSON.stringify(k)).join(', ')} (${layout} layout)`);
    issues.add([groups[1]?.[1][0] ?? ''], `this file mixes layouts: ${named.join(' and ')}; a file uses one layout`);
    return undefined;
  }
  if (only === undefined && unknown.length > 0) return undefined;
  return only ?? 'rxlb';
}

function validateRxlb(issues: Issues, doc: TomlTableLike, baseDir: string, locate: Locator): LayoutConfig {
  const root = Fields.wrap(issues, doc, []);
  const globalFields = root.table('global', GLOBAL_KEYS);
  const global: GlobalConfig = {
    shutdownGraceMs: globalFields?.duration('shutdown_grace') ?? DEFAULTS.global.shutdownGraceMs,
    maxConnections: globalFields?.integer('max_connections', 0) ?? DEFAULTS.global.maxConnections,
  };
  const adminFields = root.table('admin', ADMIN_KEYS);
  const admin = adminFields && validateAdmin(adminFields);

  const pools = validatePools(issues, doc['pool'], baseDir, locate);
  // a pool with mistakes of its own still exists, for the listeners that name it
  const poolNames = isTable(doc['pool']) ? Object.keys(doc['pool']) : [];
  const entries = root.tables('listener', LISTENER_KEYS);
  if (entries?.length === 0 || !root.has('listener')) {
    issues.add(['listener'], 'at least one listener is required: add a [[listener]] table with bind and pool');
  }
  const listeners: ListenerEntry[] = (entries ?? []).map((entry) => validateListener(entry, entryIndex(entry), poolNames));
  checkListeners(issues, listeners, admin && adminFields ? { config: admin, path: adminFields.at('listen') } : undefined);
  checkUdpProxyPools(issues, listeners.map((l) => l.listener), pools);
  checkUdpHealth(issues, listeners.map((l) => l.listener), pools);
  return { layout: 'rxlb', global, admin, listeners: listeners.map((l) => l.listener), pools };
}

/**
 * Active checks connect over TCP (`kind` "tcp" or "http"), to each backend's own port
 * unless `port` says otherwise. A UDP service rarely answers TCP on its port: checked
 * there, every backend of a pool behind a udp listener would be found down and every
 * datagram dropped. So such a pool's `[health]` must name the TCP port to check.
 */
function checkUdpHealth(issues: Issues, listeners: readonly ListenerConfig[], pools: readonly PoolConfig[]): void {
  for (const pool of pools) {
    if (!pool.health || pool.health.port !== undefined) continue;
    const udp = listeners.find((l) => l.protocol === 'udp' && l.pool === pool.name);
    if (!udp) continue;
    issues.add(
      ['pool', pool.name, 'health'],
      `a pool behind a udp listener (${JSON.stringify(udp.name)}) needs a health port: checks connect over TCP, and on the backends' own (UDP) port they would fail and take every backend down; set port to a TCP port the backends answer on (a DNS server's TCP port, a status page), or remove [health]`,
    );
  }
}

/** The 0-based position of an array-of-tables entry, from its key path. */
const entryIndex = (entry: Fields): number => {
  const last = entry.path[entry.path.length - 1];
  return typeof last === 'number' ? last : 0;
};

function validateAdmin(admin: Fields): AdminConfig | undefined {
  const listen = admin.require('listen') ? admin.endpoint('listen') : undefined;
  const token = admin.text('token');
  return listen && { listen: listen.endpoint, token };
}

/** `[pool.<name>]` tables, in the order the file first names them. */
function validatePools(issues: Issues, value: unknown, baseDir: string, locate: Locator): PoolConfig[] {
  if (value === undefined) return [];
  if (!isTable(value)) {
    issues.add(['pool'], `expected a table of pools such as [pool.web], got ${describeValue(value)}`);
    return [];
  }
  // Object.keys puts integer-like keys ("80") first; the source knows the real order
  const line = (name: string): number => locate(['pool', name])?.line ?? Number.MAX_SAFE_INTEGER;
  const names = Object.keys(value).sort((a, b) => line(a) - line(b));
  return names.flatMap((name) => {
    if (name === '') {
      issues.add(['pool', name], 'a pool name must not be empty');
      return [];
    }
    const pool = Fields.open(issues, value[name], ['pool', name], POOL_KEYS);
    return pool ? [validatePool(pool, name, baseDir)] : [];
  });
}
