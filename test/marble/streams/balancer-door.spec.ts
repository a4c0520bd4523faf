import { type Observable, NEVER, filter, map, merge, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ListenerConfig } from '../../../src/config/types.js';
import { type BalancerEvent, createBalancer } from '../../../src/streams/balancer.js';
import { addressList } from '../../../src/streams/door/cidr.js';
import type { ListenEvent } from '../../../src/streams/ports.js';
import type { BalancerState } from '../../../src/streams/state/backend-state.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../fixtures.js';
import { testScheduler } from '../helpers.js';

const edge = listener({ name: 'edge', connectionRatePerClient: { count: 1, perMs: 1000 }, deny: addressList(['10.9.0.0/16']) });
const cfg = config([pool([backend('10.0.0.1:80')])], [edge]);

const accepted = (address: string, port: number): ListenEvent<FakeSocket> => ({ type: 'accepted', accepted: { listener: edge, socket: { id: `${address}:${port}` }, client: { address, port } } });
const bound = (accepts: Observable<ListenEvent<FakeSocket>>) => (l: ListenerConfig): Observable<ListenEvent<FakeSocket>> =>
  merge(of<ListenEvent<FakeSocket>>({ type: 'listening', listener: l, address: '127.0.0.1:7070' }), accepts);

describe('createBalancer at the door', () => {
  it('counts refused clients per listener and reason, and warns of rate-limited ones once a minute per listener', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      // a, b: one client, 2 ms apart (b over the rate); c, z: another client 30 s in (z over
      // the rate); e, f: the first client again at 61 s (f over the rate)
      const accepts = hot<ListenEvent<FakeSocket>>('-a 1ms b 29998ms (cz) 30996ms (ef)', {
        a: accepted('192.0.2.1', 1),
        b: accepted('192.0.2.1', 2),
        c: accepted('192.0.2.2', 3),
        z: accepted('192.0.2.2', 4),
        e: accepted('192.0.2.1', 5),
        f: accepted('192.0.2.1', 6),
      });
      const io = { ...fakeIo({ connect: () => cold('(u|)', { u: { id: 'up' } }) }), listen$: bound(accepts) };
      const balancer = createBalancer({ config$: cold('c', { c: cfg }), stop$: NEVER }, { io, now: () => rx.now() });
      const warnings = balancer.events$.pipe(
        filter((e: BalancerEvent) => e.type === 'rate-limited'),
        map((e) => (e.type === 'rate-limited' ? `${e.client} x${e.count}` : '')),
      );
      // the first at once (b, at 3 ms); z, another client at 30 s, is counted into the window
      // that ends at 60,003 ms; f at 61 s into the next one, which ends at 120,003 ms
      expectObservable(warnings, '^ 130s !').toBe('---a 59999ms b 59999ms c', { a: '192.0.2.1:2 x1', b: '192.0.2.2:4 x1', c: '192.0.2.1:6 x1' });
    });
  });

  it('counts a denied client and a rate-limited one in the listener state', () => {
    const rx = testScheduler();
    let latest: BalancerState | undefined;
    rx.run(({ cold, hot }) => {
      const accepts = hot<ListenEvent<FakeSocket>>('-abcd', { a: accepted('10.9.0.1', 1), b: accepted('192.0.2.1', 2), c: accepted('192.0.2.1', 3), d: accepted('10.9.0.2', 4) });
      const io = { ...fakeIo({ connect: () => cold('(u|)', { u: { id: 'up' } }) }), listen$: bound(accepts) };
      const balancer = createBalancer({ config$: cold('c', { c: cfg }), stop$: NEVER }, { io, now: () => rx.now() });
      balancer.state$.subscribe((s) => (latest = s));
      balancer.events$.subscribe();
    });
    expect(latest?.listeners.edge?.rejected).toMatchObject({ denied: 2, rate_limit: 1, limit: 0, no_backend: 0 });
    expect(latest?.listeners.edge?.active).toBe(0); // the one let in was idle for 10 minutes of virtual time
  });
});
