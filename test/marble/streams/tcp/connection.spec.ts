import { NEVER, Observable, concat, delay, map, mergeMap, of, tap, timer } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../../src/config/types.js';
import { UpstreamConnectError } from '../../../../src/errors.js';
import { roundRobin } from '../../../../src/operators/policies/round-robin.js';
import { type ConnectionContext, connection$ } from '../../../../src/streams/tcp/connection.js';
import type { ConnClosed, ConnEvent } from '../../../../src/streams/state/events.js';
import type { Policy } from '../../../../src/operators/policies/types.js';
import type { Accepted, SpliceEnd } from '../../../../src/streams/ports.js';
import { type PolicyFailure, createRouter } from '../../../../src/streams/routing/router.js';
import { initialState, reduceBackendState } from '../../../../src/streams/state/backend-state.js';
import { testScheduler } from '../../helpers.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../../fixtures.js';

/** o opened, a attempt, f failed, c connected, x closed. */
const letter = (e: ConnEvent): string => ({ 'conn-opened': 'o', 'conn-attempt': 'a', 'conn-failed': 'f', 'conn-connected': 'c', 'conn-closed': 'x' })[e.type];
const letters = { o: 'o', a: 'a', f: 'f', c: 'c', x: 'x' };

const client: FakeSocket = { id: 'client' };
const upstream = (address: string): FakeSocket => ({ id: `up:${address}` });
const accepted = (cfg: Config): Accepted<FakeSocket> => ({ listener: cfg.listeners[0]!, socket: client, client: { address: '10.9.9.9', port: 5555 } });

function context(
  rx: TestScheduler,
  cfg: Config,
  io: ReturnType<typeof fakeIo>,
  cut: ConnClosed[] = [],
  connectionCap = Infinity,
  policy: Policy = roundRobin(),
  failures: PolicyFailure[] = [],
): ConnectionContext<FakeSocket, FakeSocket> {
  const state = reduceBackendState(initialState, { type: 'config', config: cfg });
  const router = createRouter(policy, { pool: 'web', policy: 'test', report: (f) => failures.push(f) });
  return { io, state: () => state, router: () => router, cut: (c) => cut.push(c), now: () => rx.now(), connectionCap };
}

function run(rx: TestScheduler, cfg: Config, io: ReturnType<typeof fakeIo>, cut: ConnClosed[] = [], connectionCap = Infinity) {
  const closed: ConnClosed[] = [];
  const events$ = connection$(accepted(cfg), context(rx, cfg, io, cut, connectionCap));
  const collected$ = events$.pipe(
    map((e) => {
      if (e.type === 'conn-closed') closed.push(e);
      return letter(e);
    }),
  );
  return { collected$, closed };
}

const three = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80'), backend('10.0.0.3:80')])]);

describe('connection$', () => {
  it('connects, copies until the copy ends, and closes with its reason and counts', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect = cold('  10ms (u|)', { u: upstream('10.0.0.1:80') });
      const splice = cold('   20ms (e|)', { e: { reason: 'backend_closed' as const } });
      const io = fakeIo({ connect: () => connect, splice: () => splice });
      const { collected$, closed } = run(rx, three, io);
      expectObservable(collected$).toBe('(oa) 6ms c 19ms (x|)', letters);
      // connect$ hands the socket over and completes: nothing of the attempt outlives it
      expectSubscriptions(connect.subscriptions).toBe('^ 9ms !');
      expectSubscriptions(splice.subscriptions).toBe('10ms ^ 19ms !');
      rx.flush();
      expect(closed).toEqual([
        { type: 'conn-closed', listener: 'front', pool: 'web', client: '10.9.9.9:5555', backend: '10.0.0.1:80', bytesUp: 11, bytesDown: 22, durationMs: 30, reason: 'backend_closed' },
      ]);
      expect(io.release).toHaveBeenCalledTimes(1);
      expect(io.refuse).not.toHaveBeenCalled();
    });
  });

  it('retries a refused connect on the next backend in virtual time, and the client sees no failure', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const refused = cold<FakeSocket>('5ms #', undefined, new UpstreamConnectError('10.0.0.1:80', 'refused'));
      const second = cold('10ms (u|)', { u: upstream('10.0.0.2:80') });
      const io = fakeIo({ connect: (a) => (a === '10.0.0.1:80' ? refused : second), splice: () => cold('5ms (e|)', { e: { reason: 'client_closed' as const } }) });
      const { collected$, closed } = run(rx, three, io);
      expectObservable(collected$).toBe('(oa) 1ms (fa) 6ms c 4ms (x|)', letters);
      expectSubscriptions(refused.subscriptions).toBe('^ 4ms !');
      expectSubscriptions(second.subscriptions).toBe('5ms ^ 9ms !');
      rx.flush();
      expect(closed[0]?.backend).toBe('10.0.0.2:80');
      expect(closed[0]?.reason).toBe('client_closed');
      expect(io.refuse).not.toHaveBeenCalled();
    });
  });

  it('does not retry a failure of its own (out of descriptors) on another backend, and says which it was', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const emfile = cold<FakeSocket>('5ms #', undefined, new UpstreamConnectError('10.0.0.1:80', 'error', { local: 'EMFILE' }));
      const second = cold('(u|)', { u: upstream('10.0.0.2:80') });
      const io = fakeIo({ connect: (a) => (a === '10.0.0.1:80' ? emfile : second) });
      const events$ = connection$(accepted(three), context(rx, three, io));
      expectObservable(events$).toBe('(oa) 1ms (fx|)', {
        o: { type: 'conn-opened', listener: 'front', client: '10.9.9.9:5555' },
        a: { type: 'conn-attempt', listener: 'front', pool: 'web', client: '10.9.9.9:5555', backend: '10.0.0.1:80', attempt: 1 },
        f: { type: 'conn-failed', listener: 'front', pool: 'web', client: '10.9.9.9:5555', backend: '10.0.0.1:80', attempt: 1, reason: 'error', local: 'EMFILE' },
        // the record names the backend it tried last, whose slot the failure already gave back
        x: { type: 'conn-closed', listener: 'front', pool: 'web', client: '10.9.9.9:5555', backend: '10.0.0.1:80', released: true, bytesUp: 0, bytesDown: 0, durationMs: 5, reason: 'connect_failed' },
      });
      expectSubscriptions(second.subscriptions).toBe([]);
      rx.flush();
      expect(io.refuse).toHaveBeenCalledTimes(1);
    });
  });

  it('refuses with `limit` once the process holds as many connections as its descriptors allow', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const io = fakeIo({ connect: () => cold('(u|)', { u: upstream('10.0.0.1:80') }) });
      // the state says no connection is open, and the cap is 0: full
      const { collected$, closed } = run(rx, three, io, [], 0);
      expectObservable(collected$).toBe('(ox|)', letters);
      rx.flush();
      expect(closed[0]?.reason).toBe('limit');
    });
  });

  it('gives up after `retries` more attempts and answers as on_no_backend says', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const io = fakeIo({ connect: (a) => cold<FakeSocket>('10ms #', undefined, new UpstreamConnectError(a, 'refused')) });
      const cfg = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80'), backend('10.0.0.3:80'), backend('10.0.0.4:80')], { retries: 2, onNoBackend: 'http-503' })]);
      const { collected$, closed } = run(rx, cfg, io);
      // three attempts (one plus two retries), the fourth backend is never tried
      expectObservable(collected$).toBe('(oa) 6ms (fa) 6ms (fa) 6ms (fx|)', letters);
      rx.flush();
      expect(closed[0]).toMatchObject({ backend: '10.0.0.3:80', released: true, reason: 'connect_failed', bytesUp: 0, bytesDown: 0 });
      expect(io.refuse).toHaveBeenCalledExactlyOnceWith(client, 'http-503');
    });
  });

  it('fails a connect that takes longer than connect_timeout, tears it down, and moves on', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const hanging = cold<FakeSocket>('-');
      const quick = cold('1s (u|)', { u: upstream('10.0.0.2:80') });
      const events: ConnEvent[] = [];
      const io = fakeIo({ connect: (a) => (a === '10.0.0.1:80' ? hanging : quick) });
      const cfg = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80')], { connectTimeoutMs: 3000 })]);
      const events$ = connection$(accepted(cfg), context(rx, cfg, io));
      events$.subscribe((e) => events.push(e));
      expectSubscriptions(hanging.subscriptions).toBe('^ 2999ms !');
      expectSubscriptions(quick.subscriptions).toBe('3s ^ 999ms !');
      rx.flush();
      expect(events.map(letter).join('')).toBe('oafacx'); // x: idle_timeout, 10m later
      expect(events[2]).toMatchObject({ type: 'conn-failed', backend: '10.0.0.1:80', reason: 'timeout', attempt: 1 });
      expect(events[4]).toMatchObject({ type: 'conn-connected', backend: '10.0.0.2:80', attempt: 2 });
      void expectObservable;
    });
  });

  it('closes both sides after idle_timeout with no byte either way', () => {
    const rx = testScheduler();
    rx.run(({ expectObservable }) => {
      const up = upstream('10.0.0.1:80');
      const io = fakeIo({ connect: () => of(up) }); // its copy never moves a byte
      const cfg = config([pool([backend('10.0.0.1:80')], { idleTimeoutMs: 60_000 })]);
      const { collected$, closed } = run(rx, cfg, io);
      expectObservable(collected$).toBe('(oac) 59995ms (x|)', letters);
      rx.flush();
      expect(io.splice$).toHaveBeenCalledExactlyOnceWith(client, up, 60_000, undefined);
      expect(closed[0]).toMatchObject({ reason: 'idle_timeout', durationMs: 60_000 });
      expect(io.release).toHaveBeenCalledTimes(1);
    });
  });

  it('answers no_backend when no backend is up, without any attempt', () => {
    const rx = testScheduler();
    rx.run(({ expectObservable }) => {
      const io = fakeIo({ connect: () => NEVER });
      const cfg = config([pool([], { onNoBackend: 'http-503' })]);
      const { collected$, closed } = run(rx, cfg, io);
      expectObservable(collected$).toBe('(ox|)', letters);
      rx.flush();
      expect(closed[0]).toMatchObject({ reason: 'no_backend', backend: undefined });
      expect(io.refuse).toHaveBeenCalledExactlyOnceWith(client, 'http-503');
      expect(io.release).toHaveBeenCalledTimes(1);
    });
  });

  it('refuses with `limit` when the listener is full', () => {
    const rx = testScheduler();
    rx.run(({ expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80')])], [listener({ maxConnections: 1 })]);
      const io = fakeIo({ connect: () => NEVER });
      let state = reduceBackendState(initialState, { type: 'config', config: cfg });
      state = reduceBackendState(state, { type: 'conn-opened', listener: 'front', client: 'x:1' });
      const ctx = { ...context(rx, cfg, io), state: () => state };
      expectObservable(connection$(accepted(cfg), ctx).pipe(map(letter))).toBe('(ox|)', letters);
      rx.flush();
      expect(io.release).toHaveBeenCalledTimes(1);
    });
  });

  it('skips a full backend and refuses with `limit` when every backend is full', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80', { maxConnections: 1 }), backend('10.0.0.2:80', { maxConnections: 1 })])]);
      const io = fakeIo({ connect: (a) => cold('1ms (u|)', { u: upstream(a) }) });
      let state = reduceBackendState(initialState, { type: 'config', config: cfg });
      const tag = { listener: 'front', pool: 'web', client: 'x:1', attempt: 1 };
      state = reduceBackendState(state, { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80' });
      const ctx = { ...context(rx, cfg, io), state: () => state };
      const seen: ConnEvent[] = [];
      connection$(accepted(cfg), ctx).subscribe((e) => seen.push(e));
      state = reduceBackendState(state, { type: 'conn-attempt', ...tag, backend: '10.0.0.2:80' });
      expectObservable(connection$(accepted(cfg), ctx).pipe(map(letter))).toBe('(ox|)', letters);
      rx.flush();
      expect(seen[1]).toMatchObject({ type: 'conn-attempt', backend: '10.0.0.2:80' });
    });
  });

  it('hands a `shutdown` record to ctx.cut when unsubscribed during the copy, and tears the copy down', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const splice = cold<SpliceEnd>('-');
      const cut: ConnClosed[] = [];
      const io = fakeIo({ connect: () => of(upstream('10.0.0.1:80')), splice: () => splice });
      const { collected$, closed } = run(rx, three, io, cut);
      expectObservable(collected$, '^ 49ms !').toBe('(oac)', letters);
      expectSubscriptions(splice.subscriptions).toBe('^ 49ms !');
      rx.flush();
      expect(closed).toEqual([]);
      expect(cut).toEqual([
        { type: 'conn-closed', listener: 'front', pool: 'web', client: '10.9.9.9:5555', backend: '10.0.0.1:80', bytesUp: 11, bytesDown: 22, durationMs: 50, reason: 'shutdown' },
      ]);
      expect(io.release).toHaveBeenCalledTimes(1);
    });
  });

  it('releases the client and tears the attempt down when unsubscribed mid-connect', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect = cold<FakeSocket>('-');
      const io = fakeIo({ connect: () => connect });
      const cut: ConnClosed[] = [];
      const { collected$ } = run(rx, three, io, cut);
      expectObservable(collected$, '^ 9ms !').toBe('(oa)', letters);
      expectSubscriptions(connect.subscriptions).toBe('^ 9ms !');
      rx.flush();
      expect(io.release).toHaveBeenCalledTimes(1);
      expect(cut.map((c) => [c.reason, c.backend])).toEqual([['shutdown', '10.0.0.1:80']]);
    });
  });
});

/** A policy that answers the first candidate `ms` later. */
const late = (ms: number): Policy => (requests) => requests.pipe(delay(ms), map((request) => ({ request, backend: request.candidates[0] })));

describe('connection$ while it is set up', () => {
  it('ends at once as client_closed when the client goes while a connect is in flight, abandoning the connect', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect = cold<FakeSocket>('    10ms (u|)', { u: upstream('10.0.0.1:80') });
      const gone = cold<void>('           4ms (g|)');
      const io = fakeIo({ connect: () => connect, gone: () => gone });
      const { collected$, closed } = run(rx, three, io);
      expectObservable(collected$).toBe('(oa)(x|)', letters);
      expectSubscriptions(connect.subscriptions).toBe('^ 3ms !');
      expectSubscriptions(gone.subscriptions).toBe('^ 3ms !');
      rx.flush();
      // it held a slot on the backend it was connecting to: the record gives it back
      expect(closed).toEqual([
        { type: 'conn-closed', listener: 'front', pool: 'web', client: '10.9.9.9:5555', backend: '10.0.0.1:80', bytesUp: 0, bytesDown: 0, durationMs: 4, reason: 'client_closed' },
      ]);
      expect(io.refuse).not.toHaveBeenCalled(); // nobody to answer
      expect(io.splice$).not.toHaveBeenCalled();
      expect(io.release).toHaveBeenCalledTimes(1);
    });
  });

  it('ends at once when the client goes while the policy thinks, and the late answer is forgotten', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const failures: PolicyFailure[] = [];
      const io = fakeIo({ connect: () => cold('1ms (u|)', { u: upstream('10.0.0.1:80') }), gone: () => cold('2ms (g|)') });
      const events$ = connection$(accepted(three), context(rx, three, io, [], Infinity, late(5), failures));
      expectObservable(events$.pipe(map(letter))).toBe('o 1ms (x|)', letters);
      rx.flush();
      expect(failures).toEqual([]); // the answer at 5 finds nobody waiting, and that is no fault of the policy
      expect(io.refuse).not.toHaveBeenCalled();
    });
  });

  it('ends at once when the client went while it waited to be taken up (no pick, no connect)', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect = cold<FakeSocket>('(u|)', { u: upstream('10.0.0.1:80') });
      const io = fakeIo({ connect: () => connect, gone: () => of(undefined) });
      const { collected$, closed } = run(rx, three, io);
      expectObservable(collected$).toBe('(ox|)', letters);
      expectSubscriptions(connect.subscriptions).toBe([]);
      rx.flush();
      expect(closed[0]).toMatchObject({ reason: 'client_closed', backend: undefined });
    });
  });

  it('stops watching for the client to go once the copy takes over', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const gone = cold<void>('20ms (g|)');
      const splice = cold('    30ms (e|)', { e: { reason: 'client_closed' as const } });
      const io = fakeIo({ connect: () => cold('5ms (u|)', { u: upstream('10.0.0.1:80') }), splice: () => splice, gone: () => gone });
      const { collected$ } = run(rx, three, io);
      // the watch firing at 20 is no longer heard: the copy says how the connection ended
      expectObservable(collected$).toBe('(oa) 1ms c 29ms (x|)', letters);
      expectSubscriptions(gone.subscriptions).toBe('^ 4ms !');
      expectSubscriptions(splice.subscriptions).toBe('5ms ^ 29ms !');
    });
  });

  it('stops watching the client before on_no_backend answers it, since the answer reads the client', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const order: string[] = [];
      const gone = new Observable<void>(() => () => order.push('unwatched'));
      const io = fakeIo({ connect: (a) => cold<FakeSocket>('10ms #', undefined, new UpstreamConnectError(a, 'refused')), gone: () => gone });
      io.refuse.mockImplementation(() => {
        order.push('refused');
      });
      const cfg = config([pool([backend('10.0.0.1:80')], { retries: 0, onNoBackend: 'http-503' })]);
      const { collected$ } = run(rx, cfg, io);
      expectObservable(collected$).toBe('(oa) 6ms (fx|)', letters);
      rx.flush();
      expect(order).toEqual(['unwatched', 'refused']);
    });
  });

  it('waits for a late policy, then connects', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const io = fakeIo({ connect: () => cold('2ms (u|)', { u: upstream('10.0.0.1:80') }) });
      const events$ = connection$(accepted(three), context(rx, three, io, [], Infinity, late(5)));
      expectObservable(events$.pipe(map(letter)), '^ 19ms !').toBe('o 4ms a 1ms c', letters);
    });
  });

  it('fails only this connection when its policy never answers: connect_timeout bounds the pick, and the policy is reported', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const failures: PolicyFailure[] = [];
      const silent: Policy = () => NEVER;
      const cfg = config([pool([backend('10.0.0.1:80')], { connectTimeoutMs: 3000, onNoBackend: 'http-503' })]);
      const io = fakeIo({ connect: () => cold('(u|)', { u: upstream('10.0.0.1:80') }) });
      const events$ = connection$(accepted(cfg), context(rx, cfg, io, [], Infinity, silent, failures));
      expectObservable(events$.pipe(map(letter))).toBe('o 2999ms (x|)', letters);
      rx.flush();
      expect(failures.map((f) => [f.pool, f.policy, f.kind])).toEqual([['web', 'test', 'no_answer']]);
      expect(io.refuse).toHaveBeenCalledExactlyOnceWith(client, 'http-503'); // nothing was forwarded: the client is answered
    });
  });

  it('reports a policy that answers with a copy of the request, and fails the connection at the deadline', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const failures: PolicyFailure[] = [];
      const copying: Policy = (requests) => requests.pipe(map((request) => ({ request: { ...request }, backend: request.candidates[0] })));
      const cfg = config([pool([backend('10.0.0.1:80')], { connectTimeoutMs: 1000 })]);
      const io = fakeIo({ connect: () => cold('(u|)', { u: upstream('10.0.0.1:80') }) });
      const events$ = connection$(accepted(cfg), context(rx, cfg, io, [], Infinity, copying, failures));
      expectObservable(events$.pipe(map(letter))).toBe('o 999ms (x|)', letters);
      rx.flush();
      expect(failures.map((f) => f.kind)).toEqual(['unknown_request', 'no_answer']);
    });
  });

  it('never answers the client with on_no_backend once the copy has started, even when the copy fails', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80')], { onNoBackend: 'http-503' })]);
      const io = fakeIo({ connect: () => cold('(u|)', { u: upstream('10.0.0.1:80') }), splice: () => cold<SpliceEnd>('7ms #', undefined, new Error('a bug in the copy')) });
      const { collected$, closed } = run(rx, cfg, io);
      expectObservable(collected$).toBe('(oac) 2ms (x|)', letters);
      rx.flush();
      expect(closed[0]).toMatchObject({ reason: 'error', backend: '10.0.0.1:80' });
      expect(io.refuse).not.toHaveBeenCalled();
    });
  });
  it('stops watching a client already gone when watched, even if its watch never completes', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      // the port promises one emission, not a completion
      const rest = cold<void>('-');
      const connect = cold<FakeSocket>('(u|)', { u: upstream('10.0.0.1:80') });
      const io = fakeIo({ connect: () => connect, gone: () => concat(of(undefined), rest) });
      const { collected$, closed } = run(rx, three, io);
      expectObservable(collected$).toBe('(ox|)', letters);
      expectSubscriptions(rest.subscriptions).toBe('(^!)');
      expectSubscriptions(connect.subscriptions).toBe([]);
      rx.flush();
      expect(closed[0]).toMatchObject({ reason: 'client_closed', backend: undefined });
      expect(io.release).toHaveBeenCalledTimes(1);
    });
  });

  it('asks the policy again when its late answer names a backend that filled up meanwhile', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80', { maxConnections: 1 }), backend('10.0.0.2:80')])]);
      const io = fakeIo({ connect: (a) => cold('1ms (u|)', { u: upstream(a) }) });
      const failures: PolicyFailure[] = [];
      let state = reduceBackendState(initialState, { type: 'config', config: cfg });
      // both connections share the state, as the balancer's fold gives it, and one router
      const ctx = { ...context(rx, cfg, io, [], Infinity, late(5), failures), state: () => state };
      const fold = tap((e: ConnEvent) => (state = reduceBackendState(state, e)));
      const byBackend = map((e: ConnEvent) => (e.type === 'conn-attempt' ? (e.backend === '10.0.0.1:80' ? 'a' : 'b') : letter(e)));
      const first$ = connection$(accepted(cfg), ctx).pipe(fold, byBackend);
      const second$ = timer(2).pipe(mergeMap(() => connection$({ ...accepted(cfg), client: { address: '10.9.9.8', port: 5556 } }, ctx).pipe(fold, byBackend)));
      // both were offered the first backend; the first took its only slot at 5, so the
      // answer to the second at 7 is stale: it is asked again and gets the other one
      expectObservable(first$, '^ 19ms !').toBe('o 4ms a c', { ...letters, b: 'b' });
      expectObservable(second$, '^ 19ms !').toBe('2ms o 9ms b c', { ...letters, b: 'b' });
      rx.flush();
      expect(failures).toEqual([]);
    });
  });
});
