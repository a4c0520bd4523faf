import { type Observable, NEVER, filter, map, merge, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Config, ListenerConfig } from '../../../src/config/types.js';
import { type BalancerEvent, createBalancer } from '../../../src/streams/balancer.js';
import type { ConnClosed, ConnConnected } from '../../../src/streams/state/events.js';
import type { ListenEvent, SpliceEnd } from '../../../src/streams/ports.js';
import type { BalancerState } from '../../../src/streams/state/backend-state.js';
import { testScheduler } from '../helpers.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../fixtures.js';

const ended = { e: { reason: 'client_closed' } as SpliceEnd };
const socket = (id: string): FakeSocket => ({ id });

function acceptedEvent(listener: ListenerConfig, id: string, port: number): ListenEvent<FakeSocket> {
  return { type: 'accepted', accepted: { listener, socket: socket(id), client: { address: '10.1.1.1', port } } };
}

/** l listening, o opened, a attempt, c connected, x closed. */
const letter = (e: BalancerEvent): string => ({ listening: 'l', 'conn-opened': 'o', 'conn-attempt': 'a', 'conn-connected': 'c', 'conn-closed': 'x' })[e.type as string] ?? '?';

function harness(cfg: Config, listen: (l: ListenerConfig) => Observable<ListenEvent<FakeSocket>>, splice: (client: FakeSocket) => Observable<SpliceEnd>, connect: (a: string) => Observable<FakeSocket>) {
  const base = fakeIo({ connect, splice: (c) => splice(c) });
  return { ...base, listen$: listen };
}

/** A listener bound at once (a socket must be bound before its connections count), then `accepts`. */
function bound(accepts: Observable<ListenEvent<FakeSocket>>): (l: ListenerConfig) => Observable<ListenEvent<FakeSocket>> {
  return (l) => merge(of<ListenEvent<FakeSocket>>({ type: 'listening', listener: l, address: '127.0.0.1:7070' }), accepts);
}

describe('createBalancer', () => {
  it('never cancels an established connection when a second one is accepted', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const cfg = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80')])]);
      const l = cfg.listeners[0]!;
      const accepts = hot<ListenEvent<FakeSocket>>('-a---b', { a: acceptedEvent(l, 'c1', 1), b: acceptedEvent(l, 'c2', 2) });
      const long = cold('20ms (e|)', ended);
      const short = cold('3ms (e|)', ended);
      const io = harness(cfg, bound(accepts), (c) => (c.id === 'c1' ? long : short), (a) => cold('1ms (u|)', { u: socket(`up:${a}`) }));
      const { events$ } = createBalancer({ config$: cold('c', { c: cfg }), stop$: NEVER }, { io, now: () => rx.now() });
      const closed = events$.pipe(filter((e): e is ConnClosed => e.type === 'conn-closed'), map((e) => e.client));
      // c1 connects at 2 and ends at 22; c2 connects at 6 and ends at 9: neither cuts the other
      expectObservable(closed).toBe('--------- b 12ms a', { a: '10.1.1.1:1', b: '10.1.1.1:2' });
      expectSubscriptions(long.subscriptions).toBe('--^ 19ms !');
      expectSubscriptions(short.subscriptions).toBe('------^ 2ms !');
    });
  });

  it('routes connections round robin through one long-lived policy, reading live state', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot }) => {
      const cfg = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80'), backend('10.0.0.3:80')])]);
      const l = cfg.listeners[0]!;
      const accepts = hot<ListenEvent<FakeSocket>>('-abcd', {
        a: acceptedEvent(l, 'c1', 1),
        b: acceptedEvent(l, 'c2', 2),
        c: acceptedEvent(l, 'c3', 3),
        d: acceptedEvent(l, 'c4', 4),
      });
      const io = harness(cfg, bound(accepts), () => NEVER, (a) => cold('(u|)', { u: socket(`up:${a}`) }));
      const balancer = createBalancer({ config$: cold('c', { c: cfg }), stop$: NEVER }, { io, now: () => rx.now() });
      const backends: string[] = [];
      let latest: BalancerState | undefined;
      let last: BalancerState | undefined; // the state as the fourth connection got through
      balancer.state$.subscribe((s) => (latest = s));
      balancer.events$.subscribe((e) => {
        if (e.type !== 'conn-connected') return;
        backends.push(e.backend);
        last = latest;
      });
      rx.flush();
      expect(backends).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80']);
      if (!last) throw new Error('no state seen');
      expect(last.active).toBe(4);
      expect(last.pools.web?.backends.map((b) => [b.active, b.total])).toEqual([[2, 2], [1, 1], [1, 1]]);
    });
  });

  it('counts each connection against max_connections once: a second is refused, a third after the first ends is served', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80')])], [listener({ maxConnections: 1 })]);
      const l = cfg.listeners[0]!;
      const accepts = hot<ListenEvent<FakeSocket>>('-a-b----c', { a: acceptedEvent(l, 'c1', 1), b: acceptedEvent(l, 'c2', 2), c: acceptedEvent(l, 'c3', 3) });
      const io = harness(cfg, bound(accepts), (c) => (c.id === 'c1' ? cold('4ms (e|)', ended) : NEVER), (a) => cold('(u|)', { u: socket(`up:${a}`) }));
      const { events$ } = createBalancer({ config$: cold('c', { c: cfg }), stop$: NEVER }, { io, now: () => rx.now() });
      const outcomes = events$.pipe(
        filter((e): e is ConnConnected | ConnClosed => e.type === 'conn-connected' || e.type === 'conn-closed'),
        map((e) => (e.type === 'conn-closed' ? `${e.client.split(':')[1]} ${e.reason}` : `${e.client.split(':')[1]} connected`)),
      );
      // c1 is served and ends at 5; c2 at 3 finds the listener full; c3 at 8 is served
      expectObservable(outcomes).toBe('-a-b-c--d', { a: '1 connected', b: '2 limit', c: '1 client_closed', d: '3 connected' });
    });
  });

  it('on stop$ stops accepting, lets open connections finish, and then completes', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const cfg = config([pool([backend('10.0.0.1:80')])]);
      const l = cfg.listeners[0]!;
      const listen = hot<ListenEvent<FakeSocket>>('-l-a-------b', { l: { type: 'listening', listener: l, address: '127.0.0.1:7070' }, a: acceptedEvent(l, 'c1', 1), b: acceptedEvent(l, 'c2', 2) });
      const io = harness(cfg, () => listen, () => cold('10ms (e|)', ended), (a) => cold('(u|)', { u: socket(`up:${a}`) }));
      const stop = hot('     -----s');
      const { events$ } = createBalancer({ config$: cold('c', { c: cfg }), stop$: stop }, { io, now: () => rx.now() });
      // opened/connected at 3, closed at 13: the copy outlives the stop at 5; c2 at 11 is never accepted
      expectObservable(events$.pipe(map(letter))).toBe('-l-(oac) 5ms (x|)');
      expectSubscriptions(listen.subscriptions).toBe('^----!');
    });
  });

  it('after stop$ and the grace period, closes what is still open with `shutdown`', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const base = config([pool([backend('10.0.0.1:80')])]);
      const cfg: Config = { ...base, global: { ...base.global, shutdownGraceMs: 100 } };
      const l = cfg.listeners[0]!;
      const listen = hot<ListenEvent<FakeSocket>>('--a', { a: acceptedEvent(l, 'c1', 1) });
      const io = harness(cfg, bound(listen), () => NEVER, (a) => cold('(u|)', { u: socket(`up:${a}`) }));
      const { events$ } = createBalancer({ config$: cold('c', { c: cfg }), stop$: hot('-----s') }, { io, now: () => rx.now() });
      const reasons = events$.pipe(filter((e): e is ConnClosed => e.type === 'conn-closed'), map((e) => e.reason));
      expectObservable(reasons).toBe('----- 100ms (r|)', { r: 'shutdown' });
    });
  });
});
