import { type Observable, NEVER, filter, merge, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ListenerConfig } from '../../../src/config/types.js';
import { type BalancerEvent, createBalancer } from '../../../src/streams/balancer.js';
import type { ListenEvent } from '../../../src/streams/ports.js';
import type { BalancerState } from '../../../src/streams/state/backend-state.js';
import type { BadHeader } from '../../../src/streams/state/events.js';
import { testScheduler } from '../helpers.js';
import { type FakeSocket, backend, config, fakeIo, listener, pool } from '../fixtures.js';

const GARBAGE = Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'latin1');

function accepted(l: ListenerConfig, id: string, port: number): ListenEvent<FakeSocket> {
  return { type: 'accepted', accepted: { listener: l, socket: { id }, client: { address: '192.0.2.7', port } } };
}

describe('createBalancer with a listener that accepts PROXY headers', () => {
  it('warns of bad headers at once, then at most once a minute per listener with a count, and counts every one as rejected', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const cfg = config([pool([backend('10.0.0.1:80')])], [listener({ proxyProtocol: 'accept' })]);
      const l = cfg.listeners[0]!;
      const accepts = hot<ListenEvent<FakeSocket>>('-abc 70s d', { a: accepted(l, 'c1', 1), b: accepted(l, 'c2', 2), c: accepted(l, 'c3', 3), d: accepted(l, 'c4', 4) });
      const connect = cold<FakeSocket>('(u|)', { u: { id: 'up' } });
      const io = {
        ...fakeIo({ connect: () => connect, preread: () => cold('a', { a: GARBAGE }) }),
        listen$: (listening: ListenerConfig): Observable<ListenEvent<FakeSocket>> => merge(of<ListenEvent<FakeSocket>>({ type: 'listening', listener: listening, address: '127.0.0.1:7070' }), accepts),
      };
      const balancer = createBalancer({ config$: cold('c', { c: cfg }), stop$: NEVER }, { io, now: () => rx.now() });
      let latest: BalancerState | undefined;
      balancer.state$.subscribe((s) => (latest = s));
      const detail = 'not a PROXY header: the client sent "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03" first; does the balancer in front send one?';
      const warning = (peer: string, count: number): BadHeader => ({ type: 'bad-header', listener: 'front', peer, detail, count });
      const warnings = balancer.events$.pipe(filter((e: BalancerEvent): e is BadHeader => e.type === 'bad-header'));
      // 1: the first at once; 60,001: the two after it in that minute; 120,001: the one at 70,004
      expectObservable(warnings, '^ 200s !').toBe('-a 59999ms b 59999ms c', {
        a: warning('192.0.2.7:1', 1),
        b: warning('192.0.2.7:3', 2),
        c: warning('192.0.2.7:4', 1),
      });
      rx.flush();
      expect(latest?.listeners.front?.rejected.bad_header).toBe(4);
      expect(connect.subscriptions).toEqual([]);
    });
  });
});
