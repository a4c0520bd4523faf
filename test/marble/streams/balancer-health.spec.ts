import { type Observable, NEVER, filter, map, merge, of } from 'rxjs';
import { describe, it } from 'vitest';
import type { Config, HealthConfig, ListenerConfig } from '../../../src/config/types.js';
import { UpstreamConnectError } from '../../../src/errors.js';
import { type BalancerEvent, createBalancer } from '../../../src/streams/balancer.js';
import type { ListenEvent, ProbeResult, ProbeTarget } from '../../../src/streams/ports.js';
import { testScheduler } from '../helpers.js';
import { type FakeSocket, backend, config, fakeIo, pool } from '../fixtures.js';

const P = '10.0.0.1:80';
const K = '10.0.0.2:80';
const HEALTH: HealthConfig = { kind: 'tcp', port: undefined, path: '/', expectStatus: [[200, 299]], intervalMs: 10, timeoutMs: 5, rise: 1, fall: 1, sendProxy: false };
const results = { p: { pass: true, detail: 'connected' }, f: { pass: false, detail: 'connection refused' } };

function accepted(listener: ListenerConfig, port: number): ListenEvent<FakeSocket> {
  return { type: 'accepted', accepted: { listener, socket: { id: `c${port}` }, client: { address: '10.1.1.1', port } } };
}

/**
 * What a test follows, one letter each: an attempt to the primary `p` or the other `k`,
 * a connection to it `P` or `K`, and `backend state` records: `d`/`u` down/up by health,
 * `e`/`r` ejected/restored by passive checks.
 */
function follow(e: BalancerEvent): string | undefined {
  const which = (address: string): string => (address === P ? 'p' : 'k');
  if (e.type === 'conn-attempt') return which(e.backend);
  if (e.type === 'conn-connected') return which(e.backend).toUpperCase();
  const states: Readonly<Record<string, string>> = { 'health:down': 'd', 'health:up': 'u', 'passive:down': 'e', 'passive:up': 'r' };
  if (e.type === 'backend-state') return states[`${e.cause}:${e.to}`] ?? '?';
  return undefined;
}

function balancer(
  config$: Observable<Config>,
  listen: Observable<ListenEvent<FakeSocket>>,
  connect: (address: string) => Observable<FakeSocket>,
  probe$: (t: ProbeTarget) => Observable<ProbeResult>,
  stop$: Observable<unknown> = NEVER,
) {
  // bound at once: a socket must be bound before its connections count
  const io = { ...fakeIo({ connect }), listen$: (l: ListenerConfig) => merge(of<ListenEvent<FakeSocket>>({ type: 'listening', listener: l, address: '127.0.0.1:7070' }), listen) };
  return createBalancer({ config$, stop$ }, { io, probe$, random: () => 0, now: () => 0 });
}

describe('createBalancer with health checks', () => {
  it('sends traffic to a backup only while no primary is up, and logs each change with its cause', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const cfg = config([pool([backend(P), backend(K, { backup: true })], { health: HEALTH })]);
      const l = cfg.listeners[0]!;
      const listen = hot('5ms a 9ms b 9ms c 9ms d', { a: accepted(l, 1), b: accepted(l, 2), c: accepted(l, 3), d: accepted(l, 4) });
      // the primary fails its checks at 10 and 20 (down at 10, fall 1) and passes again at 30 (rise 1)
      const probe$ = (t: ProbeTarget) => cold('(r|)', { r: t.host === '10.0.0.1' && (rx.now() === 10 || rx.now() === 20) ? results.f : results.p });
      const { events$ } = balancer(cold('c', { c: cfg }), listen, () => cold('(u|)', { u: { id: 'up' } }), probe$);
      const followed = events$.pipe(map(follow), filter((x) => x !== undefined && x !== 'p' && x !== 'k'));
      expectObservable(followed, '^ 40ms !').toBe('5ms P 4ms d 4ms K 9ms K 4ms u 4ms P');
    });
  });

  it('ejects a backend after consecutive connect failures of real traffic, and restores it when the time is up', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const cfg = config([pool([backend(P), backend(K)], { policy: 'first', passive: { consecutiveFailures: 2, ejectForMs: 20 } })]);
      const l = cfg.listeners[0]!;
      const listen = hot('-a 8ms b 9ms c 14ms d', { a: accepted(l, 1), b: accepted(l, 2), c: accepted(l, 3), d: accepted(l, 4) });
      const refused = cold<FakeSocket>('#', undefined, new UpstreamConnectError(P, 'refused'));
      const connect = (address: string) => (address === P ? refused : cold('(u|)', { u: { id: 'up' } }));
      const { events$ } = balancer(cold('c', { c: cfg }), listen, connect, () => cold('(p|)', results));
      // 1 (at 1) and 2 (at 10) try the primary first and fail over; the second failure ejects
      // it for 20, before the retry; 3 goes straight to the other; after the restore at 30,
      // 4 tries the primary again
      expectObservable(events$.pipe(map(follow), filter((x) => x !== undefined)), '^ 40ms !').toBe('-(pkK) 4ms (pekK) 4ms (kK) 6ms r 4ms (pkK)');
    });
  });

  it('stops its checks when events$ completes after stop$', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const cfg = config([pool([backend(P), backend(K)], { health: { ...HEALTH, timeoutMs: 50 } })]);
      const hanging = cold<ProbeResult>('-');
      const { events$ } = balancer(cold('c', { c: cfg }), NEVER, () => NEVER, () => hanging, hot('-----s'));
      expectObservable(events$.pipe(filter((e) => e.type !== 'listening'))).toBe('-----|');
      expectSubscriptions(hanging.subscriptions).toBe(['^----!', '^----!']);
    });
  });
});
