import type { BalancerState } from './backend-state.js';

/**
 * Whether one more connection (or UDP session, which counts as one) fits: under the
 * process's `max_connections`, the cap its descriptor limit sets, and the listener's own
 * `max_connections`. Read before the new one is counted, so it never counts against itself.
 */
export function hasRoom(state: BalancerState, listener: string, cap: number): boolean {
  const globalMax = state.config?.global.maxConnections ?? 0;
  if (state.active >= (globalMax > 0 ? Math.min(globalMax, cap) : cap)) return false;
  const own = state.listeners[listener];
  return own === undefined || own.config.maxConnections === 0 || own.active < own.config.maxConnections;
}
