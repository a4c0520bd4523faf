import type { RootOptions } from '../cli.js';
import { parseEndpoint } from '../config/endpoint.js';
import { loadConfigFile } from '../config/load.js';
import { quickConfig } from '../config/quick.js';
import { resolveConfig } from '../config/resolve.js';
import type { Config } from '../config/types.js';
import { ConfigError, RxlbError } from '../errors.js';

/** The config the options ask for: a file with `-c`, else quick mode; hostnames resolved. */
export async function loadConfig(backends: readonly string[], options: Omit<RootOptions, 'verbose'>): Promise<Config> {
  let config: Config;
  if (options.config !== undefined) {
    if (backends.length > 0) {
      throw new RxlbError(`give backends on the command line or a config file (-c ${options.config}), not both`);
    }
    config = await loadConfigFile(options.config, options.listen === undefined ? {} : { listen: parseEndpoint(options.listen) });
  } else if (backends.length > 0) {
    config = quickConfig({ backends: [...backends], listen: options.listen, policy: options.policy, udp: options.udp });
  } else {
    throw new RxlbError('nothing to balance: give backends (rxlb 127.0.0.1:8080 127.0.0.1:8081) or a config file (rxlb -c rxlb.toml); see rxlb --help');
  }
  const resolved = await resolveConfig(config);
  const udp = resolved.listeners.filter((l) => l.protocol === 'udp');
  if (udp.length > 0) {
    throw new ConfigError(
      udp.map((l) => ({ file: resolved.source, path: `listener ${l.name}`, message: 'protocol "udp" is not supported by this version of rxlb yet' })),
    );
  }
  return resolved;
}
