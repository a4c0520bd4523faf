import type { RootOptions } from './options.js';
import { parseEndpoint } from '../config/endpoint.js';
import { loadConfigFile } from '../config/load.js';
import { COMMAND_LINE, quickConfig } from '../config/quick.js';
import { resolveConfig } from '../config/resolve.js';
import type { Config } from '../config/types.js';
import { type ConfigIssue, ConfigError, RxlbError } from '../errors.js';
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
  if (options.config !== undefined) return readConfigFile(options.config, backends, options);
  if (backends.length > 0) {
    return quickConfig({ backends: [...backends], listen: options.listen, policy: options.policy, udp: options.udp });
  }
  throw new RxlbError('nothing to balance: give backends (rxlb 127.0.0.1:8080 127.0.0.1:8081) or a config file (rxlb -c rxlb.toml); see rxlb --help');
}

/**
 * The file `-c` names. Quick mode's arguments have no place beside it and are refused,
 * each naming where the file says the same, rather than silently ignored: backends,
 * `--policy`, `--udp`, and `--listen` but for the targets layout, which has no bind of
 * its own. With the file's own errors, if any, all at once.
 */
async function readConfigFile(file: string, backends: readonly string[], options: LoadOptions): Promise<Config> {
  const refused: ConfigIssue[] = [];
  const refuse = (path: string, message: string): void => void refused.push({ file: COMMAND_LINE, path, message });
  if (backends.length > 0) refuse('backend', `give backends on the command line or a config file (-c ${file}), not both`);
  if (options.policy !== undefined) refuse('--policy', `applies to quick mode only; with a config file (-c ${file}), each pool's policy is set in the file`);
  if (options.udp === true) refuse('--udp', `applies to quick mode only; with a config file (-c ${file}), set protocol = "udp" on a [[listener]] in the file`);
  let config: Config;
  try {
    config = await loadConfigFile(file, options.listen === undefined ? {} : { listen: parseEndpoint(options.listen) });
  } catch (err) {
    if (refused.length > 0 && err instanceof ConfigError) throw new ConfigError([...refused, ...err.issues], { cause: err });
    throw err;
  }
  if (options.listen !== undefined && config.layout !== 'targets') {
    const where = config.layout === 'mini-balancer' ? 'frontend.bind_on' : 'listener.bind';
    refuse('--listen', `applies to quick mode and the targets layout only; ${file} says where to listen (${where})`);
  }
  if (refused.length > 0) throw new ConfigError(refused);
  return config;
}
