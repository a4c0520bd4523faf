import { type Observable, NEVER, merge, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Config, ListenerConfig } from '../../../../src/config/types.js';
import { ListenError } from '../../../../src/errors.js';
import { type BalancerEvent, type ConfigProposal, createBalancer } from '../../../../src/streams/balancer.js';
import type { AdminAction } from '../../../../src/streams/state/events.js';
import type { ListenEvent, SpliceEnd } from '../../../../src/streams/ports.js';
import type { BalancerState } from '../../../../src/streams/state/backend-state.js';
import { testScheduler } from '../../helpers.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../../fixtures.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';
const ended = { e: { reason: 'client_closed' } as SpliceEnd };

const front = listener({ name: 'front', bind: { host: '127.0.0.1', port: 7070 } });
const side = listener({ name: 'side', bind: { host: '127.0.0.1', port: 7071 } });
const extra = listener({ name: 'extra', bind: { host: '127.0.0.1', port: 7072 } });
const broken = listener({ name: 'broken', bind: { host: '127.0.0.1', port: 7073 } });

const listening = (l: ListenerConfig): ListenEvent<FakeSocket> => ({ type: 'listening', listener: l, address: `127.0.0.1:${l.bind.port}` });
/** A socket bound at once, then `accepts` (a hot observable, whose subscriptions show when it listens). */
const bound = (accepts: Observable<ListenEvent<FakeSocket>>) => (l: ListenerConfig) => merge(of(listening(l)), accepts);
const accepted = (l: ListenerConfig, id: string, port: number): ListenEvent<FakeSocket> => ({
  type: 'accepted',
  accepted: { listener: l, socket: { id }, client: { address: '10.1.1.1', port } },
});

/** `frame what` for the events that matter here, as they come. */
function timeline(events$: Observable<BalancerEvent>, now: () => number): string[] {
  const seen: string[] = [];
  events$.subscribe((e) => {
    const at = now();
    if (e.type === 'listening') seen.push(`${at} listening ${e.listener.name}`);
    if (e.type === 'conn-connected') seen.push(`${at} ${e.client.split(':')[1]} connected ${e.backend}`);
    if (e.type === 'conn-closed') seen.push(`${at} ${e.client.split(':')[1]} closed ${e.reason}`);
    if (e.type === 'reloaded') seen.push(`${at} reloaded ${e.changes.length} changes`);
    if (e.type === 'reload-failed') seen.push(`${at} reload failed: ${e.errors.join('; ')}`);
    if (e.type === 'backend-state') seen.push(`${at} ${e.backend} ${e.from}->${e.to} ${e.cause}`);
  });
  return seen;
}

function run(
  config$: Observable<ConfigProposal>,
  listen: (l: ListenerConfig) => Observable<ListenEvent<FakeSocket>>,
  splice: (client: FakeSocket) => Observable<SpliceEnd>,
  connect: (address: string) => Observable<FakeSocket>,
  commands$: Observable<AdminAction> = NEVER,
) {
  const io = { ...fakeIo({ connect, splice: (c) => splice(c) }), listen$: listen };
  return createBalancer({ config$, stop$: NEVER, commands$ }, { io, now: () => 0 });
}

describe('createBalancer: reloads', () => {
  it('never reaches an established connection: the kept socket is handed over, a removed one closes, a new one binds', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectSubscriptions }) => {
      const before = config([pool([backend(A), backend(B)])], [front, side]);
      const after = config([pool([backend(B), backend(C)], { policy: 'least-connections' })], [{ ...front, maxConnections: 100 }, extra]);
      const frontListen = hot('--a 9ms b', { a: accepted(front, 'c1', 1), b: accepted(front, 'c3', 3) });
      const sideListen = hot('---a', { a: accepted(side, 'c2', 2) });
      const extraListen = cold('l', { l: listening(extra) });
      const listens: Record<number, (l: ListenerConfig) => Observable<ListenEvent<FakeSocket>>> = { 7070: bound(frontListen), 7071: bound(sideListen), 7072: () => extraListen };
      const long = cold('30ms (e|)', ended);
      const balancer = run(
        hot<Config>('a 9ms b', { a: before, b: after }),
        (l) => listens[l.bind.port]!(l),
        () => long,
        (address) => cold('(u|)', { u: { id: `up:${address}` } }),
      );
      let state: BalancerState | undefined;
      rx.schedule(() => (state = balancer.state()), 11);
      const seen = timeline(balancer.events$, () => rx.now());
      expectSubscriptions(long.subscriptions).toBe(['--^ 29ms !', '---^ 29ms !', '------------^ 29ms !']);
      expectSubscriptions(frontListen.subscriptions).toBe('^'); // never closed, never rebound
      expectSubscriptions(sideListen.subscriptions).toBe('^ 9ms !'); // stops accepting at the reload
      expectSubscriptions(extraListen.subscriptions).toBe('10ms ^');
      rx.flush();
      // c1 and c2 are open across the reload at 10 and end by themselves; c3 follows the
      // new config: least-connections, with A gone from the choice
      expect(seen).toEqual([
        '0 listening front',
        '0 listening side',
        `2 1 connected ${A}`,
        `3 2 connected ${B}`,
        `10 ${A} up->draining reload`,
        '10 listening extra',
        '10 reloaded 6 changes',
        `12 3 connected ${C}`,
        '32 1 closed client_closed',
        '33 2 closed client_closed',
        '42 3 closed client_closed',
      ]);
      // A drains: still counted, with its open connection, until that ends
      expect(state?.pools.web?.backends.map((b) => [b.address, b.status, b.active])).toEqual([
        [B, 'up', 1],
        [C, 'up', 0],
        [A, 'draining', 1],
      ]);
      expect(state?.listeners.side).toMatchObject({ removed: true, active: 1 });
      const last = balancer.state();
      expect(last.pools.web?.backends.map((b) => b.address)).toEqual([B, C]);
      expect(last.listeners.side).toBeUndefined();
      expect(last.reloads).toEqual({ success: 1, failure: 0 });
    });
  });

  it('applies nothing from an invalid reload: one reload-failed event, and the same state', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectSubscriptions }) => {
      const cfg = config([pool([backend(A)])], [front]);
      const listen = hot<ListenEvent<FakeSocket>>('-');
      const rejected: ConfigProposal = { rejected: true, errors: ['rxlb.toml: pool.web.backend[0].weight: must be > 0'] };
      const balancer = run(hot<ConfigProposal>('a 4ms r', { a: cfg, r: rejected }), bound(listen), () => NEVER, () => NEVER);
      let before: BalancerState | undefined;
      const seen = timeline(balancer.events$, () => rx.now());
      rx.schedule(() => (before = balancer.state()), 4);
      expectSubscriptions(listen.subscriptions).toBe('^');
      rx.flush();
      expect(seen).toEqual(['0 listening front', '5 reload failed: rxlb.toml: pool.web.backend[0].weight: must be > 0']);
      const after = balancer.state();
      expect(after.config).toBe(cfg);
      expect(after.pools).toBe(before?.pools);
      expect(after.listeners).toBe(before?.listeners);
      expect(after.reloads).toEqual({ success: 0, failure: 1 });
    });
  });

  it('rejects the whole reload when one new socket cannot bind, closing the one that did', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectSubscriptions }) => {
      const before = config([pool([backend(A)])], [front, side]);
      const after = config([pool([backend(A), backend(B)])], [front, extra, broken]);
      const frontListen = hot<ListenEvent<FakeSocket>>('-');
      const sideListen = hot<ListenEvent<FakeSocket>>('-');
      const extraListen = cold('l', { l: listening(extra) });
      const brokenListen = cold<ListenEvent<FakeSocket>>('-#', undefined, new ListenError('listener broken: cannot listen on 127.0.0.1:7073: address in use'));
      const listens: Record<number, (l: ListenerConfig) => Observable<ListenEvent<FakeSocket>>> = {
        7070: bound(frontListen),
        7071: bound(sideListen),
        7072: () => extraListen,
        7073: () => brokenListen,
      };
      const balancer = run(hot<Config>('a 4ms b', { a: before, b: after }), (l) => listens[l.bind.port]!(l), () => NEVER, () => NEVER);
      const seen = timeline(balancer.events$, () => rx.now());
      expectSubscriptions(extraListen.subscriptions).toBe('5ms ^!'); // bound, then closed with the reload
      expectSubscriptions(brokenListen.subscriptions).toBe('5ms ^!');
      expectSubscriptions(sideListen.subscriptions).toBe('^'); // the old config stays in force
      rx.flush();
      expect(seen).toEqual(['0 listening front', '0 listening side', '6 reload failed: listener broken: cannot listen on 127.0.0.1:7073: address in use']);
      expect(balancer.state().config).toBe(before);
      expect(Object.keys(balancer.state().listeners)).toEqual(['front', 'side']);
    });
  });

  it('drain moves new connections away while the drained backend keeps its open ones; enable brings it back', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectSubscriptions }) => {
      const cfg = config([pool([backend(A), backend(B)], { policy: 'least-connections' })], [front]);
      const listen = hot('--a--b-c--d', { a: accepted(front, 'c1', 1), b: accepted(front, 'c2', 2), c: accepted(front, 'c3', 3), d: accepted(front, 'c4', 4) });
      const long = cold('30ms (e|)', ended);
      const commands = hot<AdminAction>('---d-----e', { d: { type: 'admin', pool: 'web', backend: A, action: 'drain' }, e: { type: 'admin', pool: 'web', backend: A, action: 'enable' } });
      const balancer = run(hot<Config>('a', { a: cfg }), bound(listen), () => long, (address) => cold('(u|)', { u: { id: `up:${address}` } }), commands);
      const seen: string[] = [];
      balancer.events$.subscribe((e) => {
        if (e.type === 'conn-connected') seen.push(`${e.client.split(':')[1]}>${e.backend}`);
        if (e.type === 'backend-state') seen.push(`${e.backend} ${e.from}->${e.to} ${e.cause}`);
      });
      expectSubscriptions(long.subscriptions).toBe(['--^ 29ms !', '-----^ 29ms !', '-------^ 29ms !', '----------^ 29ms !']);
      rx.flush();
      // least-connections picks B while A drains, and A (1 open against B's 2) once enabled
      expect(seen).toEqual([`1>${A}`, `${A} up->draining admin`, `2>${B}`, `3>${B}`, `${A} draining->up admin`, `4>${A}`]);
    });
  });
});
