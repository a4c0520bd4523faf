import { type Observable, filter, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Config, HealthConfig } from '../../../../src/config/types.js';
import type { HealthChanged, HealthChecked } from '../../../../src/streams/state/events.js';
import { type HealthTarget, healthTarget, healthTargets } from '../../../../src/streams/health/targets.js';
import { backendHealth$, countCheck, health$, initialCounts } from '../../../../src/streams/health/checks.js';
import type { ProbeResult, ProbeTarget } from '../../../../src/streams/ports.js';
import { testScheduler } from '../../helpers.js';
import { backend, config, pool } from '../../fixtures.js';

const PASS: ProbeResult = { pass: true, detail: 'status 200' };
const FAIL: ProbeResult = { pass: false, detail: 'status 500' };
const results = { p: PASS, f: FAIL };

function health(extra: Partial<HealthConfig> = {}): HealthConfig {
  return { kind: 'http', port: undefined, path: '/healthz', expectStatus: [[200, 299]], intervalMs: 10, timeoutMs: 5, rise: 2, fall: 3, sendProxy: false, ...extra };
}

function target(extra: Partial<HealthConfig> = {}, address = '10.0.0.1:80'): HealthTarget {
  const t = healthTarget(pool([backend(address)], { health: health(extra) }), backend(address));
  if (!t) throw new Error('no target');
  return t;
}

/** d down, u up: what a health event says. */
const verdict = (e: HealthChanged): string => (e.up ? 'u' : 'd');

/** A probe that answers the n-th check with the n-th observable (the last one repeats). */
function probes(...answers: Observable<ProbeResult>[]): (t: ProbeTarget) => Observable<ProbeResult> {
  let n = 0;
  return () => answers[Math.min(n++, answers.length - 1)]!;
}

const noJitter = (): number => 0;

/** Only the verdict flips, leaving out the `checked` event of every check. */
const flips = (events: Observable<HealthChecked | HealthChanged>): Observable<HealthChanged> =>
  events.pipe(filter((e): e is HealthChanged => e.type === 'health'));

describe('backendHealth$', () => {
  it('marks a backend down exactly at the third failure in a row (fall 3)', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const fail = cold('(f|)', results);
      const events = backendHealth$(target({ fall: 3 }), { probe$: () => fail, random: noJitter });
      // checks at 0, 10, 20: the third failure decides, and only once
      expectObservable(flips(events).pipe(map(verdict)), '^ 60ms !').toBe('20ms d');
    });
  });

  it('marks a down backend up at the second pass (rise 2), and says what the check saw', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const events = backendHealth$(target({ fall: 1, rise: 2 }), { probe$: probes(cold('(f|)', results), cold('(p|)', results)), random: noJitter });
      expectObservable(flips(events), '^ 60ms !').toBe('d 19ms u', {
        d: { type: 'health', pool: 'web', backend: '10.0.0.1:80', up: false, detail: 'status 500' },
        u: { type: 'health', pool: 'web', backend: '10.0.0.1:80', up: true, detail: 'status 200' },
      });
    });
  });

  it('starts over counting failures after a pass in between', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const f = cold('(f|)', results);
      const p = cold('(p|)', results);
      // f f p f f f: down at the sixth check (50), not the fourth (30)
      const events = backendHealth$(target({ fall: 3 }), { probe$: probes(f, f, p, f), random: noJitter });
      expectObservable(flips(events).pipe(map(verdict)), '^ 80ms !').toBe('50ms d');
    });
  });

  it('never runs two probes at once: ticks during a slow probe are skipped', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('25ms (p|)', results);
      const events = backendHealth$(target({ timeoutMs: 100 }), { probe$: () => slow, random: noJitter });
      expectObservable(flips(events), '^ 79ms !').toBe('');
      // ticks at 10 and 20 fall while the first probe runs; the next starts at 30
      expectSubscriptions(slow.subscriptions).toBe(['^ 24ms !', '30ms ^ 24ms !', '60ms ^ 19ms !']);
    });
  });

  it('fails a probe that does not answer within timeout, and unsubscribes it then', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const hanging = cold<ProbeResult>('-');
      const events = backendHealth$(target({ fall: 1, timeoutMs: 5 }), { probe$: () => hanging, random: noJitter });
      expectObservable(flips(events), '^ 19ms !').toBe('5ms d', { d: { type: 'health', pool: 'web', backend: '10.0.0.1:80', up: false, detail: 'no answer within 5ms' } });
      expectSubscriptions(hanging.subscriptions).toBe(['^ 4ms !', '10ms ^ 4ms !']);
    });
  });

  it('counts a probe that errors or completes empty as a failure, and keeps checking', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const broken = cold<ProbeResult>('#', undefined, new Error('boom'));
      const empty = cold<ProbeResult>('|');
      const p = cold('(p|)', results);
      const events = backendHealth$(target({ fall: 2, rise: 1 }), { probe$: probes(broken, empty, p), random: noJitter });
      expectObservable(flips(events).pipe(map((e) => `${verdict(e)}:${e.detail}`)), '^ 30ms !').toBe('10ms d 9ms u', {
        d: 'd:the check ended without a result',
        u: 'u:status 200',
      });
    });
  });

  it('counts a probe function that throws as a failure', () => {
    const rx = testScheduler();
    rx.run(({ expectObservable }) => {
      const probe$ = (): Observable<ProbeResult> => {
        throw new Error('cannot check');
      };
      const events = backendHealth$(target({ fall: 1 }), { probe$, random: noJitter });
      expectObservable(flips(events).pipe(map((e) => `${verdict(e)}:${e.detail}`)), '^ 5ms !').toBe('d', { d: 'd:cannot check' });
    });
  });

  it('waits a random jitter of up to a tenth of the interval before the first check', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectSubscriptions, expectObservable }) => {
      const p = cold('(p|)', results);
      const events = backendHealth$(target({ intervalMs: 100 }), { probe$: () => p, random: () => 0.5 });
      expectObservable(flips(events), '^ 120ms !').toBe('');
      expectSubscriptions(p.subscriptions).toBe(['5ms (^!)', '105ms (^!)']);
    });
  });

  it('reports every check as `checked`, with the flip it decided right after it', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const f = cold('(f|)', results);
      const p = cold('(p|)', results);
      const events = backendHealth$(target({ fall: 2, rise: 1 }), { probe$: probes(f, f, p), random: noJitter });
      const at = { pool: 'web', backend: '10.0.0.1:80' };
      expectObservable(events, '^ 25ms !').toBe('f 9ms (fd) 6ms (pu)', {
        f: { type: 'checked', ...at, pass: false },
        p: { type: 'checked', ...at, pass: true },
        d: { type: 'health', ...at, up: false, detail: 'status 500' },
        u: { type: 'health', ...at, up: true, detail: 'status 200' },
      });
    });
  });

  it('stops every timer and probe when unsubscribed', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      rx.maxFrames = 200; // a checker left running would tick forever
      const hanging = cold<ProbeResult>('-');
      const events = backendHealth$(target({ timeoutMs: 50 }), { probe$: () => hanging, random: noJitter });
      expectObservable(flips(events), '^ 7ms !').toBe('');
      expectSubscriptions(hanging.subscriptions).toBe('^ 7ms !');
    });
    // The virtual clock runs while anything is left to run: the next tick (10) and the
    // probe's timeout (50), left running, would have moved it past the unsubscription (8).
    expect(rx.frame).toBe(8);
  });
});

describe('countCheck', () => {
  it('needs rise passes in a row to come up and fall failures in a row to go down', () => {
    const step = (counts = initialCounts, ...rs: ProbeResult[]) => rs.reduce((c, r) => countCheck(2, 3, c, r), counts);
    expect(step(undefined, FAIL, FAIL)).toMatchObject({ up: true, failures: 2, changed: false });
    const down = step(undefined, FAIL, FAIL, FAIL);
    expect(down).toMatchObject({ up: false, failures: 3, changed: true, detail: 'status 500' });
    expect(step(down, FAIL)).toMatchObject({ up: false, failures: 4, changed: false });
    expect(step(down, PASS)).toMatchObject({ up: false, passes: 1, failures: 0, changed: false });
    expect(step(down, PASS, FAIL, PASS)).toMatchObject({ up: false, passes: 1, changed: false });
    expect(step(down, PASS, PASS)).toMatchObject({ up: true, passes: 2, changed: true, detail: 'status 200' });
  });
});

describe('health$', () => {
  const checked = (cfg: Config) => healthTargets(cfg).map((t) => t.backend);

  it('checks the backends of pools with [health] only', () => {
    const cfg = config([pool([backend('10.0.0.1:80')], { health: health() }), pool([backend('10.0.0.9:80')], { name: 'plain' })]);
    expect(checked(cfg)).toEqual(['10.0.0.1:80']);
  });

  it('starts checking a backend the config adds and stops one it removes, keeping the others running', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const h = health({ timeoutMs: 100, intervalMs: 100 });
      const first = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80')], { health: h })]);
      const second = config([pool([backend('10.0.0.2:80'), backend('10.0.0.3:80')], { health: h })]);
      const config$ = hot<Config>('a 29ms b', { a: first, b: second });
      // each probe hangs until the timeout: a subscription shows when a checker runs
      const answers = { '10.0.0.1': cold<ProbeResult>('-'), '10.0.0.2': cold<ProbeResult>('-'), '10.0.0.3': cold<ProbeResult>('-') };
      const events = health$(config$, { probe$: (t) => answers[t.host as keyof typeof answers], random: noJitter });
      expectObservable(flips(events), '^ 149ms !').toBe('');
      expectSubscriptions(answers['10.0.0.1'].subscriptions).toBe('^ 29ms !'); // removed at 30: its probe is cut short
      expectSubscriptions(answers['10.0.0.2'].subscriptions).toBe(['^ 99ms !', '100ms ^ 49ms !']); // untouched by the reload
      expectSubscriptions(answers['10.0.0.3'].subscriptions).toBe(['30ms ^ 99ms !', '130ms ^ 19ms !']);
    });
  });

  it('restarts the checker of a backend whose check settings change', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const before = config([pool([backend('10.0.0.1:80')], { health: health({ intervalMs: 100, timeoutMs: 100 }) })]);
      const after = config([pool([backend('10.0.0.1:80')], { health: health({ intervalMs: 100, timeoutMs: 100, path: '/ready' }) })]);
      const hanging = cold<ProbeResult>('-');
      const seen: string[] = [];
      const probe$ = (t: ProbeTarget): Observable<ProbeResult> => {
        seen.push(t.path);
        return hanging;
      };
      expectObservable(health$(hot<Config>('a 9ms b', { a: before, b: after }), { probe$, random: noJitter }), '^ 20ms !').toBe('');
      expectSubscriptions(hanging.subscriptions).toBe(['^ 9ms !', '10ms ^ 10ms !']);
      rx.flush();
      expect(seen).toEqual(['/healthz', '/ready']);
    });
  });

  it('completes nothing when the config source completes: checks go on until unsubscribed', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const cfg = config([pool([backend('10.0.0.1:80')], { health: health({ fall: 1 }) })]);
      const fail = cold('(f|)', results);
      expectObservable(flips(health$(cold('(c|)', { c: cfg }), { probe$: () => fail, random: noJitter })).pipe(map(verdict)), '^ 30ms !').toBe('d');
      // down at the first check, and still checked every 10 after
      expectSubscriptions(fail.subscriptions).toBe(['(^!)', '10ms (^!)', '20ms (^!)', '30ms (^!)']);
    });
  });

  it('propagates an error of the config source', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      expectObservable(health$(cold<Config>('--#'), { probe$: () => cold('(p|)', results), random: noJitter })).toBe('--#');
    });
  });
});

describe('healthTarget', () => {
  it('checks health.port instead of the backend port, with the backend as written in Host', () => {
    const b = backend('10.0.0.1:8080', { origin: 'app.internal:8080' });
    const t = healthTarget(pool([b], { health: health({ port: 9000 }) }), b);
    expect(t?.probe).toEqual({ kind: 'http', host: '10.0.0.1', port: 9000, path: '/healthz', hostHeader: 'app.internal:9000', expectStatus: [[200, 299]] });
  });

  it("lets a target's own health path win over the pool's", () => {
    const b = backend('10.0.0.1:8080', { healthPath: '/status' });
    expect(healthTarget(pool([b], { health: health() }), b)?.probe.path).toBe('/status');
  });

  it('keeps the brackets of an IPv6 host in the Host header', () => {
    const b = backend('[::1]:8080', { host: '::1', port: 8080, origin: '[::1]:8080' });
    expect(healthTarget(pool([b], { health: health() }), b)?.probe.hostHeader).toBe('[::1]:8080');
  });
});
