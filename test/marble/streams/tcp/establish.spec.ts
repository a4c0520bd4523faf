import { type Observable, delay, map, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../../src/config/types.js';
import { LimitError, NoBackendError, PolicyError, UpstreamConnectError } from '../../../../src/errors.js';
import { roundRobin } from '../../../../src/operators/policies/round-robin.js';
import type { Policy } from '../../../../src/operators/policies/types.js';
import { type EstablishContext, type EstablishStep, establish$ } from '../../../../src/streams/tcp/establish.js';
import { createRouter } from '../../../../src/streams/routing/router.js';
import { initialState, reduceBackendState } from '../../../../src/streams/state/backend-state.js';
import { testScheduler } from '../../helpers.js';
import { type FakeSocket, backend, config, fakeIo, pool } from '../../fixtures.js';

/** a attempt, f failed, e established. */
const letter = (s: EstablishStep<FakeSocket>): string => ({ 'conn-attempt': 'a', 'conn-failed': 'f', established: 'e' })[s.type];
const letters = { a: 'a', f: 'f', e: 'e' };
const up = (address: string): FakeSocket => ({ id: `up:${address}` });

function setup(cfg: Config, connect: (address: string) => Observable<FakeSocket>, policy: Policy = roundRobin()) {
  const state = reduceBackendState(initialState, { type: 'config', config: cfg });
  const router = createRouter(policy);
  const ctx: EstablishContext<FakeSocket> = { io: fakeIo({ connect }), state: () => state, route: () => router.route };
  const pool = cfg.pools[0]!;
  return establish$({ listener: 'front', client: '10.9.9.9:5555', address: { address: '10.9.9.9', port: 5555 }, pool }, ctx);
}

const two = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80')])]);

describe('establish$', () => {
  it('attempts, connects, hands the socket over and completes', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect = cold('5ms (u|)', { u: up('10.0.0.1:80') });
      const steps$ = setup(two, () => connect);
      expectObservable(steps$.pipe(map(letter))).toBe('a 4ms (e|)', letters);
      expectSubscriptions(connect.subscriptions).toBe('^ 4ms !');
    });
  });

  it('moves on at once from a connect that fails while it is subscribed, up to `retries` times', () => {
    testScheduler().run(({ expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80'), backend('10.0.0.3:80')], { retries: 1 })]);
      const steps$ = setup(cfg, (a) => throwError(() => new UpstreamConnectError(a, 'refused')));
      expectObservable(steps$.pipe(map(letter))).toBe('(afaf#)', letters, new UpstreamConnectError('10.0.0.2:80', 'refused'));
    });
  });

  it('fails with the last connect failure once every backend was tried', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const steps$ = setup(two, (a) => cold<FakeSocket>('5ms #', undefined, new UpstreamConnectError(a, 'refused')));
      expectObservable(steps$.pipe(map(letter))).toBe('a 4ms (fa) 1ms (f#)', letters, new UpstreamConnectError('10.0.0.2:80', 'refused'));
    });
  });

  it('times a hanging connect out after connect_timeout, tears it down and tries the next backend', () => {
    const steps: EstablishStep<FakeSocket>[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const hanging = cold<FakeSocket>('-');
      const quick = cold('10ms (u|)', { u: up('10.0.0.2:80') });
      const cfg = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80')], { connectTimeoutMs: 100 })]);
      const steps$ = setup(cfg, (a) => (a === '10.0.0.1:80' ? hanging : quick));
      expectObservable(steps$.pipe(map((s) => (steps.push(s), letter(s))))).toBe('a 99ms (fa) 6ms (e|)', letters);
      expectSubscriptions(hanging.subscriptions).toBe('^ 99ms !');
      expectSubscriptions(quick.subscriptions).toBe('100ms ^ 9ms !');
    });
    expect(steps[1]).toMatchObject({ type: 'conn-failed', backend: '10.0.0.1:80', reason: 'timeout', attempt: 1 });
    expect(steps[3]).toMatchObject({ type: 'established', backend: '10.0.0.2:80', attempt: 2 });
  });

  it('wraps an unexpected connect error as an UpstreamConnectError with its cause', () => {
    testScheduler().run(({ expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80')], { retries: 0 })]);
      const boom = new Error('boom');
      const steps$ = setup(cfg, () => throwError(() => boom));
      expectObservable(steps$.pipe(map(letter))).toBe('(af#)', letters, new UpstreamConnectError('10.0.0.1:80', 'error', { cause: boom }));
    });
  });

  it('errors with NoBackendError when no backend is up, and LimitError when every one is full', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(setup(config([pool([])]), () => cold('-'))).toBe('#', undefined, new NoBackendError('web'));
      const full = config([pool([backend('10.0.0.1:80', { maxConnections: 1 })])]);
      let state = reduceBackendState(initialState, { type: 'config', config: full });
      state = reduceBackendState(state, { type: 'conn-attempt', listener: 'front', pool: 'web', client: 'x:1', backend: '10.0.0.1:80', attempt: 1 });
      const router = createRouter(roundRobin());
      const ctx: EstablishContext<FakeSocket> = { io: fakeIo({ connect: () => cold('-') }), state: () => state, route: () => router.route };
      const request = { listener: 'front', client: 'c', address: { address: '10.9.9.9', port: 1 }, pool: full.pools[0]! };
      expectObservable(establish$(request, ctx)).toBe('#', undefined, new LimitError('pool web: every backend is full'));
    });
  });

  it('errors with NoBackendError when the policy refuses, and with the policy error when it fails', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const refuse: Policy = (requests) => requests.pipe(map((request) => ({ request, backend: undefined })));
      expectObservable(setup(two, () => cold('-'), refuse)).toBe('#', undefined, new NoBackendError('web'));
      const failing: Policy = (requests) =>
        requests.pipe(
          map(() => {
            throw new Error('broken');
          }),
        );
      expectObservable(setup(two, () => cold('-'), failing)).toBe('#', undefined, new PolicyError('the policy failed'));
    });
  });

  it('waits for a policy that answers later, and leaves it when unsubscribed first', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const slow: Policy = (requests) => requests.pipe(roundRobin(), delay(5));
      const connect = cold('2ms (u|)', { u: up('10.0.0.1:80') });
      expectObservable(setup(two, () => connect, slow).pipe(map(letter))).toBe('5ms a 1ms (e|)', letters);
      expectObservable(setup(two, () => connect, slow).pipe(map(letter)), '^ 3ms !').toBe('');
    });
  });

  it('tears the connect under way down when unsubscribed, and its deadline with it', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect = cold<FakeSocket>('-');
      expectObservable(setup(two, () => connect).pipe(map(letter)), '^ 9ms !').toBe('a', letters);
      expectSubscriptions(connect.subscriptions).toBe('^ 9ms !');
    });
  });
});
