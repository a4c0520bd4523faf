import type { BackendState } from '../state/backend-state.js';

/** Who may take a new connection, or why nobody may. */
export type Eligibility =
  | { readonly ok: true; readonly candidates: readonly BackendState[]; readonly up: readonly BackendState[] }
  | { readonly ok: false; readonly reason: 'no_backend' | 'limit' };

/**
 * Which backends may take a new connection now.
 *
 * 1. The group in service: the primaries that are up; only when none is up, the
 *    backups that are up (HAProxy's `backup`). A primary that is down, held out by
 *    passive checks, draining or disabled does not count as up. `up` is that group.
 * 2. Of those, the ones this connection has not tried yet and that are under their
 *    `max_connections`. A retry never spills over to a backup while a primary is up.
 * 3. None up, or every one tried: `no_backend`; left but all full: `limit`.
 */
export function eligible(backends: readonly BackendState[], tried: ReadonlySet<string>): Eligibility {
  const primaries = backends.filter((b) => !b.backup && b.status === 'up');
  const up = primaries.length > 0 ? primaries : backends.filter((b) => b.backup && b.status === 'up');
  // This runs for every new connection: copy the list again only when something is taken out.
  const group = tried.size === 0 ? up : up.filter((b) => !tried.has(b.address));
  if (group.length === 0) return { ok: false, reason: 'no_backend' };
  const candidates = group.some(isFull) ? group.filter((b) => !isFull(b)) : group;
  return candidates.length > 0 ? { ok: true, candidates, up } : { ok: false, reason: 'limit' };
}

const isFull = (b: BackendState): boolean => b.maxConnections > 0 && b.active >= b.maxConnections;
