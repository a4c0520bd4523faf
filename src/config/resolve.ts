import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { ConfigError, ResolveError, type ConfigIssue } from '../errors.js';
import { backendAddressPath } from './backend-path.js';
import { formatEndpoint } from './endpoint.js';
import { deepFreeze } from './freeze.js';
import { Issues } from './issues.js';
import { formatKeyPath, type KeyPath } from './key-path.js';
import { listenerBindPath } from './listener-path.js';
import { locatorOf } from './source-locations.js';
import type { BackendConfig, Config, Endpoint, ListenerConfig, PoolConfig } from './types.js';

/** Looks a hostname up, giving every address (as `dns.promises.lookup` with `{ all: true }`). */
export type Lookup = (hostname: string, options: { all: true }) => Promise<readonly { address: string; family: number }[]>;

type Answer = { readonly ok: true; readonly addresses: readonly string[] } | { readonly ok: false; readonly reason: unknown };

const systemLookup: Lookup = (hostname, options) => dns.lookup(hostname, options);

/**
 * Replaces every backend whose host is a hostname by one backend per address it
 * resolves to, in the order the lookup gives them, each keeping the weight, limits,
 * backup flag, health path and `origin` of the one written. Each hostname is looked up
 * once. Failed lookups are collected into one ConfigError with an issue at each
 * backend's key path (`pool.web.backend[0].address: cannot resolve "nohost.invalid":
 * ENOTFOUND`), located in the source when the config came from `parseConfigText`.
 *
 * When resolution makes two backends of one pool the same address (a hostname giving
 * 127.0.0.1 next to a written 127.0.0.1 at the same port), the first is kept and the
 * later ones dropped: the user asked for that address, and the admin API and metrics
 * name a backend by its address, so they must be unique. Written duplicates are
 * already an error at validation.
 *
 * Where rxlb listens is resolved too, so that `rxlb check` finds what would fail to
 * bind: a listener's bind and the `[admin] listen` address, when a hostname, become the
 * first address it resolves to (the one Node's own `listen` would take). One that does
 * not resolve is an issue at its key path, and so is one that, resolved, binds what
 * another listener or the admin API binds (`localhost:7070` beside `127.0.0.1:7070`).
 */
export async function resolveConfig(config: Config, lookup: Lookup = systemLookup): Promise<Config> {
  const bindHosts = [...config.listeners.map((l) => l.bind.host), ...(config.admin ? [config.admin.listen.host] : [])];
  const hostnames = new Set([...config.pools.flatMap((pool) => pool.backends.map((b) => b.host)), ...bindHosts].filter((host) => host !== '' && !isIP(host)));
  if (hostnames.size === 0) return config;
  const settled = new Map(
    await Promise.all(
      [...hostnames].map(async (host) => {
        const answer: Answer = await Promise.resolve()
          .then(() => lookup(host, { all: true }))
          .then((found) => ({ ok: true as const, addresses: ipAddresses(found) }))
          .catch((reason: unknown) => ({ ok: false as const, reason }));
        return [host, answer] as const;
      }),
    ),
  );

  const issues = new Issues();
  const failures: ResolveError[] = [];
  /** The addresses `host` resolved to; a failure is an issue at `path`. */
  const addressesOf = (host: string, path: KeyPath): readonly string[] => {
    const result = settled.get(host);
    if (result?.ok === false) {
      const why = failureReason(result.reason);
      issues.add(path, `cannot resolve ${JSON.stringify(host)}: ${why}`);
      failures.push(new ResolveError(`cannot resolve ${JSON.stringify(host)}: ${why}`, { cause: result.reason }));
      return [];
    }
    const addresses = result?.addresses ?? [];
    if (addresses.length === 0) issues.add(path, `${JSON.stringify(host)} resolved to no address`);
    return addresses;
  };
  const pools = config.pools.map((pool): PoolConfig => {
    const backends = pool.backends.flatMap((backend, index): BackendConfig[] => {
      if (isIP(backend.host)) return [backend];
      const addresses = addressesOf(backend.host, backendAddressPath(config.layout, pool.name, index));
      return addresses.map((ip) => ({ ...backend, host: ip, address: formatEndpoint({ host: ip, port: backend.port }) }));
    });
    const seen = new Set<string>();
    return { ...pool, backends: backends.filter((b) => !seen.has(b.address) && seen.add(b.address)) };
  });

  // Where rxlb listens: a hostname means its first address. Those written as addresses
  // are taken first (validation has compared them already), then each hostname's.
  const binds = [
    ...(config.admin ? [{ endpoint: config.admin.listen, protocol: 'tcp', path: ['admin', 'listen'] as KeyPath }] : []),
    ...config.listeners.map((l, index) => ({ endpoint: l.bind, protocol: l.protocol, path: listenerBindPath(config.layout, index) })),
  ];
  const taken = new Map<string, KeyPath>();
  const socket = (endpoint: Endpoint, protocol: string): string | undefined => (endpoint.port === 0 ? undefined : `${protocol} ${formatEndpoint(endpoint)}`);
  for (const { endpoint, protocol, path } of binds) {
    const key = isIP(endpoint.host) ? socket(endpoint, protocol) : undefined;
    if (key !== undefined && !taken.has(key)) taken.set(key, path);
  }
  const bound = binds.map(({ endpoint, protocol, path }): Endpoint => {
    if (isIP(endpoint.host) || endpoint.host === '') return endpoint;
    const [first] = addressesOf(endpoint.host, path);
    if (first === undefined) return endpoint;
    const resolved = { host: first, port: endpoint.port };
    const key = socket(resolved, protocol);
    const other = key === undefined ? undefined : taken.get(key);
    if (other !== undefined) {
      issues.add(path, `duplicate bind ${formatEndpoint(resolved)} (${protocol}), also at ${formatKeyPath(other)}: ${JSON.stringify(endpoint.host)} resolves to ${first}`);
    } else if (key !== undefined) taken.set(key, path);
    return resolved;
  });
  const admin = config.admin && { ...config.admin, listen: bound[0]! };
  const listeners = config.listeners.map((l, index): ListenerConfig => ({ ...l, bind: bound[index + (config.admin ? 1 : 0)]! }));

  if (issues.size > 0) {
    const located: ConfigIssue[] = issues.toConfigIssues(config.source, locatorOf(config));
    throw new ConfigError(located, { cause: failures[0] });
  }
  return deepFreeze<Config>({ ...config, admin, listeners, pools });
}

/**
 * The addresses in a lookup's answer. A custom lookup may answer anything: what is not a
 * list of IP addresses throws, and so fails that hostname like a lookup error.
 */
function ipAddresses(found: unknown): string[] {
  if (!Array.isArray(found)) throw new Error(`the lookup answered ${showValue(found)}, not a list of addresses`);
  return found.map((entry: unknown) => {
    const address = (entry as { address?: unknown } | null | undefined)?.address;
    if (typeof address !== 'string' || isIP(address) === 0) throw new Error(`the lookup answered ${showValue(address)}, not an IP address`);
    return address;
  });
}

/** Why a lookup failed, on one line: its error code, else its message, else the value thrown. */
function failureReason(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string') return code;
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : showValue(err);
  return text.split(/\r?\n/)[0] ?? '';
}

/** Any value as text; never throws (`String` does, for an object with no prototype). */
function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
