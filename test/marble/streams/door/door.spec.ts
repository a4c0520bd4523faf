import { type Observable, map, of, take } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { ListenerConfig, RouteConfig } from '../../../../src/config/types.js';
import { type Arrival, type DoorIo, arrivalOf } from '../../../../src/streams/door/arrival.js';
import { addressList } from '../../../../src/streams/door/cidr.js';
import { createDoors } from '../../../../src/streams/door/door.js';
import { serverNames } from '../../../../src/streams/door/server-names.js';
import { type FakeSocket, listener } from '../../fixtures.js';
import { testScheduler } from '../../helpers.js';
import { alpn, hello, serverName } from '../../../unit/wire/hello-builder.js';

const TLS = hello({ extensions: [serverName('api.example.com'), alpn(['h2'])] });
const routes: RouteConfig[] = [
  { sni: serverNames(['api.example.com']), alpn: undefined, source: undefined, pool: 'api' },
  { sni: undefined, alpn: undefined, source: addressList(['10.1.0.0/16']), pool: 'office' },
];
const edge = (extra: Partial<ListenerConfig> = {}): ListenerConfig =>
  listener({
    name: 'edge',
    pool: '',
    routes,
    needsClientHello: true,
    allow: addressList(['10.0.0.0/8', '192.0.2.0/24']),
    deny: addressList(['10.9.0.0/16']),
    connectionRatePerClient: { count: 1, perMs: 1000 },
    maxConnectionsPerClient: 1,
    ...extra,
  });

function doorIo(now: () => number, preread: (client: FakeSocket) => Observable<Buffer>) {
  return { preread$: vi.fn(preread), now } satisfies DoorIo<FakeSocket>;
}

/** One arrival through a listener's door, as the connection runs it. */
function through(doors: ReturnType<typeof createDoors<FakeSocket>>, config: ListenerConfig, address: string, port = 40000): Observable<Arrival<FakeSocket>> {
  const door = doors(config);
  if (door === undefined) throw new Error('no door');
  return of(arrivalOf<FakeSocket>({ id: `${address}:${port}` }, config, { address, port })).pipe(door, take(1));
}

const where = (a: Arrival<FakeSocket>): string => a.refused ?? `${a.pool}#${a.route ?? '-'}`;

describe('createDoors', () => {
  it('gives no door to a listener that checks nothing, and the same door to the same config', () => {
    const doors = createDoors<FakeSocket>(doorIo(() => 0, () => of()));
    expect(doors(listener())).toBeUndefined();
    const config = edge();
    expect(doors(config)).toBe(doors(config));
  });

  it('routes a TLS client by name after reading its hello, and keeps the hello for the backend', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const doors = createDoors<FakeSocket>(doorIo(() => rx.now(), () => cold('-a', { a: TLS })));
      expectObservable(through(doors, edge(), '192.0.2.1').pipe(map((a) => [where(a), a.sni, a.preread?.equals(TLS)]))).toBe('-(x|)', { x: ['api#0', 'api.example.com', true] });
    });
  });

  it('turns away denied and rate-limited clients without reading a byte or routing them', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const doors = createDoors<FakeSocket>(doorIo(() => rx.now(), () => cold('-a', { a: TLS })));
      const config = edge();
      const seen = (a: Arrival<FakeSocket>) => [a.refused, a.pool, a.route, a.preread];
      expectObservable(through(doors, config, '10.9.1.1').pipe(map(seen))).toBe('(x|)', { x: ['denied', '', undefined, undefined] });
      expectObservable(through(doors, config, '172.16.0.1').pipe(map(seen))).toBe('(x|)', { x: ['denied', '', undefined, undefined] });
      expectObservable(through(doors, config, '192.0.2.7').pipe(map(where))).toBe('-(x|)', { x: 'api#0' });
      expectObservable(through(doors, config, '192.0.2.7', 40001).pipe(map(seen))).toBe('(x|)', { x: ['rate_limit', '', undefined, undefined] });
    });
  });

  it('reads only for the clients the lists and the rate let in', () => {
    const rx = testScheduler();
    const io = doorIo(() => rx.now(), () => of(TLS));
    rx.run(({ cold }) => {
      const doors = createDoors<FakeSocket>(io);
      const config = edge();
      const arrivals = cold('abcd|', { a: '10.9.1.1', b: '172.16.0.1', c: '192.0.2.7', d: '192.0.2.7' });
      arrivals.subscribe((address) => through(doors, config, address).subscribe());
    });
    expect(io.preread$).toHaveBeenCalledExactlyOnceWith({ id: '192.0.2.7:40000' });
  });

  it('counts a client only once its hello is read: a connection that goes mid-hello holds no count', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const doors = createDoors<FakeSocket>(doorIo(() => rx.now(), () => cold('---a', { a: TLS })));
      const config = edge({ connectionRatePerClient: undefined });
      // max 1 per client: the first goes at frame 1, mid-hello, so the second gets in
      expectObservable(through(doors, config, '10.1.0.1'), '^!').toBe('-');
      expectObservable(through(doors, config, '10.1.0.1', 40001).pipe(map(where))).toBe('---(x|)', { x: 'api#0' });
    });
  });

  it('gives a count back when the connection leaves, so the client may connect again', () => {
    const doors = createDoors<FakeSocket>(doorIo(() => 0, () => of(TLS)));
    const config = edge({ connectionRatePerClient: undefined });
    const outcomes: string[] = [];
    const kept: Arrival<FakeSocket>[] = [];
    const connect = (): void =>
      void through(doors, config, '10.1.0.1').subscribe((a) => {
        outcomes.push(where(a));
        kept.push(a);
      });
    connect();
    connect();
    kept[0]?.leave?.();
    connect();
    kept[1]?.leave?.(); // refused: nothing to give back
    connect();
    expect(outcomes).toEqual(['api#0', 'limit', 'api#0', 'limit']);
  });

  it('keeps the rate buckets of a listener through a reload that keeps its name and rate, not one that changes them', () => {
    const doors = createDoors<FakeSocket>(doorIo(() => 0, () => of(TLS)));
    const rated = (extra: Partial<ListenerConfig>) => edge({ maxConnectionsPerClient: 0, ...extra });
    const outcome = (config: ListenerConfig): string => {
      let seen = '';
      through(doors, config, '192.0.2.1').subscribe((a) => (seen = where(a)));
      return seen;
    };
    const before = rated({});
    expect(outcome(before)).toBe('api#0');
    expect(outcome(rated({}))).toBe('rate_limit'); // a reload: a new config object, the same rate
    expect(outcome(rated({ routes: [routes[1]!], pool: 'web' }))).toBe('rate_limit'); // new routes, the same rate
    expect(outcome(rated({ connectionRatePerClient: { count: 2, perMs: 1000 } }))).toBe('api#0'); // a new rate: new buckets
    expect(outcome(rated({ name: 'other' }))).toBe('api#0'); // another listener: its own buckets
    expect(outcome(before)).toBe('rate_limit'); // the first config's door is the one it had
  });

  it("runs the user's own stage after the hello and before the count and the routes", () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const own = (a: Arrival<FakeSocket>): Arrival<FakeSocket> => {
        if (a.refused !== undefined) return a;
        if (a.client.port === 40000) return { ...a, refused: 'denied' };
        return a.sni === undefined ? a : { ...a, pool: 'chosen' };
      };
      const stage = vi.fn((config: ListenerConfig) => (config.name === 'edge' ? map(own) : undefined));
      const doors = createDoors<FakeSocket>(doorIo(() => rx.now(), () => cold('-a', { a: TLS })), stage);
      const config = edge({ connectionRatePerClient: undefined, routes: [routes[1]!], pool: 'web' });
      // refused by the stage before the count (max 1): the next one from that client is not over it;
      // the stage saw its server name, and its pool stands, as no route matches
      expectObservable(through(doors, config, '192.0.2.1').pipe(map(where))).toBe('-(x|)', { x: 'denied' });
      expectObservable(through(doors, config, '192.0.2.1', 40001).pipe(map(where))).toBe('-(x|)', { x: 'chosen#-' });
      expect(doors(listener())).toBeUndefined();
      expect(stage).toHaveBeenCalledTimes(2);
    });
  });
});
