import { type OperatorFunction, scan } from 'rxjs';
import { StateError } from '../../errors.js';
import { inOrder } from '../../operators/in-order.js';
import { type BalancerState, initialState, reduceBackendState } from './backend-state.js';
import type { BackendStateChanged, StateEvent, StateEventDropped } from './events.js';
import { statusChanges } from './status-changes.js';

/** One fold: the state after an event, the status changes it made, and an event it had to drop. */
export interface StateStep {
  readonly state: BalancerState;
  readonly changes: readonly BackendStateChanged[];
  readonly dropped: StateEventDropped | undefined;
}

/** Events that only adjust what routing prefers: one that cannot be folded is dropped, not fatal. */
const ADVISORY: ReadonlySet<StateEvent['type']> = new Set(['checked', 'health', 'ejected', 'restored', 'admin', 'policy-failed']);

const NO_CHANGES: readonly BackendStateChanged[] = Object.freeze([]);

/**
 * The backend-state stream's fold: `reduceBackendState` scanned over every event, in
 * order, with the `backend state` changes each fold made.
 *
 * ```
 * events:  c--o--a--h------x--    config, opened, attempt, health, closed
 * steps:   s--s--s--(s+)---s--    each a state; the health event's also a change
 * ```
 *
 * 1. `inOrder`: connection events are produced while routing reads the state, and
 *    ejections while folding connection events: each is folded after the one being
 *    folded, never inside it.
 * 2. The reducer must not fail. If it does on an event from health checks, passive
 *    checks, the admin API or a policy's report, that event is dropped (the state stays
 *    as it was before it) and reported with the error, and folding goes on.
 * 3. If it fails on a config, listener or connection event, the stream errors with a
 *    StateError: the counts that limits and routing read can no longer be trusted, and
 *    rxlb stops rather than route on a frozen or wrong state.
 */
export function foldState(reduce: (state: BalancerState, event: StateEvent) => BalancerState = reduceBackendState): OperatorFunction<StateEvent, StateStep> {
  return (events$) =>
    events$.pipe(
      inOrder(),
      scan(
        (step: StateStep, event: StateEvent): StateStep => {
          let next: BalancerState;
          try {
            next = reduce(step.state, event);
          } catch (error) {
            if (!ADVISORY.has(event.type)) throw new StateError(`the backend state could not take a ${event.type} event: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
            return { state: step.state, changes: NO_CHANGES, dropped: { type: 'state-event-dropped', event, error } };
          }
          return { state: next, changes: statusChanges(step.state, next, event), dropped: undefined };
        },
        { state: initialState, changes: NO_CHANGES, dropped: undefined },
      ),
    );
}
