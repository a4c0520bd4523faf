import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { ConfigError, ResolveError, type ConfigIssue } from '../errors.js';
import { backendAddressPath } from './backend-path.js';
import { formatEndpoint } from './endpoint.js';
import { deepFreeze } from './freeze.js';
import { Issues } from './issues.js';
import { locatorOf } from './source-locations.js';
import type { BackendConfig, Config, PoolConfig } from './types.js';

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
 */
export async function resolveConfig(config: Config, lookup: Lookup = systemLookup): Promise<Config> {
  const hostnames = new Set(config.pools.flatMap((pool) => pool.backends.filter((b) => !isIP(b.host)).map((b) => b.host)));
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
  const pools = config.pools.map((pool): PoolConfig => {
    const backends = pool.backends.flatMap((backend, index): BackendConfig[] => {
      if (isIP(backend.host)) return [backend];
      const result = settled.get(backend.host);
      const path = backendAddressPath(config.layout, pool.name, index);
      if (result?.ok === false) {
        const why = failureReason(result.reason);
        issues.add(path, `cannot resolve ${JSON.stringify(backend.host)}: ${why}`);
        failures.push(new ResolveError(`cannot resolve ${JSON.stringify(backend.host)}: ${why}`, { cause: result.reason }));
        return [];
      }
      const addresses = result?.addresses ?? [];
      if (addresses.length === 0) issues.add(path, `${JSON.stringify(backend.host)} resolved to no address`);
      return addresses.map((ip) => ({ ...backend, host: ip, address: formatEndpoint({ host: ip, port: backend.port }) }));
    });
    const seen = new Set<string>();
    return { ...pool, backends: backends.filter((b) => !seen.has(b.address) && seen.add(b.address)) };
  });
  if (issues.size > 0) {
    const located: ConfigIssue[] = issues.toConfigIssues(config.source, locatorOf(config));
    throw new ConfigError(located, { cause: failures[0] });
  }
  return deepFreeze<Config>({ ...config, pools });
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
