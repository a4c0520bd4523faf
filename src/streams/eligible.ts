import type { BackendState } from './state.js';

/** Who may take a new connection, or why nobody may. */
export type Eligibility =
  | { readonly ok: true; readonly candidates: readonly BackendState[]; readonly up: readonly BackendState[] }
  | { readonly ok: false; readonly reason: 'no_backend' | 'limit' };

/**
 * Which backends may take a new connection now.
 *
 * 1. Primaries that are up and not yet tried by this connection, if there are any;
 *    backups only when no such primary is left (HAProxy's `backup`). `up` is that
 *    group before tried and full backends are taken out.
 * 2. Of those, the ones under their `max_connections`.
 * 3. None up: `no_backend`; up but all full: `limit`.
 */
export function eligible(backends: readonly BackendState[], tried: ReadonlySet<string>): Eligibility {
  const primaries = backends.filter((b) => !b.backup && b.status === 'up');
  let up = primaries;
  let group = primaries.filter((b) => !tried.has(b.address));
  if (group.length === 0) {
    up = backends.filter((b) => b.backup && b.status === 'up');
    group = up.filter((b) => !tried.has(b.address));
  }
  if (group.length === 0) return { ok: false, reason: 'no_backend' };
  const candidates = group.filter((b) => b.maxConnections === 0 || b.active < b.maxConnections);
  return candidates.length > 0 ? { ok: true, candidates, up } : { ok: false, reason: 'limit' };
}
