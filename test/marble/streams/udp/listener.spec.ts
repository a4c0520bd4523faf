import { NEVER, Observable, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Config, ListenerConfig } from '../../../../src/config/types.js';
import { UpstreamConnectError } from '../../../../src/errors.js';
import type { ClientAddress, PolicyFactory } from '../../../../src/operators/policies/types.js';
import { type BalancerEvent, createBalancer } from '../../../../src/streams/balancer.js';
import type { UdpUpstreamEvent } from '../../../../src/streams/ports.js';
import { testScheduler } from '../../helpers.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../../fixtures.js';
import { c1, c2, c3, datagram, echoing, fakeUdp, listening, runUdp, text } from './fake-udp.js';

function udpConfig(extra: { listener?: Partial<ListenerConfig>; policy?: string; maxConnections?: number; grace?: number } = {}): Config {
  const l = listener({ name: 'dns', protocol: 'udp', sessionTimeoutMs: 300, ...extra.listener });
  const base = config([pool([backend('10.0.0.1:53'), backend('10.0.0.2:53')], { policy: extra.policy ?? 'round-robin' })], [l], extra.maxConnections ?? 0);
  return { ...base, global: { ...base.global, shutdownGraceMs: extra.grace ?? 30_000 } };
}

/** An event as text, prefixed by its frame. */
function describeEvent(at: number, e: BalancerEvent): string {
  switch (e.type) {
    case 'listening':
      return `${at} listening ${e.listener.protocol} ${e.address}`;
    case 'conn-opened':
      return `${at} opened ${e.client}`;
    case 'conn-attempt':
      return `${at} attempt ${e.client} -> ${e.backend} #${e.attempt}`;
    case 'conn-connected':
      return `${at} answered ${e.client} <- ${e.backend}`;
    case 'conn-failed':
      return `${at} failed ${e.client} -> ${e.backend} ${e.reason}`;
    case 'conn-closed':
      return `${at} closed ${e.client} ${e.reason} up ${e.datagrams?.up}/${e.bytesUp} down ${e.datagrams?.down}/${e.bytesDown}`;
    case 'udp-dropped':
      return `${at} dropped ${e.reason} ${e.datagrams}`;
    default:
      return `${at} ${e.type}`;
  }
}

function run(cfg: Config, udp: ReturnType<typeof fakeUdp>, stop$: Observable<unknown>, now: () => number, policies?: Readonly<Record<string, PolicyFactory>>) {
  return runUdp(new Observable<Config>((s) => s.next(cfg)), udp, stop$, now, describeEvent, policies);
}

describe('UDP listeners in the balancer', () => {
  it('spreads sessions by the policy, forwards each datagram as it came, and answers each client from the listener socket', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig();
    const udp = rx.run(({ cold, hot }) => {
      const io = fakeUdp(hot('l-a-b-a', { l: listening(cfg), a: datagram(c1, 'q1'), b: datagram(c2, 'q2') }), echoing(cold));
      seen = run(cfg, io, hot('600ms s'), () => rx.now());
      return io;
    });
    expect(seen!.events).toEqual([
      '0 listening udp 127.0.0.1:5353',
      '2 opened 192.0.2.1:1111',
      '2 attempt 192.0.2.1:1111 -> 10.0.0.1:53 #1',
      '4 opened 192.0.2.2:2222',
      '4 attempt 192.0.2.2:2222 -> 10.0.0.2:53 #1',
      '7 answered 192.0.2.1:1111 <- 10.0.0.1:53',
      '9 answered 192.0.2.2:2222 <- 10.0.0.2:53',
      // idle from 7 and 9; the sweeps run every 150: gone at 450
      '450 closed 192.0.2.1:1111 idle_timeout up 2/4 down 1/16',
      '450 closed 192.0.2.2:2222 idle_timeout up 1/2 down 1/16',
      '600 done',
    ]);
    expect(udp.forward.mock.calls.map(([up, data]) => `${up.id} ${text(data)}`)).toEqual(['up:10.0.0.1:53 q1', 'up:10.0.0.2:53 q2', 'up:10.0.0.1:53 q1']);
    expect(udp.reply.mock.calls.map(([socket, client, data]) => `${socket.id} ${client.port} ${text(data)}`)).toEqual([
      'listen 1111 from 10.0.0.1:53',
      'listen 2222 from 10.0.0.2:53',
    ]);
  });

  it('counts live sessions as connections of their backend and listener, so least-connections sees them', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig({ policy: 'least-connections' });
    rx.run(({ cold, hot }) => {
      const io = fakeUdp(hot('l-a-b-c', { l: listening(cfg), a: datagram(c1, 'q'), b: datagram(c2, 'q'), c: datagram(c3, 'q') }), echoing(cold));
      seen = run(cfg, io, hot('600ms s'), () => rx.now());
    });
    // c1 to the first backend, c2 to the other one (less loaded), c3 to either
    const busiest = seen!.states.filter((s) => s.active === 3).at(-1)!;
    expect(busiest.listeners.dns?.active).toBe(3);
    expect(busiest.pools.web?.backends.map((b) => b.active).sort()).toEqual([1, 2]);
    const last = seen!.states[seen!.states.length - 1]!;
    expect(last.active).toBe(0);
    expect(last.pools.web?.backends.map((b) => b.active)).toEqual([0, 0]);
    expect(last.pools.web?.backends.map((b) => b.total).sort()).toEqual([1, 2]);
  });

  it('keeps a returning client on its backend with source-hash', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig({ policy: 'source-hash' });
    const again: ClientAddress = { ...c1, port: 4444 };
    rx.run(({ cold, hot }) => {
      const io = fakeUdp(hot('l-a 998ms b', { l: listening(cfg), a: datagram(c1, 'q'), b: datagram(again, 'q') }), echoing(cold));
      seen = run(cfg, io, hot('1500ms s'), () => rx.now());
    });
    const backends = seen!.events.filter((e) => e.includes('attempt')).map((e) => e.split(' -> ')[1]);
    expect(backends).toHaveLength(2);
    expect(backends[1]).toBe(backends[0]);
  });

  it('takes a port-unreachable as a failed attempt, and moves the session to another backend on the next datagram', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig();
    const udp = rx.run(({ cold, hot }) => {
      const echo = echoing(cold);
      const upstream = (address: string): Observable<UdpUpstreamEvent<FakeSocket>> =>
        address === '10.0.0.1:53' ? cold('r 2ms #', { r: { type: 'ready', socket: { id: 'up:dead' } } }, new UpstreamConnectError(address, 'refused')) : echo(address);
      const io = fakeUdp(hot('l-a 6ms a', { l: listening(cfg), a: datagram(c1, 'q') }), upstream);
      seen = run(cfg, io, hot('100ms s'), () => rx.now());
      return io;
    });
    expect(seen!.events).toEqual([
      '0 listening udp 127.0.0.1:5353',
      '2 opened 192.0.2.1:1111',
      '2 attempt 192.0.2.1:1111 -> 10.0.0.1:53 #1',
      '5 failed 192.0.2.1:1111 -> 10.0.0.1:53 refused',
      '9 attempt 192.0.2.1:1111 -> 10.0.0.2:53 #2',
      '14 answered 192.0.2.1:1111 <- 10.0.0.2:53',
      '100 closed 192.0.2.1:1111 shutdown up 2/2 down 1/16',
      '100 done',
    ]);
    expect(udp.forward.mock.calls.map(([up]) => up.id)).toEqual(['up:dead', 'up:10.0.0.2:53']);
    const dead = seen!.states[seen!.states.length - 1]!.pools.web!.backends[0]!;
    expect(dead).toMatchObject({ active: 0, failures: 1, consecutiveFailures: 1 });
  });

  it('on stop$ stops the listener and ends its sessions with `shutdown`, closing their sockets, then completes', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig();
    rx.run(({ cold, hot, expectSubscriptions }) => {
      const upstream = cold<UdpUpstreamEvent<FakeSocket>>('r', { r: { type: 'ready', socket: { id: 'up' } } });
      const listen = hot('l-a-b', { l: listening(cfg), a: datagram(c1, 'q1'), b: datagram(c2, 'q2') });
      const io = fakeUdp(listen, () => upstream);
      seen = run(cfg, io, hot('20ms s'), () => rx.now());
      expectSubscriptions(listen.subscriptions).toBe('^ 19ms !');
      expectSubscriptions(upstream.subscriptions).toBe(['--^ 17ms !', '----^ 15ms !']);
    });
    expect(seen!.events.slice(-3)).toEqual(['20 closed 192.0.2.1:1111 shutdown up 1/2 down 0/0', '20 closed 192.0.2.2:2222 shutdown up 1/2 down 0/0', '20 done']);
  });

  it('at max_sessions drops new clients and reports the drops once per sweep', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig({ listener: { maxSessions: 1 } });
    const udp = rx.run(({ cold, hot }) => {
      const io = fakeUdp(hot('l-a-b-b-a', { l: listening(cfg), a: datagram(c1, 'q'), b: datagram(c2, 'q') }), echoing(cold));
      seen = run(cfg, io, hot('200ms s'), () => rx.now());
      return io;
    });
    expect(seen!.events.filter((e) => !e.includes('listening'))).toEqual([
      '2 opened 192.0.2.1:1111',
      '2 attempt 192.0.2.1:1111 -> 10.0.0.1:53 #1',
      '7 answered 192.0.2.1:1111 <- 10.0.0.1:53',
      '150 dropped limit 2',
      '200 closed 192.0.2.1:1111 shutdown up 2/2 down 1/16',
      '200 done',
    ]);
    expect(udp.upstream$).toHaveBeenCalledTimes(1);
  });

  it('counts sessions against the global max_connections', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig({ maxConnections: 1 });
    rx.run(({ cold, hot }) => {
      const io = fakeUdp(hot('l-a-b', { l: listening(cfg), a: datagram(c1, 'q'), b: datagram(c2, 'q') }), echoing(cold));
      seen = run(cfg, io, hot('200ms s'), () => rx.now());
    });
    expect(seen!.events.filter((e) => e.includes('opened') || e.includes('dropped'))).toEqual(['2 opened 192.0.2.1:1111', '150 dropped limit 1']);
  });

  it('opens no session when the policy finds no backend, and reports the dropped datagrams', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof run> | undefined;
    const cfg = udpConfig({ policy: 'nobody' });
    const nobody: PolicyFactory = () => map((request) => ({ request, backend: undefined }));
    const udp = rx.run(({ cold, hot }) => {
      const io = fakeUdp(hot('l-a-a', { l: listening(cfg), a: datagram(c1, 'q') }), echoing(cold));
      seen = run(cfg, io, hot('200ms s'), () => rx.now(), { nobody });
      return io;
    });
    expect(seen!.events).toEqual(['0 listening udp 127.0.0.1:5353', '150 dropped no_backend 2', '200 done']);
    expect(udp.upstream$).not.toHaveBeenCalled();
  });

  it('fails a UDP listener clearly when no UDP io was given', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const cfg = udpConfig();
      const tcp = { ...fakeIo({ connect: () => NEVER }), listen$: () => NEVER };
      const { events$ } = createBalancer({ config$: cold('c', { c: cfg }), stop$: NEVER }, { io: tcp, now: () => rx.now() });
      expectObservable(events$).toBe('#', undefined, expect.objectContaining({ code: 'RXLB_ERR_LISTEN' }));
    });
  });
});
