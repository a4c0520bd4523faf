import { defaultBackend, defaultListener, defaultPool, DEFAULTS } from './defaults.js';
import { Fields } from './fields.js';
import type { Issues } from './issues.js';
import type { TomlTableLike } from './toml-value.js';
import type { BackendConfig, Config, Endpoint } from './types.js';
import { checkDuplicateBackends, checkHttpPath } from './validate-pool.js';

export const FRONTEND_KEYS = ['bind_on', 'backend'] as const;
export const FRONTEND_BACKEND_KEYS = ['forward_to'] as const;
export const TARGET_KEYS = ['address', 'health_check_endpoint'] as const;

/** Where the targets layout listens when `--listen` does not say: its original's `0.0.0.0:80`. */
export const TARGETS_DEFAULT_LISTEN: Endpoint = { host: '0.0.0.0', port: 80 };

/** A config as a layout reads it; the caller adds the source. */
export type LayoutConfig = Omit<Config, 'source'>;

/**
 * The mini-balancer layout: `[frontend] bind_on` and `[[frontend.backend]] forward_to`
 * become one listener and one round-robin pool, both named "frontend".
 */
export function validateMiniBalancer(issues: Issues, doc: TomlTableLike): LayoutConfig {
  const frontend = Fields.open(issues, doc['frontend'], ['frontend'], FRONTEND_KEYS);
  const bind = frontend?.require('bind_on') ? frontend.endpoint('bind_on') : undefined;
  const entries = frontend?.tables('backend', FRONTEND_BACKEND_KEYS);
  if (frontend && (entries?.length === 0 || !frontend.has('backend'))) {
    issues.add(['frontend', 'backend'], 'at least one backend is required: add a [[frontend.backend]] table with forward_to');
  }
  const backends = (entries ?? []).flatMap((entry) => {
    const target = entry.require('forward_to') ? entry.endpoint('forward_to') : undefined;
    return target ? [{ backend: defaultBackend(target.endpoint, target.text), path: entry.at('forward_to') }] : [];
  });
  checkDuplicateBackends(issues, backends);
  return {
    layout: 'mini-balancer',
    global: DEFAULTS.global,
    admin: undefined,
    listeners: [defaultListener('frontend', bind?.endpoint ?? { host: '', port: 0 }, 'frontend')],
    pools: [defaultPool('frontend', backends.map((b) => b.backend))],
  };
}

/**
 * The targets layout: `[[targets]] address, health_check_endpoint` become one listener
 * and one pool named "targets", round robin, answering HTTP 503 when no target is up,
 * each target checked by HTTP GET of its own endpoint every 5 s, out at its first failed
 * check and back at its first pass. It listens on `listen` (from `--listen`), else
 * on 0.0.0.0:80 as its original did.
 */
export function validateTargets(issues: Issues, doc: TomlTableLike, listen: Endpoint | undefined): LayoutConfig {
  const entries = Fields.wrap(issues, doc, []).tables('targets', TARGET_KEYS);
  if (entries?.length === 0) issues.add(['targets'], 'at least one target is required: add a [[targets]] table with address');
  const backends = (entries ?? []).flatMap((entry) => {
    const healthPath = entry.string('health_check_endpoint', checkHttpPath) ?? '/';
    const target = entry.require('address') ? entry.endpoint('address') : undefined;
    if (!target) return [];
    const backend: BackendConfig = { ...defaultBackend(target.endpoint, target.text), healthPath };
    return [{ backend, path: entry.at('address') }];
  });
  checkDuplicateBackends(issues, backends);
  return {
    layout: 'targets',
    global: DEFAULTS.global,
    admin: undefined,
    listeners: [defaultListener('targets', listen ?? TARGETS_DEFAULT_LISTEN, 'targets')],
    pools: [
      {
        ...defaultPool('targets', backends.map((b) => b.backend)),
        onNoBackend: 'http-503',
        health: { ...DEFAULTS.health, kind: 'http', rise: 1, fall: 1 },
      },
    ],
  };
}
