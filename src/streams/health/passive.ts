import { type Observable, Subject, defer, filter, from, ignoreElements, map, merge, mergeMap, scan, tap, timer } from 'rxjs';
import type { Config, PassiveConfig } from '../../config/types.js';
import type { BackendEjected, BackendRestored, ConfigApplied, ConnConnected, ConnEvent, ConnFailed } from '../state/events.js';

/** What passive checks emit into the backend state. */
export type PassiveEvent = BackendEjected | BackendRestored;

/** An ejection's time is up (fed back from the ejection's own timer). */
export interface EjectionOver {
  readonly type: 'ejection-over';
  readonly pool: string;
  readonly backend: string;
  /** Which ejection: a timer left over from an earlier one changes nothing. */
  readonly id: number;
}

export type PassiveInput = ConfigApplied | ConnFailed | ConnConnected | EjectionOver;

interface PassiveBackend {
  /** Connect failures in a row, since the last success or ejection. */
  readonly failures: number;
  /** Ejections since the last successful connect: the next one lasts 2^this times longer. */
  readonly ejections: number;
  /** The id of the ejection in force, if any. */
  readonly ejection: number | undefined;
}

interface PassivePool {
  readonly config: PassiveConfig;
  /** How many backends the pool has: at most half of them may be out at once. */
  readonly size: number;
  readonly backends: Readonly<Record<string, PassiveBackend>>;
}

/** What passive checks know: only the pools with `[passive]`. */
export interface PassiveTable {
  readonly pools: Readonly<Record<string, PassivePool>>;
  /** The id the next ejection gets. */
  readonly nextId: number;
}

/** An ejection timer to start. */
export interface EjectionTimer {
  readonly pool: string;
  readonly backend: string;
  readonly id: number;
  readonly forMs: number;
}

/** One step of the passive reducer: the new table, the events to emit and the timers to start. */
export interface PassiveStep {
  readonly table: PassiveTable;
  readonly events: readonly PassiveEvent[];
  readonly timers: readonly EjectionTimer[];
}

const NOTHING: readonly never[] = Object.freeze([]);

export const emptyPassiveTable: PassiveTable = Object.freeze({ pools: {}, nextId: 1 });

/** An ejection lasts at most this many times `eject_for`. */
export const MAX_EJECTION_FACTOR = 10;

/** How long the `count`-th ejection in a row lasts: `eject_for`, doubled each time, at most ten times it. */
export function ejectionMs(ejectForMs: number, count: number): number {
  return Math.min(ejectForMs * 2 ** (count - 1), ejectForMs * MAX_EJECTION_FACTOR);
}

/**
 * How many of a pool's `size` backends passive checks may hold out at once: half,
 * rounded down. A pool of one is never ejected from: it would have nowhere else to send
 * clients, and a failed attempt at least leaves the client's retries a chance.
 */
export function maxEjected(size: number): number {
  return Math.floor(size / 2);
}

/**
 * The pure reducer of passive outlier detection (nginx's `max_fails`, Envoy's
 * consecutive-failure ejection):
 *
 * 1. `consecutive_failures` connect failures in a row take a backend out for
 *    `eject_for`; a successful connect resets the count.
 * 2. Each ejection that follows another without a successful connect in between lasts
 *    twice as long as the one before, up to ten times `eject_for`.
 * 3. No more than half of a pool's backends (rounded down) are out at once; a backend
 *    over the threshold while the pool is at that cap is ejected at its next failure
 *    after a place frees up.
 * 4. When its time is up the backend is back, with its failure count at zero.
 * 5. A new config keeps what it knows of backends that stay in a pool with `[passive]`,
 *    and forgets the rest (a backend that leaves and comes back starts afresh).
 */
export function reducePassive(table: PassiveTable, input: PassiveInput): PassiveStep {
  switch (input.type) {
    case 'config':
      return { table: applyConfig(table, input.config), events: NOTHING, timers: NOTHING };
    case 'conn-connected':
      return {
        table: update(table, input.pool, input.backend, (b) => (b.failures === 0 && b.ejections === 0 ? b : { ...b, failures: 0, ejections: 0 })),
        events: NOTHING,
        timers: NOTHING,
      };
    case 'conn-failed':
      // A failure of rxlb's own (out of descriptors) says nothing about the backend.
      return input.local ? { table, events: NOTHING, timers: NOTHING } : failed(table, input.pool, input.backend);
    case 'ejection-over': {
      const backend = table.pools[input.pool]?.backends[input.backend];
      if (backend?.ejection !== input.id) return { table, events: NOTHING, timers: NOTHING };
      return {
        table: update(table, input.pool, input.backend, (b) => ({ ...b, failures: 0, ejection: undefined })),
        events: [{ type: 'restored', pool: input.pool, backend: input.backend }],
        timers: [],
      };
    }
  }
}

function failed(table: PassiveTable, poolName: string, address: string): PassiveStep {
  const pool = table.pools[poolName];
  const backend = pool?.backends[address];
  // Attempts started before an ejection may still fail after it: they change nothing.
  if (!pool || !backend || backend.ejection !== undefined) return { table, events: NOTHING, timers: NOTHING };
  const failures = backend.failures + 1;
  const out = Object.values(pool.backends).filter((b) => b.ejection !== undefined).length;
  if (failures < pool.config.consecutiveFailures || out >= maxEjected(pool.size)) {
    return { table: update(table, poolName, address, (b) => ({ ...b, failures })), events: NOTHING, timers: NOTHING };
  }
  const count = backend.ejections + 1;
  const forMs = ejectionMs(pool.config.ejectForMs, count);
  const id = table.nextId;
  const next = update({ ...table, nextId: id + 1 }, poolName, address, () => ({ failures: 0, ejections: count, ejection: id }));
  return {
    table: next,
    events: [{ type: 'ejected', pool: poolName, backend: address, forMs, count, failures }],
    timers: [{ pool: poolName, backend: address, id, forMs }],
  };
}

function applyConfig(table: PassiveTable, config: Config): PassiveTable {
  const pools: Record<string, PassivePool> = {};
  for (const pool of config.pools) {
    if (!pool.passive) continue;
    const before = table.pools[pool.name]?.backends;
    const backends: Record<string, PassiveBackend> = {};
    for (const b of pool.backends) backends[b.address] = before?.[b.address] ?? { failures: 0, ejections: 0, ejection: undefined };
    pools[pool.name] = { config: pool.passive, size: pool.backends.length, backends };
  }
  return { ...table, pools };
}

function update(table: PassiveTable, poolName: string, address: string, change: (b: PassiveBackend) => PassiveBackend): PassiveTable {
  const pool = table.pools[poolName];
  const backend = pool?.backends[address];
  if (!pool || !backend) return table;
  const next = change(backend);
  if (next === backend) return table;
  return { ...table, pools: { ...table.pools, [poolName]: { ...pool, backends: { ...pool.backends, [address]: next } } } };
}

/**
 * Passive outlier detection as a stream: connect outcomes of real traffic in,
 * `ejected` and `restored` events out (see `reducePassive` for the rules).
 *
 * ```
 * conns$:  -f-f-f-------------    (consecutive_failures 3, eject_for 10)
 * out:     -----e---------r---    e ejected at the third failure, r restored 10 later
 * ```
 *
 * Each ejection's timer runs inside the stream (virtual time in tests) and feeds its
 * end back into the reducer. Never completes by itself; unsubscribing stops every timer.
 */
export function passive$(sources: { readonly config$: Observable<Config>; readonly conns$: Observable<ConnEvent> }): Observable<PassiveEvent> {
  return defer(() => {
    const over = new Subject<EjectionOver>();
    const inputs$ = merge(
      sources.config$.pipe(map((config): ConfigApplied => ({ type: 'config', config }))),
      sources.conns$.pipe(filter((e): e is ConnFailed | ConnConnected => e.type === 'conn-failed' || e.type === 'conn-connected')),
      over,
    );
    return inputs$.pipe(
      scan((step: PassiveStep, input: PassiveInput) => reducePassive(step.table, input), { table: emptyPassiveTable, events: NOTHING, timers: NOTHING }),
      // Most steps (every successful connect) have nothing to say: build nothing for them.
      filter((step) => step.events.length > 0 || step.timers.length > 0),
      mergeMap((step) =>
        merge(
          from(step.events),
          from(step.timers).pipe(
            mergeMap((t) => timer(t.forMs).pipe(tap(() => over.next({ type: 'ejection-over', pool: t.pool, backend: t.backend, id: t.id })))),
            ignoreElements(),
          ),
        ),
      ),
    );
  });
}
