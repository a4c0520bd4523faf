import { NEVER, type Observable, map } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../../src/config/types.js';
import { roundRobin } from '../../../../src/operators/policies/round-robin.js';
import { createDoors } from '../../../../src/streams/door/door.js';
import type { Accepted } from '../../../../src/streams/ports.js';
import { createRouter } from '../../../../src/streams/routing/router.js';
import { initialState, reduceBackendState } from '../../../../src/streams/state/backend-state.js';
import type { ConnClosed, ConnEvent } from '../../../../src/streams/state/events.js';
import { type ConnectionContext, connection$ } from '../../../../src/streams/tcp/connection.js';
import { encodeProxyV2 } from '../../../../src/wire/proxy-header.js';
import { testScheduler } from '../../helpers.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../../fixtures.js';

/** o opened, a attempt, c connected, x closed. */
const letter = (e: ConnEvent): string => ({ 'conn-opened': 'o', 'conn-attempt': 'a', 'conn-failed': 'f', 'conn-connected': 'c', 'conn-closed': 'x' })[e.type];
const letters = { o: 'o', a: 'a', c: 'c', x: 'x' };

const client: FakeSocket = { id: 'client' };
const upstream: FakeSocket = { id: 'up' };
const DATA = Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', 'latin1');
const FROM_BALANCER = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n', 'latin1');

const behindBalancer = (proxyProtocol: 'v1' | 'v2' | undefined): Config =>
  config([pool([backend('10.0.0.1:80')], { proxyProtocol })], [listener({ proxyProtocol: 'accept', prereadTimeoutMs: 5_000 })]);

type Io = ReturnType<typeof fakeIo>;

/** What the connection gave `splice$` to write to the backend first (the fake's type leaves the argument out). */
const firstWrite = (io: Io): Buffer => Buffer.from(((io.splice$.mock.calls[0] as unknown[] | undefined)?.[3] as Uint8Array | undefined) ?? []);

/** The connection of `client`, accepted from the balancer at 10.9.9.9:5555, through the listener's door. */
function run(rx: TestScheduler, cfg: Config, io: Io): { events$: Observable<string>; closed: ConnClosed[] } {
  const state = reduceBackendState(initialState, { type: 'config', config: cfg });
  const router = createRouter(roundRobin(), { pool: 'web', policy: 'test', report: () => undefined });
  const ctx: ConnectionContext<FakeSocket, FakeSocket> = {
    io,
    state: () => state,
    router: () => router,
    cut: () => undefined,
    now: () => rx.now(),
    connectionCap: Infinity,
    door: createDoors<FakeSocket>({ preread$: (c) => io.preread$(c), now: () => rx.now() }),
  };
  const accepted: Accepted<FakeSocket> = { listener: cfg.listeners[0]!, socket: client, client: { address: '10.9.9.9', port: 5555 } };
  const closed: ConnClosed[] = [];
  const events$ = connection$(accepted, ctx).pipe(
    map((e) => {
      if (e.type === 'conn-closed') closed.push(e);
      return letter(e);
    }),
  );
  return { events$, closed };
}

describe('connection$ through a door that accepts a PROXY header', () => {
  it("sends the pool's header for the header's client, then the bytes read with it, in one first write", () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const preread = cold('2ms a', { a: Buffer.concat([FROM_BALANCER, DATA]) });
      const connect = cold('3ms (u|)', { u: upstream });
      const splice = cold('10ms (e|)', { e: { reason: 'client_closed' as const } });
      const sent = encodeProxyV2({ command: 'proxy', transport: 'stream', source: { address: '192.0.2.1', port: 56324 }, destination: { address: '198.51.100.2', port: 443 } });
      const io = { ...fakeIo({ connect: () => connect, splice: () => splice, preread: () => preread }), transferred: () => ({ up: sent.length + DATA.length, down: 5 }) };
      const { events$, closed } = run(rx, behindBalancer('v2'), io);
      expectObservable(events$).toBe('o 1ms a 2ms c 9ms (x|)', letters);
      expectSubscriptions(preread.subscriptions).toBe('^ 1ms !');
      expectSubscriptions(connect.subscriptions).toBe('2ms ^ 2ms !');
      rx.flush();
      expect(io.splice$).toHaveBeenCalledTimes(1);
      expect(firstWrite(io).equals(Buffer.concat([sent, DATA]))).toBe(true);
      expect(closed).toEqual([
        {
          type: 'conn-closed',
          listener: 'front',
          pool: 'web',
          client: '192.0.2.1:56324',
          peer: '10.9.9.9:5555',
          backend: '10.0.0.1:80',
          // the header rxlb wrote is not the client's: only what it sent counts
          bytesUp: DATA.length,
          bytesDown: 5,
          durationMs: 15,
          reason: 'client_closed',
          sni: undefined,
          route: undefined,
          uniqueId: undefined,
          detail: undefined,
        },
      ]);
    });
  });

  it("sends a v1 pool's line for the header's client, and nothing else when the client has sent nothing more", () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const io = fakeIo({ connect: () => cold('(u|)', { u: upstream }), splice: () => NEVER, preread: () => cold('a', { a: FROM_BALANCER }) });
      expectObservable(run(rx, behindBalancer('v1'), io).events$).toBe('(oac)', letters);
      rx.flush();
      expect(firstWrite(io).toString('latin1')).toBe('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n');
    });
  });

  it('forwards the bytes read with the header to a pool that sends no header, as they came', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const io = fakeIo({ connect: () => cold('(u|)', { u: upstream }), splice: () => NEVER, preread: () => cold('a', { a: Buffer.concat([FROM_BALANCER, DATA]) }) });
      expectObservable(run(rx, behindBalancer(undefined), io).events$).toBe('(oac)', letters);
      rx.flush();
      expect(firstWrite(io).equals(DATA)).toBe(true);
    });
  });

  it('closes a bad header with bad_header and what was wrong, before any backend is tried', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect = cold('(u|)', { u: upstream });
      const io = fakeIo({ connect: () => connect, preread: () => cold('1ms a', { a: DATA }) });
      const { events$, closed } = run(rx, behindBalancer('v2'), io);
      expectObservable(events$).toBe('o (x|)', letters);
      expectSubscriptions(connect.subscriptions).toBe([]);
      rx.flush();
      expect(closed[0]).toMatchObject({ client: '10.9.9.9:5555', backend: undefined, reason: 'bad_header', bytesUp: 0, peer: undefined });
      expect(closed[0]?.detail).toMatch(/^not a PROXY header: the client sent "GET \/ HTTP\/1\.1\\r\\n"\.\.\. first/);
      expect(io.splice$).not.toHaveBeenCalled();
      // turned away at the door: closed, never answered as on_no_backend says
      expect(io.refuse).not.toHaveBeenCalled();
    });
  });

  it('ends as client_closed when the client resets mid-header, and stops reading at once', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const preread = cold('1ms a', { a: FROM_BALANCER.subarray(0, 10) });
      const gone = cold<void>('3ms (g|)');
      const io = fakeIo({ connect: () => NEVER, preread: () => preread, gone: () => gone });
      const { events$, closed } = run(rx, behindBalancer('v2'), io);
      expectObservable(events$).toBe('o 2ms (x|)', letters);
      expectSubscriptions(preread.subscriptions).toBe('^ 2ms !');
      expectSubscriptions(gone.subscriptions).toBe('^ 2ms !');
      rx.flush();
      expect(closed[0]).toMatchObject({ client: '10.9.9.9:5555', reason: 'client_closed', durationMs: 3 });
      expect(io.release).toHaveBeenCalledExactlyOnceWith(client);
    });
  });
});
