import { type Observable, type OperatorFunction, catchError, defaultIfEmpty, defer, exhaustMap, filter, map, mergeMap, of, scan, take, timeout, timer } from 'rxjs';
import type { Config } from '../../config/types.js';
import { formatDuration } from '../../config/duration.js';
import type { HealthChanged, HealthChecked } from '../state/events.js';
import { type HealthTarget, healthTargets } from './targets.js';
import { perKey } from '../../operators/per-key.js';
import type { HealthIo, ProbeResult } from '../ports.js';

export interface HealthDeps extends HealthIo {
  /** A number in [0, 1), as Math.random: spreads the first checks of many backends. */
  readonly random: () => number;
}

/** The first check of a backend waits up to this share of the interval, at random. */
const JITTER = 0.1;

/**
 * Active health checks for every backend of every pool with `[health]`, following the
 * config: a backend that appears starts being checked, one that goes away stops, and
 * one whose check settings change starts over. Emits a `health` event each time a
 * backend's verdict flips, after the `checked` event of every check (see
 * `backendHealth$`). Never completes by itself: the
 * checks run until unsubscribed, and unsubscribing stops every timer and probe.
 *
 * ```
 * config$:  c-----------d----------     (d drops backend A, adds C)
 * checks A: ^-----------!
 * checks B: ^----------------------
 * checks C:             ^----------
 * ```
 */
export function health$(config$: Observable<Config>, deps: HealthDeps): Observable<HealthChecked | HealthChanged> {
  return config$.pipe(
    map(healthTargets),
    perKey((target) => target.key, (target) => backendHealth$(target, deps)),
  );
}

/**
 * The checks of one backend: a `checked` event per check (what the metrics count), and
 * a `health` event right after it each time the verdict flips.
 *
 * ```
 * ticks:   t---------t---------t---------t---------   (every interval, after a jitter)
 * probe:   (f|)      (f|)      (p|)      (p|)          fall 2, rise 2
 * events:  f---------(fd)------p---------(pu)------   f, p checked; d down, u up
 * ```
 *
 * 1. Tick after a random jitter (up to a tenth of the interval), then every `interval`.
 * 2. `exhaustMap` each tick to one probe: a tick that comes while a probe still runs is
 *    skipped, so a slow backend never has two checks at once.
 * 3. A probe that has not answered within `timeout` is unsubscribed (closing its
 *    socket) and counts as a failure, as does a probe that errors.
 * 4. Count consecutive passes and failures (`countChecks`); the backend starts up, goes
 *    down at the `fall`-th failure in a row and up again at the `rise`-th pass.
 */
export function backendHealth$(target: HealthTarget, deps: HealthDeps): Observable<HealthChecked | HealthChanged> {
  const { pool, backend } = target;
  return defer(() => timer(Math.floor(deps.random() * target.intervalMs * JITTER), target.intervalMs)).pipe(
    exhaustMap(() => check$(target, deps)),
    scan((counts: CheckCounts, result: ProbeResult) => countCheck(target.rise, target.fall, counts, result), initialCounts),
    mergeMap(({ up, detail, changed, failures }): (HealthChecked | HealthChanged)[] => {
      const checked: HealthChecked = { type: 'checked', pool, backend, pass: failures === 0 };
      return changed ? [checked, { type: 'health', pool, backend, up, detail }] : [checked];
    }),
  );
}

/** One probe, always ending in exactly one result: a timeout or an error is a failure. */
function check$(target: HealthTarget, deps: HealthIo): Observable<ProbeResult> {
  const failed = (detail: string): ProbeResult => ({ pass: false, detail });
  return defer(() => deps.probe$(target.probe)).pipe(
    take(1),
    timeout({ first: target.timeoutMs, with: () => of(failed(`no answer within ${formatDuration(target.timeoutMs)}`)) }),
    catchError((err: unknown) => of(failed(err instanceof Error ? err.message : String(err)))),
    defaultIfEmpty(failed('the check ended without a result')),
  );
}

/** The counts behind a verdict: consecutive passes or failures since the last change of kind. */
export interface CheckCounts {
  readonly up: boolean;
  readonly passes: number;
  readonly failures: number;
  /** Whether the result just counted flipped `up`. */
  readonly changed: boolean;
  /** What the latest check said. */
  readonly detail: string;
}

/** A backend is assumed up until checks say otherwise. */
export const initialCounts: CheckCounts = Object.freeze({ up: true, passes: 0, failures: 0, changed: false, detail: '' });

/**
 * The pure counting step (HAProxy's `rise`/`fall`): a pass resets the failures and a
 * failure the passes; `fall` failures in a row turn an up backend down, `rise` passes in
 * a row turn a down one up.
 */
export function countCheck(rise: number, fall: number, counts: CheckCounts, result: ProbeResult): CheckCounts {
  if (result.pass) {
    const passes = counts.passes + 1;
    const up = counts.up || passes >= rise;
    return { up, passes, failures: 0, changed: up !== counts.up, detail: result.detail };
  }
  const failures = counts.failures + 1;
  const up = counts.up && failures < fall;
  return { up, passes: 0, failures, changed: up !== counts.up, detail: result.detail };
}

/**
 * Folds check results into verdicts and lets only the flips through.
 *
 * ```
 * results:  f--f--p--f--f--f--   (fall 3)
 * flips:    -----------------d   (the pass reset the count)
 * ```
 */
export function countChecks(rise: number, fall: number): OperatorFunction<ProbeResult, CheckCounts> {
  return (source) =>
    source.pipe(
      scan((counts: CheckCounts, result: ProbeResult) => countCheck(rise, fall, counts, result), initialCounts),
      filter((counts) => counts.changed),
    );
}
