import type { Observable } from 'rxjs';
import type { RunHelpers } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Config, ListenerConfig } from '../../../../src/config/types.js';
import { UpstreamConnectError } from '../../../../src/errors.js';
import type { BalancerEvent } from '../../../../src/streams/balancer.js';
import type { UdpListenEvent, UdpUpstreamEvent } from '../../../../src/streams/ports.js';
import { testScheduler } from '../../helpers.js';
import { type FakeSocket, backend, config, listener, pool } from '../../fixtures.js';
import { c1, c2, c3, datagram, fakeUdp, listening, runUdp, text } from './fake-udp.js';

/** A UDP listener `dns` on 127.0.0.1:7070 in front of pool `web` (two backends), and pool `other` (one). */
function udpConfig(l: Partial<ListenerConfig> = {}): Config {
  const dns = listener({ name: 'dns', protocol: 'udp', sessionTimeoutMs: 300, ...l });
  return config([pool([backend('10.0.0.1:53'), backend('10.0.0.2:53')]), pool([backend('10.0.1.1:53')], { name: 'other' })], [dns]);
}

/** An event as text, with its frame, and the listener and pool it is counted under. */
function describeEvent(at: number, e: BalancerEvent): string {
  switch (e.type) {
    case 'listening':
      return `${at} listening ${e.listener.name} ${e.address}`;
    case 'conn-opened':
      return `${at} opened ${e.client} on ${e.listener}`;
    case 'conn-attempt':
      return `${at} attempt ${e.client} -> ${e.pool}/${e.backend} #${e.attempt}`;
    case 'conn-connected':
      return `${at} answered ${e.client} <- ${e.backend}`;
    case 'conn-failed':
      return `${at} failed ${e.client} -> ${e.backend} ${e.reason}`;
    case 'conn-closed':
      return `${at} closed ${e.client} on ${e.listener} ${e.pool}/${e.backend} ${e.reason} up ${e.datagrams?.up} down ${e.datagrams?.down}`;
    case 'udp-dropped':
      return `${at} dropped ${e.reason} ${e.datagrams}`;
    case 'reloaded':
      return `${at} reloaded ${e.changes.map((c) => ('fields' in c ? `${c.kind} ${c.change} ${c.fields.join(',')}` : `${c.kind} ${c.change}`)).join('; ')}`;
    default:
      return `${at} ${e.type}`;
  }
}

/** One cold upstream per backend, ready at once, answering once after 5 frames: its subscriptions are the sessions' sockets. */
function upstreams(cold: RunHelpers['cold'], addresses: readonly string[]) {
  return Object.fromEntries(
    addresses.map((address) => [address, cold<UdpUpstreamEvent<FakeSocket>>('r 4ms e', { r: { type: 'ready', socket: { id: `up:${address}` } }, e: { type: 'reply', data: Buffer.from('a') } })]),
  );
}

/** The upstream socket each forwarded datagram went out on, with the datagram. */
const forwards = (udp: ReturnType<typeof fakeUdp>): string[] => udp.forward.mock.calls.map(([up, data]) => `${up.id} ${text(data)}`);

describe('UDP listeners across a reload that keeps their socket', () => {
  it('keep their sessions and sockets when only session_timeout changes, and judge them by the new one from the next sweep', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof runUdp> | undefined;
    const before = udpConfig();
    const after = udpConfig({ sessionTimeoutMs: 100 });
    const udp = rx.run(({ cold, hot, expectSubscriptions }) => {
      const ups = upstreams(cold, ['10.0.0.1:53', '10.0.0.2:53']);
      const listen = hot('l-a-b 175ms b 29ms b', { l: listening(before), a: datagram(c1, 'q1'), b: datagram(c2, 'q2') });
      const io = fakeUdp(listen, (address) => ups[address]!);
      seen = runUdp(cold('c 199ms d', { c: before, d: after }), io, hot('500ms s'), () => rx.now(), describeEvent);
      // the one socket throughout; each session's upstream socket from its first datagram to its end
      expectSubscriptions(listen.subscriptions).toBe('^ 499ms !');
      expectSubscriptions(ups['10.0.0.1:53']!.subscriptions).toBe('--^ 247ms !');
      expectSubscriptions(ups['10.0.0.2:53']!.subscriptions).toBe('----^ 345ms !');
      return io;
    });
    expect(seen!.events).toEqual([
      '0 listening dns 127.0.0.1:5353',
      '2 opened 192.0.2.1:1111 on dns',
      '2 attempt 192.0.2.1:1111 -> web/10.0.0.1:53 #1',
      '4 opened 192.0.2.2:2222 on dns',
      '4 attempt 192.0.2.2:2222 -> web/10.0.0.2:53 #1',
      '7 answered 192.0.2.1:1111 <- 10.0.0.1:53',
      '9 answered 192.0.2.2:2222 <- 10.0.0.2:53',
      // nothing ends at the reload
      '200 reloaded listener changed session_timeout',
      // sweeps every 50 from 200: c1, idle since 7, is past the new timeout at the first one
      '250 closed 192.0.2.1:1111 on dns web/10.0.0.1:53 idle_timeout up 1 down 1',
      // c2, last heard at 210, is idle for 100 by 310, and ends at the sweep after
      '350 closed 192.0.2.2:2222 on dns web/10.0.0.2:53 idle_timeout up 3 down 1',
      '500 done',
    ]);
    // the datagram after the reload goes out on the session's own socket, as before it
    expect(forwards(udp)).toEqual(['up:10.0.0.1:53 q1', 'up:10.0.0.2:53 q2', 'up:10.0.0.2:53 q2', 'up:10.0.0.2:53 q2']);
    expect(udp.listen$).toHaveBeenCalledTimes(1);
  });

  it('turn new clients away under a lowered max_sessions until there are fewer sessions, and cut none', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof runUdp> | undefined;
    const before = udpConfig();
    const after = udpConfig({ maxSessions: 1 });
    rx.run(({ cold, hot, expectSubscriptions }) => {
      const ups = upstreams(cold, ['10.0.0.1:53', '10.0.0.2:53']);
      // c3 at 30 (two sessions), at 500 (one: c1, kept alive at 300), at 610 (none)
      const listen = hot('l-a-b 25ms c 269ms a 199ms c 109ms c', { l: listening(before), a: datagram(c1, 'q1'), b: datagram(c2, 'q2'), c: datagram(c3, 'q3') });
      const io = fakeUdp(listen, (address) => ups[address]!);
      seen = runUdp(cold('c 19ms d', { c: before, d: after }), io, hot('700ms s'), () => rx.now(), describeEvent);
      expectSubscriptions(ups['10.0.0.1:53']!.subscriptions).toBe(['--^ 597ms !', '610ms ^ 89ms !']);
      expectSubscriptions(ups['10.0.0.2:53']!.subscriptions).toBe('----^ 445ms !');
    });
    expect(seen!.events.slice(7)).toEqual([
      '20 reloaded listener changed max_sessions',
      '150 dropped limit 1',
      '450 closed 192.0.2.2:2222 on dns web/10.0.0.2:53 idle_timeout up 1 down 1',
      '600 closed 192.0.2.1:1111 on dns web/10.0.0.1:53 idle_timeout up 2 down 1',
      '600 dropped limit 1',
      '610 opened 192.0.2.3:3333 on dns',
      '610 attempt 192.0.2.3:3333 -> web/10.0.0.1:53 #1',
      '615 answered 192.0.2.3:3333 <- 10.0.0.1:53',
      '700 closed 192.0.2.3:3333 on dns web/10.0.0.1:53 shutdown up 1 down 1',
      '700 done',
    ]);
  });

  it('keep a session on its backend when the pool changes; new sessions, and a session whose backend failed, pick from the new pool', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof runUdp> | undefined;
    const before = udpConfig();
    const after = udpConfig({ pool: 'other' });
    const udp = rx.run(({ cold, hot, expectSubscriptions }) => {
      const ups = upstreams(cold, ['10.0.0.1:53', '10.0.1.1:53']);
      // c2's backend answers, then refuses (a port-unreachable) after the reload
      const dying = cold<UdpUpstreamEvent<FakeSocket>>(
        'r 4ms e 34ms #',
        { r: { type: 'ready', socket: { id: 'up:10.0.0.2:53' } }, e: { type: 'reply', data: Buffer.from('a') } },
        new UpstreamConnectError('10.0.0.2:53', 'refused'),
      );
      const io = fakeUdp(
        hot('l-a-b 25ms a 9ms c 9ms b', { l: listening(before), a: datagram(c1, 'q1'), b: datagram(c2, 'q2'), c: datagram(c3, 'q3') }),
        (address) => (address === '10.0.0.2:53' ? dying : ups[address]!),
      );
      seen = runUdp(cold('c 19ms d', { c: before, d: after }), io, hot('100ms s'), () => rx.now(), describeEvent);
      expectSubscriptions(ups['10.0.0.1:53']!.subscriptions).toBe('--^ 97ms !');
      expectSubscriptions(dying.subscriptions).toBe('----^ 39ms !');
      expectSubscriptions(ups['10.0.1.1:53']!.subscriptions).toBe(['40ms ^ 59ms !', '50ms ^ 49ms !']);
      return io;
    });
    expect(seen!.events.slice(7)).toEqual([
      '20 reloaded listener changed pool',
      // c3 is new: the new pool
      '40 opened 192.0.2.3:3333 on dns',
      '40 attempt 192.0.2.3:3333 -> other/10.0.1.1:53 #1',
      '44 failed 192.0.2.2:2222 -> 10.0.0.2:53 refused',
      '45 answered 192.0.2.3:3333 <- 10.0.1.1:53',
      // c2 lost its backend: its next datagram picks from the new pool
      '50 attempt 192.0.2.2:2222 -> other/10.0.1.1:53 #2',
      '55 answered 192.0.2.2:2222 <- 10.0.1.1:53',
      // c1 stayed on its backend in the old pool, and is counted there to its end
      '100 closed 192.0.2.3:3333 on dns other/10.0.1.1:53 shutdown up 1 down 1',
      '100 closed 192.0.2.1:1111 on dns web/10.0.0.1:53 shutdown up 2 down 1',
      '100 closed 192.0.2.2:2222 on dns other/10.0.1.1:53 shutdown up 2 down 2',
      '100 done',
    ]);
    expect(forwards(udp)).toEqual(['up:10.0.0.1:53 q1', 'up:10.0.0.2:53 q2', 'up:10.0.0.1:53 q1', 'up:10.0.1.1:53 q3', 'up:10.0.1.1:53 q2']);
  });

  it('keep sessions under the name they were opened under through a rename; new sessions, and `listening`, take the new name', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof runUdp> | undefined;
    const before = udpConfig();
    const after = udpConfig({ name: 'resolver' });
    rx.run(({ cold, hot, expectSubscriptions }) => {
      const ups = upstreams(cold, ['10.0.0.1:53', '10.0.0.2:53']);
      const io = fakeUdp(hot('l-a 27ms b', { l: listening(before), a: datagram(c1, 'q1'), b: datagram(c2, 'q2') }), (address) => ups[address]!);
      seen = runUdp(cold('c 19ms d', { c: before, d: after }), io, hot('100ms s'), () => rx.now(), describeEvent);
      expectSubscriptions(ups['10.0.0.1:53']!.subscriptions).toBe('--^ 97ms !');
    });
    expect(seen!.events).toEqual([
      '0 listening dns 127.0.0.1:5353',
      '2 opened 192.0.2.1:1111 on dns',
      '2 attempt 192.0.2.1:1111 -> web/10.0.0.1:53 #1',
      '7 answered 192.0.2.1:1111 <- 10.0.0.1:53',
      '20 reloaded listener removed; listener added',
      '20 listening resolver 127.0.0.1:5353',
      '30 opened 192.0.2.2:2222 on resolver',
      '30 attempt 192.0.2.2:2222 -> web/10.0.0.2:53 #1',
      '35 answered 192.0.2.2:2222 <- 10.0.0.2:53',
      '100 closed 192.0.2.1:1111 on dns web/10.0.0.1:53 shutdown up 1 down 1',
      '100 closed 192.0.2.2:2222 on resolver web/10.0.0.2:53 shutdown up 1 down 1',
      '100 done',
    ]);
    // each session counted under one listener: the old name stays, removed, while its session lasts
    const both = seen!.states.find((s) => s.listeners.resolver?.active === 1)!;
    expect(both.listeners.dns).toMatchObject({ active: 1, removed: true });
    expect(both.listeners.resolver).toMatchObject({ active: 1, address: '127.0.0.1:5353', removed: false });
    const last = seen!.states.at(-1)!;
    expect(Object.keys(last.listeners)).toEqual(['resolver']);
    expect(last.active).toBe(0);
  });
});

describe('UDP listeners across a reload that moves their socket', () => {
  it('end their sessions with `shutdown` when the bind changes; the new socket starts afresh', () => {
    const rx = testScheduler();
    let seen: ReturnType<typeof runUdp> | undefined;
    const before = udpConfig();
    const after = udpConfig({ bind: { host: '127.0.0.1', port: 7071 } });
    rx.run(({ cold, hot, expectSubscriptions }) => {
      const ups = upstreams(cold, ['10.0.0.1:53', '10.0.0.2:53']);
      const old = hot('l-a', { l: listening(before), a: datagram(c1, 'q1') });
      const moved = hot('21ms l 9ms a', { l: listening(after, '127.0.0.1:7071'), a: datagram(c1, 'q1') });
      const listens: Record<number, Observable<UdpListenEvent<FakeSocket>>> = { 7070: old, 7071: moved };
      const io = fakeUdp((l) => listens[l.bind.port]!, (address) => ups[address]!);
      seen = runUdp(cold('c 19ms d', { c: before, d: after }), io, hot('100ms s'), () => rx.now(), describeEvent);
      // the new socket is bound at 21: the reload takes effect then
      expectSubscriptions(old.subscriptions).toBe('^ 20ms !');
      expectSubscriptions(moved.subscriptions).toBe('20ms ^ 79ms !');
      expectSubscriptions(ups['10.0.0.1:53']!.subscriptions).toBe('--^ 18ms !');
      expectSubscriptions(ups['10.0.0.2:53']!.subscriptions).toBe('31ms ^ 68ms !');
    });
    expect(seen!.events).toEqual([
      '0 listening dns 127.0.0.1:5353',
      '2 opened 192.0.2.1:1111 on dns',
      '2 attempt 192.0.2.1:1111 -> web/10.0.0.1:53 #1',
      '7 answered 192.0.2.1:1111 <- 10.0.0.1:53',
      '21 reloaded listener rebound',
      '21 listening dns 127.0.0.1:7071',
      '21 closed 192.0.2.1:1111 on dns web/10.0.0.1:53 shutdown up 1 down 1',
      '31 opened 192.0.2.1:1111 on dns',
      '31 attempt 192.0.2.1:1111 -> web/10.0.0.2:53 #1',
      '36 answered 192.0.2.1:1111 <- 10.0.0.2:53',
      '100 closed 192.0.2.1:1111 on dns web/10.0.0.2:53 shutdown up 1 down 1',
      '100 done',
    ]);
  });
});
