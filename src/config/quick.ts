import { ConfigError } from '../errors.js';
import { defaultBackend, defaultListener, defaultPool, DEFAULTS } from './defaults.js';
import { tryParseEndpoint } from './endpoint.js';
import { deepFreeze } from './freeze.js';
import { Issues } from './issues.js';
import type { KeyPath } from './key-path.js';
import { checkPolicy } from './policy-names.js';
import type { Config, Endpoint } from './types.js';
import { checkDuplicateBackends } from './validate-pool.js';

/** The file name quick mode's issues and config carry. */
export const COMMAND_LINE = '<command line>';

export interface QuickOptions {
  /** Backends as `host:port`, in order. */
  readonly backends: readonly string[];
  /** `--listen`; default `127.0.0.1:0` (a free port is picked). */
  readonly listen?: string | undefined;
  /** `--policy`; default round-robin. A relative module path resolves against the working directory. */
  readonly policy?: string | undefined;
  /** `--udp`: one udp listener instead of tcp. */
  readonly udp?: boolean | undefined;
}

/**
 * The config of quick mode (`rxlb 127.0.0.1:8080 localhost:9090`): listener "listener-1"
 * on `listen`, pool "default" with the backends in order, every other setting at its
 * default. Issues name the argument: `backend[1]`, `--listen` or `--policy`.
 */
export function quickConfig(options: QuickOptions): Config {
  const issues = new Issues();
  const endpoint = (text: string, path: KeyPath): Endpoint | undefined => {
    const parsed = tryParseEndpoint(text);
    if (parsed.ok) return parsed.value;
    issues.add(path, parsed.message);
    return undefined;
  };
  const listen = options.listen === undefined ? { host: '127.0.0.1', port: 0 } : endpoint(options.listen, ['--listen']);
  let policy: string = DEFAULTS.pool.policy;
  if (options.policy !== undefined) {
    const checked = checkPolicy(options.policy, process.cwd());
    if (checked.ok) policy = checked.value;
    else issues.add(['--policy'], checked.message);
  }
  if (options.backends.length === 0) issues.add(['backend'], 'at least one backend is required, as in: rxlb 127.0.0.1:8080');
  const backends = options.backends.flatMap((text, i) => {
    const parsed = endpoint(text, ['backend', i]);
    return parsed ? [{ backend: defaultBackend(parsed, text), path: ['backend', i] }] : [];
  });
  checkDuplicateBackends(issues, backends);
  if (issues.size > 0 || !listen) throw new ConfigError(issues.toConfigIssues(COMMAND_LINE));
  return deepFreeze<Config>({
    source: COMMAND_LINE,
    layout: 'quick',
    global: DEFAULTS.global,
    admin: undefined,
    listeners: [{ ...defaultListener('listener-1', listen, 'default'), protocol: options.udp ? 'udp' : 'tcp' }],
    pools: [{ ...defaultPool('default', backends.map((b) => b.backend)), policy }],
  });
}
