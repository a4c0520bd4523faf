import { formatDuration } from './duration.js';
import { formatEndpoint } from './endpoint.js';
import { formatRate } from './rate.js';
import type { BackendConfig, Config, HealthConfig, ListenerConfig, PassiveConfig, PoolConfig } from './types.js';
import { TARGETS_DEFAULT_LISTEN } from './validate-seed.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const limit = (n: number): string => (n === 0 ? 'unlimited' : String(n));

/**
 * The summary `rxlb check` prints: how the file was understood, then one line per
 * listener, with what it does at the door indented under it (only what is set), and one
 * per pool, with the pool's checks and backends indented under it.
 * Plain text, one setting per phrase, stable for scripts and tests:
 *
 * ```
 * rxlb.toml: rxlb layout: 1 listener, 1 pool
 * global: shutdown_grace 30s, max_connections unlimited
 * admin: off
 * listener web: tcp 127.0.0.1:7070 -> pool web, max_connections unlimited
 * pool web: policy round-robin, connect_timeout 3s, idle_timeout 10m, retries 2, on_no_backend close
 *   health: no active checks
 *   passive: off
 *   backend 127.0.0.1:8080: weight 1, max_connections unlimited
 * ```
 */
export function describeConfig(config: Config): string {
  const lines = [
    `${config.source}: ${config.layout} layout: ${plural(config.listeners.length, 'listener')}, ${plural(config.pools.length, 'pool')}`,
    `global: shutdown_grace ${formatDuration(config.global.shutdownGraceMs)}, max_connections ${limit(config.global.maxConnections)}`,
    config.admin
      ? `admin: ${formatEndpoint(config.admin.listen)}${config.admin.token === undefined ? ', no token' : ', token required for changes'}`
      : 'admin: off',
    ...config.listeners.flatMap((l) => [describeListener(l, config), ...describeDoor(l)]),
    ...config.pools.flatMap(describePool),
  ];
  return lines.join('\n');
}

function describeListener(listener: ListenerConfig, config: Config): string {
  let line = `listener ${listener.name}: ${listener.protocol} ${formatEndpoint(listener.bind)}`;
  if (config.layout === 'targets' && formatEndpoint(listener.bind) === formatEndpoint(TARGETS_DEFAULT_LISTEN)) {
    line += ' (the targets layout default; --listen sets another)';
  }
  const unrouted = listener.protocol === 'udp' ? 'a client no route matches has its datagrams dropped' : 'a connection no route matches is closed';
  line += listener.pool === '' ? ` -> no pool (${unrouted})` : ` -> pool ${listener.pool}`;
  line += `, max_connections ${limit(listener.maxConnections)}`;
  if (listener.protocol === 'udp') {
    line += `, session_timeout ${formatDuration(listener.sessionTimeoutMs)}, max_sessions ${limit(listener.maxSessions)}`;
  }
  return line;
}

/**
 * The listener's door settings, indented under it, each line only when something is set:
 *
 * ```
 *   preread: proxy_protocol accept from 10.0.0.0/8; TLS ClientHello for routes; preread_timeout 5s
 *   clients: deny 10.9.0.0/16; allow 10.0.0.0/8, ::1; max_connections_per_client 10; connection_rate_per_client 20/s
 *   route[0]: sni api.example.com, *.example.com; alpn h2; source 192.0.2.0/24 -> pool api
 * ```
 */
function describeDoor(listener: ListenerConfig): string[] {
  const lines: string[] = [];
  const preread = [
    listener.proxyProtocol === 'accept' && `proxy_protocol accept from ${listener.proxyTrusted ? listener.proxyTrusted.entries.join(', ') : 'any peer'}`,
    listener.needsClientHello && 'TLS ClientHello for routes',
  ].filter((part): part is string => typeof part === 'string');
  if (preread.length > 0) lines.push(`  preread: ${preread.join('; ')}; preread_timeout ${formatDuration(listener.prereadTimeoutMs)}`);
  const clients = [
    listener.deny && `deny ${listener.deny.entries.join(', ') || 'none'}`,
    listener.allow && `allow ${listener.allow.entries.join(', ')}`,
    listener.maxConnectionsPerClient > 0 && `max_connections_per_client ${listener.maxConnectionsPerClient}`,
    listener.connectionRatePerClient && `connection_rate_per_client ${formatRate(listener.connectionRatePerClient)}`,
  ].filter((part): part is string => typeof part === 'string');
  if (clients.length > 0) lines.push(`  clients: ${clients.join('; ')}`);
  listener.routes.forEach((route, i) => {
    const keys = [
      route.sni && `sni ${route.sni.entries.join(', ')}`,
      route.alpn && `alpn ${route.alpn.join(', ')}`,
      route.source && `source ${route.source.entries.join(', ')}`,
    ].filter((part): part is string => typeof part === 'string');
    lines.push(`  route[${i}]: ${keys.join('; ')} -> pool ${route.pool}`);
  });
  return lines;
}

function describePool(pool: PoolConfig): string[] {
  const proxy = pool.proxyProtocol === undefined ? '' : `, proxy_protocol ${pool.proxyProtocol}`;
  return [
    `pool ${pool.name}: policy ${pool.policy}, connect_timeout ${formatDuration(pool.connectTimeoutMs)}, ` +
      `idle_timeout ${formatDuration(pool.idleTimeoutMs)}, retries ${pool.retries}, on_no_backend ${pool.onNoBackend}${proxy}`,
    `  health: ${pool.health ? describeHealth(pool.health, pool.backends) : 'no active checks'}`,
    `  passive: ${pool.passive ? describePassive(pool.passive) : 'off'}`,
    ...pool.backends.map(describeBackend),
  ];
}

function describeHealth(health: HealthConfig, backends: readonly BackendConfig[]): string {
  // The targets layout: each backend has its own path, and the pool's is never used.
  const path = backends.length > 0 && backends.every((b) => b.healthPath !== undefined) ? "each backend's health path" : health.path;
  const what =
    health.kind === 'http'
      ? `http GET ${path} expecting ${health.expectStatus.map(describeStatus).join(',')}`
      : 'tcp connect';
  const port = health.port === undefined ? '' : ` on port ${health.port}`;
  const proxy = health.sendProxy ? ", with the pool's PROXY header" : '';
  return `${what}${port}${proxy}, every ${formatDuration(health.intervalMs)}, timeout ${formatDuration(health.timeoutMs)}, rise ${health.rise}, fall ${health.fall}`;
}

function describeStatus([low, high]: readonly [number, number]): string {
  if (low === high) return String(low);
  if (low % 100 === 0 && high === low + 99) return `${low / 100}xx`;
  return `${low}-${high}`;
}

function describePassive(passive: PassiveConfig): string {
  return `eject for ${formatDuration(passive.ejectForMs)} after ${plural(passive.consecutiveFailures, 'consecutive connect failure')}`;
}

function describeBackend(backend: BackendConfig): string {
  const origin = backend.origin === backend.address ? '' : ` (from ${backend.origin})`;
  let line = `  backend ${backend.address}${origin}: weight ${backend.weight}, max_connections ${limit(backend.maxConnections)}`;
  if (backend.backup) line += ', backup';
  if (backend.healthPath !== undefined) line += `, health path ${backend.healthPath}`;
  return line;
}
