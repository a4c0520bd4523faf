import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Config, PassiveConfig } from '../../../../src/config/types.js';
import type { ConnConnected, ConnEvent, ConnFailed } from '../../../../src/streams/state/events.js';
import {
  type PassiveEvent,
  type PassiveInput,
  type PassiveStep,
  ejectionMs,
  emptyPassiveTable,
  maxEjected,
  passive$,
  reducePassive,
} from '../../../../src/streams/health/passive.js';
import { testScheduler } from '../../helpers.js';
import { backend, config, pool } from '../../fixtures.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';
const D = '10.0.0.4:80';
const tag = { listener: 'front', pool: 'web', client: '10.9.9.9:1', attempt: 1 };
const fail = (address: string): ConnFailed => ({ type: 'conn-failed', ...tag, backend: address, reason: 'refused' });
const ok = (address: string): ConnConnected => ({ type: 'conn-connected', ...tag, backend: address });

/** A pool `web` of these backends; `null`: without [passive]. */
function cfg(addresses: readonly string[], passive: PassiveConfig | null = { consecutiveFailures: 3, ejectForMs: 10 }): Config {
  return config([pool(addresses.map((a) => backend(a)), { passive: passive ?? undefined })]);
}

/** Folds inputs from an empty table; returns the last step and every event on the way. */
function fold(inputs: readonly PassiveInput[], from: PassiveStep = { table: emptyPassiveTable, events: [], timers: [] }) {
  const events: PassiveEvent[] = [];
  let step = from;
  for (const input of inputs) {
    step = reducePassive(step.table, input);
    events.push(...step.events);
  }
  return { step, events };
}

/** e<ms> ejected for that long, r restored, with the backend's last digit: `e10@1`, `r@1`. */
const short = (e: PassiveEvent): string => (e.type === 'ejected' ? `e${e.forMs}@${e.backend.slice(7, 8)}` : `r@${e.backend.slice(7, 8)}`);

describe('reducePassive', () => {
  it('ejects at the consecutive_failures-th failure in a row, for eject_for', () => {
    const { step, events } = fold([{ type: 'config', config: cfg([A, B]) }, fail(A), fail(A), fail(A)]);
    expect(events).toEqual([{ type: 'ejected', pool: 'web', backend: A, forMs: 10, count: 1, failures: 3 }]);
    expect(step.timers).toEqual([{ pool: 'web', backend: A, id: 1, forMs: 10 }]);
  });

  it('counts no failure of rxlb’s own (out of descriptors) against a backend', () => {
    const emfile: ConnFailed = { ...fail(A), reason: 'error', local: 'EMFILE' };
    const { step, events } = fold([{ type: 'config', config: cfg([A, B]) }, fail(A), fail(A), emfile, emfile, emfile]);
    expect(events).toEqual([]);
    expect(fold([fail(A)], step).events).toEqual([{ type: 'ejected', pool: 'web', backend: A, forMs: 10, count: 1, failures: 3 }]);
  });

  it('starts counting again after a successful connect', () => {
    const { events } = fold([{ type: 'config', config: cfg([A, B]) }, fail(A), fail(A), ok(A), fail(A), fail(A)]);
    expect(events).toEqual([]);
  });

  it('doubles each ejection that follows another without a success, up to ten times eject_for', () => {
    const inputs: PassiveInput[] = [{ type: 'config', config: cfg([A, B]) }];
    for (let id = 1; id <= 6; id += 1) inputs.push(fail(A), fail(A), fail(A), { type: 'ejection-over', pool: 'web', backend: A, id });
    const { events } = fold(inputs);
    expect(events.map(short)).toEqual(['e10@1', 'r@1', 'e20@1', 'r@1', 'e40@1', 'r@1', 'e80@1', 'r@1', 'e100@1', 'r@1', 'e100@1', 'r@1']);
    expect([1, 2, 3, 4, 5, 6].map((n) => ejectionMs(30_000, n))).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  it('goes back to eject_for once the backend has connected again', () => {
    const over = (id: number): PassiveInput => ({ type: 'ejection-over', pool: 'web', backend: A, id });
    const { events } = fold([{ type: 'config', config: cfg([A, B]) }, fail(A), fail(A), fail(A), over(1), ok(A), fail(A), fail(A), fail(A)]);
    expect(events.map(short)).toEqual(['e10@1', 'r@1', 'e10@1']);
  });

  it('never holds out more than half of a pool, rounded down; the next failure after a place frees up ejects', () => {
    const one = { consecutiveFailures: 1, ejectForMs: 10 };
    const { events } = fold([
      { type: 'config', config: cfg([A, B, C, D], one) },
      fail(A),
      fail(B),
      fail(C), // two of four are out: C stays in
      { type: 'ejection-over', pool: 'web', backend: A, id: 1 },
      fail(C),
    ]);
    expect(events.map(short)).toEqual(['e10@1', 'e10@2', 'r@1', 'e10@3']);
    expect([1, 2, 3, 4, 5].map(maxEjected)).toEqual([0, 1, 1, 2, 2]);
  });

  it('never ejects the only backend of a pool', () => {
    const { events } = fold([{ type: 'config', config: cfg([A]) }, fail(A), fail(A), fail(A), fail(A), fail(A), fail(A)]);
    expect(events).toEqual([]);
  });

  it('ignores failures of attempts still under way while the backend is out', () => {
    const { step, events } = fold([{ type: 'config', config: cfg([A, B]) }, fail(A), fail(A), fail(A), fail(A), fail(A), fail(A)]);
    expect(events).toHaveLength(1);
    expect(step.timers).toEqual([]);
  });

  it('ignores the end of an ejection that is no longer in force', () => {
    const { step } = fold([{ type: 'config', config: cfg([A, B]) }, fail(A), fail(A), fail(A)]);
    expect(reducePassive(step.table, { type: 'ejection-over', pool: 'web', backend: A, id: 99 }).events).toEqual([]);
    expect(reducePassive(step.table, { type: 'ejection-over', pool: 'nope', backend: A, id: 1 }).events).toEqual([]);
  });

  it('forgets a backend that leaves the config: coming back, it starts afresh', () => {
    const { step } = fold([{ type: 'config', config: cfg([A, B]) }, fail(A), fail(A), fail(A), { type: 'config', config: cfg([B, C]) }]);
    const back = fold([{ type: 'config', config: cfg([A, B, C]) }, fail(A), fail(A)], step);
    expect(back.events).toEqual([]);
    // the first ejection's timer ends, but that ejection belonged to the backend that left
    expect(reducePassive(back.step.table, { type: 'ejection-over', pool: 'web', backend: A, id: 1 }).events).toEqual([]);
    expect(fold([fail(A)], back.step).events.map(short)).toEqual(['e10@1']);
  });

  it('does nothing for pools without [passive] or backends it does not know', () => {
    const { events } = fold([{ type: 'config', config: cfg([A, B], null) }, fail(A), fail(A), fail(A), fail(A)]);
    expect(events).toEqual([]);
    const known = fold([{ type: 'config', config: cfg([A, B]) }]).step;
    expect(reducePassive(known.table, fail('10.9.9.9:1')).table).toBe(known.table);
  });
});

describe('passive$', () => {
  it('ejects on failures of real traffic, restores when the time is up, and doubles a repeat ejection', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const conns = hot<ConnEvent>('-fff 20ms fff 20ms s fff', { f: fail(A), s: ok(A) });
      const events = passive$({ config$: cold('c', { c: cfg([A, B]) }), conns$: conns });
      // ejected at 3 for 10; again at 26 for 20 (no success in between); after the success at 47, 10 again
      expectObservable(events.pipe(map(short)), '^ 80ms !').toBe('---a 9ms r 12ms b 19ms r 3ms a 9ms r', { a: 'e10@1', b: 'e20@1', r: 'r@1' });
    });
  });

  it('caps ejections at half the pool in virtual time', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const one = { consecutiveFailures: 1, ejectForMs: 10 };
      const conns = hot<ConnEvent>('-abc 9ms c', { a: fail(A), b: fail(B), c: fail(C) });
      const events = passive$({ config$: cold('c', { c: cfg([A, B, C, D], one) }), conns$: conns });
      // A at 1 and B at 2 fill the cap of two; C's failure at 3 ejects nothing; A is back at 11, so C's at 13 does
      expectObservable(events.pipe(map(short)), '^ 30ms !').toBe('-ab 8ms xy c 9ms z', { a: 'e10@1', b: 'e10@2', x: 'r@1', y: 'r@2', c: 'e10@3', z: 'r@3' });
    });
  });

  it('stops its timers when unsubscribed', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const conns = hot<ConnEvent>('-fff', { f: fail(A) });
      const config$ = cold('c', { c: cfg([A, B]) });
      // ejected at 3 for 10: its timer is due at 13, after the unsubscription at 6
      expectObservable(passive$({ config$, conns$: conns }).pipe(map(short)), '^ 5ms !').toBe('---a', { a: 'e10@1' });
      expectSubscriptions(conns.subscriptions).toBe('^ 5ms !');
    });
    // The virtual clock runs until nothing is left to run: a timer still running would
    // have run at 13, moving it there.
    expect(rx.frame).toBe(6);
  });
});
