import { formatHostPort } from '../config/endpoint.js';
import type { BalancerState } from '../streams/state/backend-state.js';
import type { StatusView } from './types.js';

/**
 * `GET /status`, read from the backend-state stream's latest state: every listener with
 * its connections open and those it turned away (by reason: `denied`, `rate_limit`, ...),
 * and every pool with its backends. A listener, pool or backend
 * that left the config but still has connections open is shown until they close (a
 * backend as `draining`).
 */
export function statusView(state: BalancerState): StatusView {
  return {
    listeners: Object.values(state.listeners).map((l) => ({
      name: l.config.name,
      protocol: l.config.protocol,
      address: l.address ?? formatHostPort(l.config.bind.host, l.config.bind.port),
      pool: l.config.pool,
      active: l.active,
      rejected: l.rejected,
    })),
    pools: Object.values(state.pools).map((p) => ({
      name: p.config.name,
      policy: p.config.policy,
      backends: p.backends.map((b) => ({
        address: b.address,
        state: b.status,
        weight: b.weight,
        active: b.active,
        total: b.total,
        failures: b.failures,
      })),
    })),
  };
}
