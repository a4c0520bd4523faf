import { defaultBackend, DEFAULTS } from './defaults.js';
import { parseExpectStatus } from './expect-status.js';
import { Fields } from './fields.js';
import type { Issues } from './issues.js';
import { formatKeyPath, type KeyPath } from './key-path.js';
import { checkPolicy } from './policy-names.js';
import { fail } from './result.js';
import { describeValue } from './toml-value.js';
import { checkSendProxy, parseSendProxy } from './validate-door.js';
import type { BackendConfig, HealthConfig, PassiveConfig, PoolConfig } from './types.js';

export const POOL_KEYS = [
  'policy',
  'connect_timeout',
  'idle_timeout',
  'retries',
  'on_no_backend',
  'proxy_protocol',
  'health',
  'passive',
  'backend',
] as const;
export const HEALTH_KEYS = ['kind', 'port', 'path', 'expect_status', 'interval', 'timeout', 'rise', 'fall', 'send_proxy'] as const;
export const PASSIVE_KEYS = ['consecutive_failures', 'eject_for'] as const;
export const BACKEND_KEYS = ['address', 'weight', 'max_connections', 'backup'] as const;

/** `[pool.<name>]` with its health, passive and backend tables; `baseDir` resolves a policy module path. */
export function validatePool(pool: Fields, name: string, baseDir: string): PoolConfig {
  const policy = pool.parsed('policy', (text) => checkPolicy(text, baseDir));
  const health = pool.table('health', HEALTH_KEYS);
  const passive = pool.table('passive', PASSIVE_KEYS);
  const entries = pool.tables('backend', BACKEND_KEYS);
  if (entries?.length === 0 || !pool.has('backend')) {
    pool.issues.add(pool.at('backend'), `a pool needs at least one backend: add a [[${formatKeyPath(pool.at('backend'))}]] table`);
  }
  const backends = (entries ?? []).flatMap((entry) => {
    const backend = validateBackend(entry);
    return backend ? [{ backend, path: entry.at('address') }] : [];
  });
  checkDuplicateBackends(pool.issues, backends);
  const config: PoolConfig = {
    name,
    policy: policy ?? DEFAULTS.pool.policy,
    connectTimeoutMs: pool.duration('connect_timeout', 1) ?? DEFAULTS.pool.connectTimeoutMs,
    idleTimeoutMs: pool.duration('idle_timeout', 1) ?? DEFAULTS.pool.idleTimeoutMs,
    retries: pool.integer('retries', 0) ?? DEFAULTS.pool.retries,
    onNoBackend: pool.oneOf('on_no_backend', ['close', 'http-503'] as const) ?? DEFAULTS.pool.onNoBackend,
    proxyProtocol: pool.value('proxy_protocol', parseSendProxy),
    health: health && validateHealth(health),
    passive: passive && validatePassive(passive),
    backends: backends.map((b) => b.backend),
  };
  checkSendProxy(pool, health, config);
  return config;
}

/** `[pool.<name>.health]`: http-only keys on a tcp check are errors. */
export function validateHealth(health: Fields): HealthConfig {
  const kind = health.oneOf('kind', ['tcp', 'http'] as const) ?? (health.has('kind') ? undefined : DEFAULTS.health.kind);
  if (kind === 'tcp') {
    for (const key of ['path', 'expect_status']) {
      if (health.has(key)) health.issues.add(health.at(key), `"${key}" applies to http health checks only; this check's kind is "tcp"`);
    }
  }
  const expect = health.value('expect_status', (value) =>
    typeof value === 'string' || typeof value === 'number'
      ? parseExpectStatus(value)
      : fail(`expected a string such as "2xx", "200" or "200-399", got ${describeValue(value)}`),
  );
  return {
    kind: kind ?? DEFAULTS.health.kind,
    port: health.integer('port', 1, 65_535),
    path: health.string('path', checkHttpPath) ?? DEFAULTS.health.path,
    expectStatus: expect ?? DEFAULTS.health.expectStatus,
    intervalMs: health.duration('interval', 1) ?? DEFAULTS.health.intervalMs,
    timeoutMs: health.duration('timeout', 1) ?? DEFAULTS.health.timeoutMs,
    rise: health.integer('rise', 1) ?? DEFAULTS.health.rise,
    fall: health.integer('fall', 1) ?? DEFAULTS.health.fall,
    sendProxy: health.boolean('send_proxy') ?? DEFAULTS.health.sendProxy,
  };
}

/** `[pool.<name>.passive]`. */
export function validatePassive(passive: Fields): PassiveConfig {
  return {
    consecutiveFailures: passive.integer('consecutive_failures', 1) ?? DEFAULTS.passive.consecutiveFailures,
    ejectForMs: passive.duration('eject_for', 1) ?? DEFAULTS.passive.ejectForMs,
  };
}

/** One `[[pool.<name>.backend]]`; undefined when its address is missing or bad. */
export function validateBackend(entry: Fields): BackendConfig | undefined {
  const weight = entry.integer('weight', 1);
  const maxConnections = entry.integer('max_connections', 0);
  const backup = entry.boolean('backup');
  if (!entry.require('address')) return undefined;
  const address = entry.endpoint('address');
  if (!address) return undefined;
  return {
    ...defaultBackend(address.endpoint, address.text),
    weight: weight ?? DEFAULTS.backend.weight,
    maxConnections: maxConnections ?? DEFAULTS.backend.maxConnections,
    backup: backup ?? DEFAULTS.backend.backup,
  };
}

/**
 * Two backends of one pool at the same address are an error: the admin API and the
 * metrics name a backend by its address, so they could not be told apart.
 */
export function checkDuplicateBackends(
  issues: Issues,
  backends: readonly { readonly backend: BackendConfig; readonly path: KeyPath }[],
): void {
  const first = new Map<string, KeyPath>();
  for (const { backend, path } of backends) {
    const earlier = first.get(backend.address);
    if (earlier) issues.add(path, `duplicate backend ${backend.address} in this pool (also at ${formatKeyPath(earlier)})`);
    else first.set(backend.address, path);
  }
}

/** What is wrong with an HTTP request path, or undefined: it starts with `/` and has no spaces. */
export function checkHttpPath(path: string): string | undefined {
  if (!path.startsWith('/')) return `expected a path starting with "/", got ${JSON.stringify(path)}`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\x00-\x1f\x7f]/.test(path)) return `a path must not contain spaces or control characters, got ${JSON.stringify(path)}`;
  return undefined;
}
