import { type Observable, map } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import type { Config, ListenerConfig } from '../../../../src/config/types.js';
import { roundRobin } from '../../../../src/operators/policies/round-robin.js';
import { addressList } from '../../../../src/streams/door/cidr.js';
import { createDoors } from '../../../../src/streams/door/door.js';
import { serverNames } from '../../../../src/streams/door/server-names.js';
import type { Accepted } from '../../../../src/streams/ports.js';
import { createRouter } from '../../../../src/streams/routing/router.js';
import { initialState, reduceBackendState } from '../../../../src/streams/state/backend-state.js';
import type { ConnClosed, ConnEvent } from '../../../../src/streams/state/events.js';
import { type ConnectionContext, connection$ } from '../../../../src/streams/tcp/connection.js';
import { alpn, hello, serverName } from '../../../unit/wire/hello-builder.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../../fixtures.js';
import { testScheduler } from '../../helpers.js';

/** o opened, a attempt, c connected, x closed. */
const letter = (e: ConnEvent): string => ({ 'conn-opened': 'o', 'conn-attempt': 'a', 'conn-failed': 'f', 'conn-connected': 'c', 'conn-closed': 'x' })[e.type];
const letters = { o: 'o', a: 'a', f: 'f', c: 'c', x: 'x' };

const TLS = hello({ extensions: [serverName('api.example.com'), alpn(['h2'])] });
const edge: ListenerConfig = listener({
  name: 'edge',
  pool: 'web',
  routes: [{ sni: serverNames(['api.example.com']), alpn: undefined, source: undefined, pool: 'api' }],
  needsClientHello: true,
  deny: addressList(['10.9.0.0/16']),
  maxConnectionsPerClient: 1,
});
const cfg: Config = config([pool([backend('10.0.0.1:80')]), pool([backend('10.0.1.1:443')], { name: 'api' })], [edge]);

const from = (address: string, id = address): Accepted<FakeSocket> => ({ listener: edge, socket: { id }, client: { address, port: 5555 } });

/** A context with the config's pools (round robin each) and a door per listener. */
function context(rx: TestScheduler, io: ReturnType<typeof fakeIo>): ConnectionContext<FakeSocket, FakeSocket> {
  const state = reduceBackendState(initialState, { type: 'config', config: cfg });
  const routers = new Map(cfg.pools.map((p) => [p.name, createRouter(roundRobin(), { pool: p.name, policy: 'round-robin' })]));
  return {
    io,
    state: () => state,
    router: (name) => routers.get(name),
    cut: () => undefined,
    now: () => rx.now(),
    connectionCap: Infinity,
    door: createDoors<FakeSocket>({ preread$: (client) => io.preread$(client), now: () => rx.now() }),
  };
}

function lettersOf(events$: Observable<ConnEvent>, closed: ConnClosed[]): Observable<string> {
  return events$.pipe(
    map((e) => {
      if (e.type === 'conn-closed') closed.push(e);
      return letter(e);
    }),
  );
}

describe('connection$ through a door', () => {
  it('reads the hello, picks from the route pool, and sends the hello to the backend first', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const client = cold('-a-b', { a: TLS.subarray(0, 9), b: TLS.subarray(9) });
      const connect = vi.fn((address: string) => cold('1ms (u|)', { u: { id: `up:${address}` } }));
      const io = fakeIo({ connect, preread: () => client, splice: () => cold('5ms (e|)', { e: { reason: 'client_closed' as const } }) });
      const closed: ConnClosed[] = [];
      expectObservable(lettersOf(connection$(from('192.0.2.1'), context(rx, io)), closed)).toBe('o--ac 4ms (x|)', letters);
      expectSubscriptions(client.subscriptions).toBe('^--!');
      rx.flush();
      expect(connect).toHaveBeenCalledExactlyOnceWith('10.0.1.1:443');
      expect(io.splice$).toHaveBeenCalledExactlyOnceWith({ id: '192.0.2.1' }, { id: 'up:10.0.1.1:443' }, 600_000, TLS);
      expect(closed).toEqual([
        {
          type: 'conn-closed',
          listener: 'edge',
          pool: 'web',
          client: '192.0.2.1:5555',
          backend: '10.0.1.1:443',
          bytesUp: 11,
          bytesDown: 22,
          durationMs: 9,
          reason: 'client_closed',
          peer: undefined,
          sni: 'api.example.com',
          route: 0,
          uniqueId: undefined,
        },
      ]);
    });
  });

  it('sends a client that is not TLS to the listener pool, with what it sent first', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const get = Buffer.from('GET / HTTP/1.0\r\n\r\n');
      const connect = vi.fn((address: string) => cold('(u|)', { u: { id: `up:${address}` } }));
      const io = fakeIo({ connect, preread: () => cold('--a', { a: get }) });
      expectObservable(connection$(from('192.0.2.1'), context(rx, io)).pipe(map(letter)), '^ 10ms !').toBe('o-(ac)', letters);
      rx.flush();
      expect(connect).toHaveBeenCalledExactlyOnceWith('10.0.0.1:80');
      expect(io.splice$).toHaveBeenCalledExactlyOnceWith({ id: '192.0.2.1' }, { id: 'up:10.0.0.1:80' }, 600_000, get);
    });
  });

  it('closes a denied client with its reason, never reading it or connecting anywhere', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const connect = vi.fn(() => cold<FakeSocket>('(u|)', { u: { id: 'up' } }));
      const io = fakeIo({ connect, preread: () => cold('a', { a: TLS }) });
      const closed: ConnClosed[] = [];
      expectObservable(lettersOf(connection$(from('10.9.0.5'), context(rx, io)), closed)).toBe('(ox|)', letters);
      rx.flush();
      expect(connect).not.toHaveBeenCalled();
      expect(io.preread$).not.toHaveBeenCalled();
      expect(io.splice$).not.toHaveBeenCalled();
      expect(io.release).toHaveBeenCalledExactlyOnceWith({ id: '10.9.0.5' });
      expect(closed[0]).toMatchObject({ reason: 'denied', backend: undefined, bytesUp: 0, bytesDown: 0 });
    });
  });

  it('refuses a second connection of a client over its max until the first ends, which gives its count back', () => {
    const rx = testScheduler();
    const ctx = { current: undefined as ConnectionContext<FakeSocket, FakeSocket> | undefined };
    rx.run(({ cold, expectObservable }) => {
      const connect = vi.fn((address: string) => cold('(u|)', { u: { id: `up:${address}` } }));
      const io = fakeIo({ connect, preread: () => cold('a', { a: TLS }), splice: () => cold('10ms (e|)', { e: { reason: 'backend_closed' as const } }) });
      ctx.current = context(rx, io);
      const later = (ms: number, id: string) => cold(`${ms}ms a`, { a: 0 }).pipe(map(() => connection$(from('192.0.2.1', id), ctx.current!)));
      expectObservable(connection$(from('192.0.2.1', 'one'), ctx.current).pipe(map(letter))).toBe('(oac) 5ms (x|)', letters);
      const reasons = (id: string, ms: number) => {
        const closed: ConnClosed[] = [];
        later(ms, id).subscribe((events$) => events$.subscribe((e) => e.type === 'conn-closed' && closed.push(e)));
        return closed;
      };
      const second = reasons('two', 5);
      const third = reasons('three', 11);
      rx.flush();
      expect(second.map((c) => c.reason)).toEqual(['limit']);
      expect(third.map((c) => [c.reason, c.backend])).toEqual([['backend_closed', '10.0.1.1:443']]);
      expect(connect).toHaveBeenCalledTimes(2);
    });
  });

  it('ends a client that resets mid-hello as client_closed, stops reading, and holds no count', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable, expectSubscriptions }) => {
      const reading = cold('-a--', { a: TLS.subarray(0, 9) });
      const connect = vi.fn((address: string) => cold('(u|)', { u: { id: `up:${address}` } }));
      let first = true;
      const io = fakeIo({
        connect,
        preread: () => {
          if (!first) return cold('a', { a: TLS });
          first = false;
          return reading;
        },
        gone: (client) => (client.id === 'resets' ? cold<void>('3ms (g|)') : cold<void>('-')),
      });
      const ctx = context(rx, io);
      const closed: ConnClosed[] = [];
      expectObservable(lettersOf(connection$(from('192.0.2.1', 'resets'), ctx), closed)).toBe('o 2ms (x|)', letters);
      expectSubscriptions(reading.subscriptions).toBe('^ 2ms !');
      rx.flush();
      expect(closed[0]).toMatchObject({ reason: 'client_closed', backend: undefined });
      // max 1 per client: the reset one left nothing behind
      const again: ConnEvent[] = [];
      connection$(from('192.0.2.1', 'again'), ctx).subscribe((e) => again.push(e));
      rx.flush();
      expect(again.map(letter).join('')).toBe('oacx'); // x: idle_timeout, 10 minutes later in virtual time
      expect(connect).toHaveBeenCalledTimes(1);
    });
  });
});
