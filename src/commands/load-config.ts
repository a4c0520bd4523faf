import type { RootOptions } from './options.js';
import { parseEndpoint } from '../config/endpoint.js';
import { loadConfigFile } from '../config/load.js';
import { quickConfig } from '../config/quick.js';
import { resolveConfig } from '../config/resolve.js';
import type { Config } from '../config/types.js';
import { ConfigError, RxlbError } from '../errors.js';
import type { PolicyFactory } from '../operators/policies/types.js';
import { loadPolicies } from '../config/policy-modules.js';

type LoadOptions = Omit<RootOptions, 'verbose'>;

/** The config the options ask for: a file with `-c`, else quick mode; hostnames resolved. */
export async function loadConfig(backends: readonly string[], options: LoadOptions): Promise<Config> {
  return resolveConfig(await readConfig(backends, options));
}

/** A config and the policies its pools name, built-in or loaded from modules. */
export interface LoadedConfig {
  readonly config: Config;
  readonly policies: Readonly<Record<string, PolicyFactory>>;
}

/**
 * As {@link loadConfig}, and loads the policy modules its pools name
 * (`policy = "./my-policy.js"`). Hostname resolution and module loading run together,
 * and their problems come out together in one ConfigError.
 */
export async function loadConfigWithPolicies(backends: readonly string[], options: LoadOptions): Promise<LoadedConfig> {
  const parsed = await readConfig(backends, options);
  // Policies from the parsed config: it still knows the lines of its keys.
  const [resolved, policies] = await Promise.allSettled([resolveConfig(parsed), loadPolicies(parsed)]);
  const failures = [resolved, policies].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length > 1 && failures.every((f) => f instanceof ConfigError)) {
    const issues = failures.flatMap((f) => (f as ConfigError).issues);
    // in file order, as the config's own issues are
    const order = (i: (typeof issues)[number]): number => (i.line ?? 0) * 1_000_000 + (i.column ?? 0);
    throw new ConfigError(
      issues.map((issue, n) => ({ issue, n })).sort((a, b) => order(a.issue) - order(b.issue) || a.n - b.n).map(({ issue }) => issue),
      { cause: failures[0] },
    );
  }
  if (resolved.status === 'rejected') throw resolved.reason;
  if (policies.status === 'rejected') throw policies.reason;
  return { config: resolved.value, policies: policies.value };
}

async function readConfig(backends: readonly string[], options: LoadOptions): Promise<Config> {
  if (options.config !== undefined) {
    if (backends.length > 0) {
      throw new RxlbError(`give backends on the command line or a config file (-c ${options.config}), not both`);
    }
    return loadConfigFile(options.config, options.listen === undefined ? {} : { listen: parseEndpoint(options.listen) });
  }
  if (backends.length > 0) {
    return quickConfig({ backends: [...backends], listen: options.listen, policy: options.policy, udp: options.udp });
  }
  throw new RxlbError('nothing to balance: give backends (rxlb 127.0.0.1:8080 127.0.0.1:8081) or a config file (rxlb -c rxlb.toml); see rxlb --help');
}
