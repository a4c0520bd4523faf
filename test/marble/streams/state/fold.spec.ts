import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../../../src/errors.js';
import { type BalancerState, reduceBackendState } from '../../../../src/streams/state/backend-state.js';
import type { StateEvent } from '../../../../src/streams/state/events.js';
import { type StateStep, foldState } from '../../../../src/streams/state/fold.js';
import { testScheduler } from '../../helpers.js';
import { backend, config, pool } from '../../fixtures.js';

const cfg = config([pool([backend('10.0.0.1:80')])]);
const tag = { listener: 'front', pool: 'web', client: '10.9.9.9:1' };
const events: Record<string, StateEvent> = {
  c: { type: 'config', config: cfg },
  o: { type: 'conn-opened', listener: 'front', client: tag.client },
  a: { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 1 },
  h: { type: 'health', pool: 'web', backend: '10.0.0.1:80', up: false, detail: 'connection refused' },
  d: { type: 'admin', pool: 'web', backend: '10.0.0.1:80', action: 'drain' },
};

/** A reducer with a bug: it throws on one kind of event. */
const failingOn =
  (type: StateEvent['type']) =>
  (state: BalancerState, event: StateEvent): BalancerState => {
    if (event.type === type) throw new Error(`bug folding ${type}`);
    return reduceBackendState(state, event);
  };

/** What a step shows: the backend's active count and status, `+` for a change, `!` for a dropped event. */
const show = (step: StateStep): string => {
  const b = step.state.pools.web?.backends[0];
  return `${b?.active ?? '-'}${b?.status ?? '-'}${step.changes.length > 0 ? '+' : ''}${step.dropped ? '!' : ''}`;
};

describe('foldState', () => {
  it('folds every event in order, with the status changes each made', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const source = hot('c-o-a-h', events);
      expectObservable(source.pipe(foldState(), map(show))).toBe('c-o-a-h', { c: '0up', o: '0up', a: '1up', h: '1down+' });
    });
  });

  it('drops an advisory event it cannot fold, reports it, and goes on from the state before it', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const source = hot('c-a-h-d', events);
      const steps: StateStep[] = [];
      const folded$ = source.pipe(foldState(failingOn('health')), map((step) => (steps.push(step), show(step))));
      expectObservable(folded$).toBe('c-a-h-d', { c: '0up', a: '1up', h: '1up!', d: '1draining+' });
      rx.flush();
      expect(steps[2]?.dropped).toMatchObject({ type: 'state-event-dropped', event: events.h });
      expect((steps[2]?.dropped?.error as Error).message).toBe('bug folding health');
    });
  });

  it('errors with a StateError when it cannot fold a connection event: limits and routing would read wrong counts', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('c-o-a-h', events);
      expectObservable(source.pipe(foldState(failingOn('conn-attempt')), map(show))).toBe(
        'c-o-#',
        { c: '0up', o: '0up' },
        new StateError('the backend state could not take a conn-attempt event: bug folding conn-attempt', { cause: new Error('bug folding conn-attempt') }),
      );
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });
});
