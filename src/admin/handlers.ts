import type { AdminAction, AdminActionName } from '../streams/state/events.js';
import type { BalancerState } from '../streams/state/backend-state.js';
import type { Scrape } from '../metrics/metrics.js';
import { statusView } from './status.js';
import type { ActionResult, AdminHandlers, ReloadResult } from './types.js';

export interface AdminDeps {
  /** The latest state of the backend-state stream. */
  readonly state: () => BalancerState;
  /** Feeds an operator's action into the state (the balancer's `commands$`); folded at once. */
  readonly command: (action: AdminAction) => void;
  readonly scrape: () => Promise<Scrape>;
  /** Reloads the config file, as SIGHUP does, and answers with the outcome. */
  readonly reload: () => Promise<ReloadResult>;
}

/** What the admin API's routes do, in terms of the stream graph. */
export function adminHandlers(deps: AdminDeps): AdminHandlers {
  return {
    status: () => statusView(deps.state()),
    metrics: deps.scrape,
    reload: deps.reload,
    backend: (pool, backend, action) => backendAction(deps, pool, backend, action),
  };
}

/**
 * Drains, disables or enables a backend. It is named by its address (`10.0.0.1:8080`)
 * or, for a backend given by hostname, by what the config says (`app.internal:8080`),
 * which acts on every address the name resolved to.
 */
function backendAction(deps: AdminDeps, poolName: string, backend: string, action: AdminActionName): ActionResult {
  const pool = deps.state().pools[poolName];
  if (!pool || pool.removed) return { ok: false, error: 'unknown_pool', message: `no pool named "${poolName}"` };
  const byOrigin = pool.config.backends.filter((b) => b.origin === backend).map((b) => b.address);
  const targets = pool.backends.filter((b) => !b.removed && (b.address === backend || byOrigin.includes(b.address))).map((b) => b.address);
  if (targets.length === 0) return { ok: false, error: 'unknown_backend', message: `pool "${poolName}" has no backend ${backend}` };
  for (const address of targets) deps.command({ type: 'admin', pool: poolName, backend: address, action });
  const now = deps.state().pools[poolName]?.backends.find((b) => b.address === targets[0]);
  return { ok: true, pool: poolName, backend, state: now?.status ?? 'down' };
}
