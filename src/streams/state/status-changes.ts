import { formatDuration } from '../../config/duration.js';
import type { BackendStateChanged, StateCause, StateEvent } from './events.js';
import type { BackendState, BalancerState } from './backend-state.js';

const NONE: readonly BackendStateChanged[] = Object.freeze([]);

/**
 * The `backend state` records one reducer step makes: every backend, present before
 * and after, whose status differs, with the cause the event stands for. Connection
 * events never change a status, so the hot path costs one comparison.
 */
export function statusChanges(before: BalancerState, after: BalancerState, event: StateEvent): readonly BackendStateChanged[] {
  if (before === after) return NONE;
  switch (event.type) {
    case 'health':
      return changed(before, after, event.pool, 'health', () => event.detail, event.backend);
    case 'ejected':
      return changed(before, after, event.pool, 'passive', () => `ejected for ${formatDuration(event.forMs)} after ${event.failures} connect failure${event.failures === 1 ? '' : 's'} in a row`, event.backend);
    case 'restored':
      return changed(before, after, event.pool, 'passive', () => 'ejection over', event.backend);
    case 'admin':
      return changed(before, after, event.pool, 'admin', () => `${ADMIN_DONE[event.action]} by an operator`, event.backend);
    case 'config':
      return Object.keys(after.pools).flatMap((pool) =>
        changed(before, after, pool, 'reload', (b) => (b.removed ? 'removed from the config: open connections finish' : 'config changed')),
      );
    default:
      return NONE;
  }
}

function changed(
  before: BalancerState,
  after: BalancerState,
  pool: string,
  cause: StateCause,
  detail: (b: BackendState) => string,
  only?: string,
): readonly BackendStateChanged[] {
  const old = before.pools[pool]?.backends;
  const now = after.pools[pool]?.backends;
  if (!old || !now) return NONE;
  const records: BackendStateChanged[] = [];
  for (const b of now) {
    if (only !== undefined && b.address !== only) continue;
    const was: BackendState | undefined = old.find((o) => o.address === b.address);
    if (was && was.status !== b.status) {
      records.push({ type: 'backend-state', pool, backend: b.address, from: was.status, to: b.status, cause, detail: detail(b) });
    }
  }
  return records;
}

const ADMIN_DONE = { drain: 'drained', disable: 'disabled', enable: 'enabled' } as const;
