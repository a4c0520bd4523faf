import { type Observable, filter, interval, map, merge, scan, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ClientAddress } from '../../../../src/operators/policies/types.js';
import { addressList } from '../../../../src/streams/door/cidr.js';
import {
  MAX_PENDING,
  type SessionEffect,
  type SessionInput,
  type SessionSettings,
  type SessionStep,
  type SessionTable,
  emptySessionTable,
  fold,
  reduceSessions,
  sweepIntervalMs,
} from '../../../../src/streams/udp/sessions.js';
import { testScheduler } from '../../helpers.js';

const settings: SessionSettings = { listener: 'dns', pool: 'resolvers', allow: undefined, deny: undefined, routes: [], timeoutMs: 300, maxSessions: 0 };
const A: ClientAddress = { address: '10.0.0.1', port: 5001 };
const B: ClientAddress = { address: '10.0.0.2', port: 5002 };
const key = (c: ClientAddress): string => `${c.address}:${c.port}`;
const bytes = (text: string): Uint8Array => Buffer.from(text);
const target = (address: string) => {
  const [host = '', port = '0'] = address.split(':');
  return { address, host, port: Number(port) };
};

/** Inputs as functions of the time they arrive, so a diagram need not repeat its frames. */
type At = (at: number) => SessionInput;
const datagram = (c: ClientAddress, text: string, room = true): At => (at) => ({ type: 'datagram', key: key(c), client: c, data: bytes(text), at, room });
const picked = (c: ClientAddress, session: number, backend: string): At => () => ({ type: 'picked', key: key(c), session, backend: target(backend) });
const unpicked = (c: ClientAddress, session: number): At => () => ({ type: 'unpicked', key: key(c), session, reason: 'no_backend' });
const ready = (c: ClientAddress, upstream: number): At => () => ({ type: 'ready', key: key(c), upstream });
const reply = (c: ClientAddress, upstream: number, text: string): At => (at) => ({ type: 'reply', key: key(c), upstream, data: bytes(text), at });
const failed = (c: ClientAddress, upstream: number): At => () => ({ type: 'upstream-error', key: key(c), upstream, reason: 'refused' });
const shutdown: At = (at) => ({ type: 'shutdown', at });
const tick: At = (at) => ({ type: 'tick', at });
const reloaded = (changed: Partial<SessionSettings>): At => () => ({ type: 'settings', settings: { ...settings, ...changed } });
/** Inputs at the times given, one after the other; the effects are the last step's. */
const at = (time: number, input: At): At => () => input(time);

/** One effect as text: what a diagram compares. */
function describeEffect(effect: SessionEffect): string {
  switch (effect.type) {
    case 'pick':
      return `pick ${effect.key}${effect.tried.length > 0 ? ` avoiding ${effect.tried.join(',')}` : ''}`;
    case 'connect':
      return `connect#${effect.upstream} ${effect.backend.address}`;
    case 'forward':
      return `forward#${effect.upstream} ${Buffer.from(effect.data).toString()}`;
    case 'reply':
      return `reply ${key(effect.client)} ${Buffer.from(effect.data).toString()}`;
    case 'disconnect':
      return `disconnect#${effect.upstream}`;
    case 'emit': {
      const e = effect.event;
      switch (e.type) {
        case 'conn-opened':
          return `opened ${e.client}`;
        case 'conn-attempt':
          return `attempt ${e.backend} #${e.attempt}`;
        case 'conn-connected':
          return `answered ${e.backend}`;
        case 'conn-failed':
          return `failed ${e.backend} ${e.reason}`;
        case 'conn-closed':
          return `closed ${e.client} ${e.reason} ${e.backend ?? '-'} up ${e.datagrams?.up}/${e.bytesUp} down ${e.datagrams?.down}/${e.bytesDown} after ${e.durationMs}`;
        case 'udp-dropped':
          return `dropped ${e.reason} ${e.datagrams}/${e.bytes}`;
      }
    }
  }
  return '?';
}

/**
 * The table in virtual time: the inputs and the sweep (`interval`, as the listener
 * runs it) scanned through the reducer; each step's effects joined into one value.
 */
function sessions(inputs: Observable<At>, now: () => number, options: Partial<SessionSettings> = {}): Observable<string> {
  const s = { ...settings, ...options };
  // Bounded: an endless interval would keep the virtual clock running forever.
  const every = sweepIntervalMs(s.timeoutMs);
  const ticks = interval(every).pipe(
    take(Math.ceil(2000 / every)),
    map((): At => (at) => ({ type: 'tick', at })),
  );
  return merge(inputs, ticks).pipe(
    scan((step: SessionStep, input: At) => reduceSessions(step.table, input(now())), { table: emptySessionTable(s), effects: [] }),
    filter((step) => step.effects.length > 0),
    map((step) => step.effects.map(describeEffect).join(' | ')),
  );
}

/** Client A's first datagram, its backend picked, its socket ready: at frames 0, 1 and 2. */
const OPEN = { a: datagram(A, 'q1'), b: picked(A, 1, '10.9.0.1:53'), c: ready(A, 2) };
const OPENED = {
  a: 'pick 10.0.0.1:5001',
  b: 'opened 10.0.0.1:5001 | attempt 10.9.0.1:53 #1 | connect#2 10.9.0.1:53',
  c: 'forward#2 q1',
};

describe('reduceSessions', () => {
  it('opens a session on a new client, picks, connects, then forwards what waited', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const inputs = hot<At>('a b c d', { a: datagram(A, 'q1'), b: picked(A, 1, '10.9.0.1:53'), c: ready(A, 2), d: reply(A, 2, 'r1') });
      expectObservable(sessions(inputs, () => rx.now()), '^ 100ms !').toBe('a b c d', {
        a: 'pick 10.0.0.1:5001',
        b: 'opened 10.0.0.1:5001 | attempt 10.9.0.1:53 #1 | connect#2 10.9.0.1:53',
        c: 'forward#2 q1',
        d: 'answered 10.9.0.1:53 | reply 10.0.0.1:5001 r1',
      });
    });
  });

  it('sends datagrams that arrive before the socket is ready once it is, in order', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const inputs = hot<At>('a b c d e', { a: datagram(A, 'q1'), b: datagram(A, 'q2'), c: picked(A, 1, '10.9.0.1:53'), d: datagram(A, 'q3'), e: ready(A, 2) });
      expectObservable(sessions(inputs, () => rx.now()), '^ 100ms !').toBe('a - c - e', {
        a: 'pick 10.0.0.1:5001',
        c: 'opened 10.0.0.1:5001 | attempt 10.9.0.1:53 #1 | connect#2 10.9.0.1:53',
        e: 'forward#2 q1 | forward#2 q2 | forward#2 q3',
      });
    });
  });

  it('ends a session at the first sweep after session_timeout with no datagram either way', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      // timeout 300, sweep every 150: last datagram at 3, idle for 300 at 303, swept at 450
      const inputs = hot<At>('abc d', { ...OPEN, d: reply(A, 2, 'r1') });
      expectObservable(sessions(inputs, () => rx.now())).toBe('abc d 446ms x', {
        ...OPENED,
        d: 'answered 10.9.0.1:53 | reply 10.0.0.1:5001 r1',
        x: 'disconnect#2 | closed 10.0.0.1:5001 idle_timeout 10.9.0.1:53 up 1/2 down 1/2 after 450',
      });
    });
  });

  it('is kept open by traffic either way: a reply refreshes it as a datagram does', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      // datagrams at 0 and 200, a reply at 400: idle from 400, swept at 750 (the first sweep at or after 700)
      const inputs = hot<At>('abc 197ms d 199ms e', {
        a: datagram(A, 'q1'),
        b: picked(A, 1, '10.9.0.1:53'),
        c: ready(A, 2),
        d: datagram(A, 'q2'),
        e: reply(A, 2, 'r2'),
      });
      expectObservable(sessions(inputs, () => rx.now())).toBe('abc 197ms d 199ms e 349ms x', {
        ...OPENED,
        d: 'forward#2 q2',
        e: 'answered 10.9.0.1:53 | reply 10.0.0.1:5001 r2',
        x: 'disconnect#2 | closed 10.0.0.1:5001 idle_timeout 10.9.0.1:53 up 2/4 down 1/2 after 750',
      });
    });
  });

  it('at max_sessions drops new clients and counts them, while existing sessions carry on', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const inputs = hot<At>('abc d e 455ms f', {
        ...OPEN,
        d: datagram(B, 'lost'),
        e: datagram(A, 'q2'),
        f: datagram(B, 'back'),
      });
      // B is dropped at 3 and reported at the next sweep (150), once; A is swept at 450; then B gets in
      expectObservable(sessions(inputs, () => rx.now(), { maxSessions: 1 })).toBe('abc - e 145ms r 299ms x 9ms f', {
        ...OPENED,
        e: 'forward#2 q2',
        r: 'dropped limit 1/4',
        x: 'disconnect#2 | closed 10.0.0.1:5001 idle_timeout 10.9.0.1:53 up 2/4 down 0/0 after 450',
        f: 'pick 10.0.0.2:5002',
      });
    });
  });

  it('counts a new client as over the limit when the process or listener is at max_connections', () => {
    const next = step(emptySessionTable(settings), datagram(A, 'q1', false), () => ({ type: 'tick', at: 1 }));
    expect(next.effects.map(describeEffect)).toEqual(['dropped limit 1/2']);
    expect(next.table.sessions.size).toBe(0);
  });

  it('after an upstream error reports a failed attempt, closes the socket, and picks another backend on the next datagram', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const inputs = hot<At>('abc d e f g h', {
        ...OPEN,
        d: failed(A, 2), // port unreachable
        e: datagram(A, 'q2'),
        f: picked(A, 1, '10.9.0.2:53'),
        g: ready(A, 3),
        h: reply(A, 3, 'r2'),
      });
      // and then it lives on, on its new backend, until it is idle
      expectObservable(sessions(inputs, () => rx.now())).toBe('abc d e f g h 442ms x', {
        ...OPENED,
        d: 'failed 10.9.0.1:53 refused | disconnect#2',
        e: 'pick 10.0.0.1:5001 avoiding 10.9.0.1:53',
        f: 'attempt 10.9.0.2:53 #2 | connect#3 10.9.0.2:53',
        g: 'forward#3 q2',
        h: 'answered 10.9.0.2:53 | reply 10.0.0.1:5001 r2',
        x: 'disconnect#3 | closed 10.0.0.1:5001 idle_timeout 10.9.0.2:53 up 2/4 down 1/2 after 450',
      });
    });
  });

  it('leaves no session for a new client no backend could be picked for, and counts its datagrams', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const inputs = hot<At>('a b c d', { a: datagram(A, 'q1'), b: unpicked(A, 1), c: datagram(A, 'q2'), d: unpicked(A, 2) });
      expectObservable(sessions(inputs, () => rx.now())).toBe('a - c 147ms r', {
        a: 'pick 10.0.0.1:5001',
        c: 'pick 10.0.0.1:5001',
        r: 'dropped no_backend 2/4',
      });
    });
  });

  it('on shutdown ends every session with `shutdown`; a client still waiting for its first backend leaves no record', () => {
    const rx = testScheduler();
    rx.run(({ hot, expectObservable }) => {
      const inputs = hot<At>('abc d 5ms s t', { ...OPEN, d: datagram(B, 'q1'), s: shutdown, t: datagram(A, 'late') });
      expectObservable(sessions(inputs, () => rx.now())).toBe('abc d 5ms s', {
        ...OPENED,
        d: 'pick 10.0.0.2:5002',
        s: 'disconnect#2 | closed 10.0.0.1:5001 shutdown 10.9.0.1:53 up 1/2 down 0/0 after 9',
      });
    });
  });

  it('ignores answers meant for a session or socket that is gone', () => {
    const opened = step(emptySessionTable(settings), datagram(A, 'q1'), picked(A, 1, '10.9.0.1:53'), ready(A, 2));
    for (const stray of [ready(A, 99), reply(A, 99, 'stray'), failed(A, 99), picked(A, 7, '10.9.0.2:53'), unpicked(A, 7), reply(B, 2, 'stray')]) {
      const next = step(opened.table, stray);
      expect(next.effects).toEqual([]);
      expect(next.table).toBe(opened.table);
    }
  });

  it(`holds at most ${MAX_PENDING} datagrams while connecting, dropping the rest as backlog`, () => {
    let table = step(emptySessionTable(settings), datagram(A, 'q')).table;
    for (let i = 1; i < MAX_PENDING + 3; i += 1) table = step(table, datagram(A, 'q')).table;
    const flushed = step(table, picked(A, 1, '10.9.0.1:53'), ready(A, 2));
    expect(flushed.effects.filter((e) => e.type === 'forward')).toHaveLength(MAX_PENDING);
    expect(step(flushed.table, () => ({ type: 'tick', at: 1 })).effects.map(describeEffect)).toEqual(['dropped backlog 3/3']);
  });

  it('folds traffic into the sessions: counts and last activity, exactly', () => {
    let table = step(emptySessionTable(settings), datagram(A, 'q1'), picked(A, 1, '10.9.0.1:53'), ready(A, 2)).table;
    for (let i = 0; i < 10_000; i += 1) {
      table = reduceSessions(table, { type: 'datagram', key: key(A), client: A, data: bytes('xy'), at: i, room: true }).table;
      table = reduceSessions(table, { type: 'reply', key: key(A), upstream: 2, data: bytes('xyz'), at: i + 1 }).table;
    }
    const session = fold(table).sessions.get(key(A));
    expect(session).toMatchObject({ datagramsUp: 10_001, bytesUp: 20_002, datagramsDown: 10_000, bytesDown: 30_000, lastActiveAt: 10_000 });
  });

  it('sweeps every half timeout, at most every second', () => {
    expect([1, 2, 300, 2000, 60_000].map(sweepIntervalMs)).toEqual([1, 1, 150, 1000, 1000]);
  });
});

describe('reduceSessions: settings from a reload', () => {
  // A open on 10.9.0.1:53 (upstream 2) from 0, B on 10.9.0.2:53 (upstream 4) from 10.
  const twoOpen = (): SessionStep =>
    step(
      emptySessionTable(settings),
      datagram(A, 'q1'),
      picked(A, 1, '10.9.0.1:53'),
      ready(A, 2),
      at(10, datagram(B, 'q2')),
      picked(B, 3, '10.9.0.2:53'),
      ready(B, 4),
    );

  it('replaces the settings and touches no session: nothing to do at once', () => {
    const before = twoOpen().table;
    const after = step(before, reloaded({ timeoutMs: 100, maxSessions: 1, listener: 'resolver', pool: 'other' }));
    expect(after.effects).toEqual([]);
    expect(after.table.settings).toEqual({ ...settings, listener: 'resolver', pool: 'other', timeoutMs: 100, maxSessions: 1 });
    expect(after.table.sessions).toBe(before.sessions);
  });

  it('judges every session by a shortened timeout at the next sweep: one idle for longer ends, `idle_timeout`', () => {
    const shortened = step(twoOpen(), at(150, tick), at(200, reloaded({ timeoutMs: 195 })));
    expect(shortened.table.sessions.size).toBe(2);
    // at 200, A has been idle for 200 and B for 190: the sweep at 200 ends A alone
    expect(step(shortened, at(200, tick)).effects.map(describeEffect)).toEqual(['disconnect#2', 'closed 10.0.0.1:5001 idle_timeout 10.9.0.1:53 up 1/2 down 0/0 after 200']);
    // with the old timeout, that sweep would end neither
    expect(step(twoOpen(), at(200, tick)).effects).toEqual([]);
  });

  it('under a lowered max_sessions turns new clients away until there are fewer sessions, and cuts none', () => {
    const C: ClientAddress = { address: '10.0.0.3', port: 5003 };
    const lowered = step(twoOpen(), reloaded({ maxSessions: 1 }));
    const full = step(lowered, at(20, datagram(C, 'q3')), at(21, datagram(A, 'q4')));
    expect(full.effects.map(describeEffect)).toEqual(['forward#2 q4']);
    expect(full.table.sessions.size).toBe(2);
    // B ends (idle from 10): one session left, still not under 1
    const swept = step(full, at(310, tick));
    expect(swept.effects.map(describeEffect)).toEqual(['disconnect#4', 'closed 10.0.0.2:5002 idle_timeout 10.9.0.2:53 up 1/2 down 0/0 after 300', 'dropped limit 1/2']);
    const one = step(swept, at(311, datagram(C, 'q5')));
    expect(one.effects).toEqual([]);
    expect(one.table.sessions.size).toBe(1);
    // A ends (idle from 21): now C gets in
    const none = step(one, at(321, tick));
    expect(none.effects.map(describeEffect)).toEqual(['disconnect#2', 'closed 10.0.0.1:5001 idle_timeout 10.9.0.1:53 up 2/4 down 0/0 after 321', 'dropped limit 1/2']);
    expect(step(none, at(322, datagram(C, 'q6'))).effects.map(describeEffect)).toEqual(['pick 10.0.0.3:5003']);
  });

  it('records an open session under the name and pool it had; a new one under the new', () => {
    const renamed = step(twoOpen(), reloaded({ listener: 'resolver', pool: 'other' }), at(20, datagram({ address: '10.0.0.3', port: 5003 }, 'q3')));
    expect(renamed.effects).toEqual([{ type: 'pick', key: '10.0.0.3:5003', session: 5, pool: 'other', client: { address: '10.0.0.3', port: 5003 }, tried: [] }]);
    const opened = step(renamed, () => ({ type: 'picked', key: '10.0.0.3:5003', session: 5, backend: target('10.9.1.1:53') }));
    const emitted = (s: SessionStep) => s.effects.flatMap((e) => (e.type === 'emit' ? [e.event] : []));
    expect(emitted(opened)).toEqual([
      { type: 'conn-opened', listener: 'resolver', client: '10.0.0.3:5003' },
      { type: 'conn-attempt', listener: 'resolver', pool: 'other', client: '10.0.0.3:5003', backend: '10.9.1.1:53', attempt: 1 },
    ]);
    // A answered and ended under the old name and pool, as it began
    const answered = step(opened, reply(A, 2, 'r1'));
    expect(emitted(answered)).toEqual([{ type: 'conn-connected', listener: 'dns', pool: 'resolvers', client: key(A), backend: '10.9.0.1:53', attempt: 1 }]);
    const closed = emitted(step(answered, at(40, shutdown))).map((e) => (e.type === 'conn-closed' ? `${e.client} ${e.listener} ${e.pool}` : e.type));
    expect(closed.sort()).toEqual(['10.0.0.1:5001 dns resolvers', '10.0.0.2:5002 dns resolvers', '10.0.0.3:5003 resolver other']);
  });

  it('sends a session whose backend failed to the new pool at its next datagram, forgetting the old pool\'s failures', () => {
    const failedOver = step(twoOpen(), reloaded({ pool: 'other' }), failed(A, 2));
    expect(failedOver.effects.map(describeEffect)).toEqual(['failed 10.9.0.1:53 refused', 'disconnect#2']);
    const again = step(failedOver, at(30, datagram(A, 'q2')));
    expect(again.effects).toEqual([{ type: 'pick', key: key(A), session: 1, pool: 'other', client: A, tried: [] }]);
    // in the pool it failed in, the failed backend is avoided
    const stayed = step(twoOpen(), failed(A, 2), at(30, datagram(A, 'q2')));
    expect(stayed.effects).toEqual([{ type: 'pick', key: key(A), session: 1, pool: 'resolvers', client: A, tried: ['10.9.0.1:53'] }]);
  });
});

describe('reduceSessions: the door (allow, deny, routes on source)', () => {
  const C: ClientAddress = { address: '192.0.2.7', port: 5003 };
  const door = (changed: Partial<SessionSettings>): SessionTable => emptySessionTable({ ...settings, ...changed });
  const picks = (s: SessionStep) => s.effects.flatMap((e) => (e.type === 'pick' ? [`${e.key} ${e.pool}`] : []));

  it('drops the datagrams of a client deny or allow keeps out, opens no session, and reports them as denied', () => {
    const table = door({ allow: addressList(['10.0.0.0/8']), deny: addressList(['10.0.0.2']) });
    const steps = step(table, datagram(A, 'q1'), datagram(B, 'no'), datagram(C, 'nope'));
    expect(steps.table.sessions.size).toBe(1);
    expect(step(steps, at(150, tick)).effects.map(describeEffect)).toEqual(['dropped denied 2/6']);
    expect(picks(step(table, datagram(A, 'q1')))).toEqual(['10.0.0.1:5001 resolvers']);
  });

  it('sends a new session to the first route on source that takes its client, else the listener pool', () => {
    const table = door({ routes: [{ sni: undefined, alpn: undefined, source: addressList(['192.0.2.0/24']), pool: 'office' }] });
    expect(picks(step(table, datagram(C, 'q')))).toEqual(['192.0.2.7:5003 office']);
    expect(picks(step(table, datagram(A, 'q')))).toEqual(['10.0.0.1:5001 resolvers']);
  });

  it('without a pool on the listener, drops a client no route takes, as no_route', () => {
    const table = door({ pool: '', routes: [{ sni: undefined, alpn: undefined, source: addressList(['192.0.2.0/24']), pool: 'office' }] });
    const steps = step(table, datagram(A, 'q1'));
    expect(steps.table.sessions.size).toBe(0);
    expect(step(steps, at(150, tick)).effects.map(describeEffect)).toEqual(['dropped no_route 1/2']);
  });

  it('keeps a session open through a reload that denies its client, and shuts it out once its backend fails', () => {
    const open = step(emptySessionTable(settings), ...Object.values(OPEN));
    const denied = step(open, reloaded({ deny: addressList(['10.0.0.1']) }), at(5, datagram(A, 'q2')));
    expect(denied.effects.map(describeEffect)).toEqual(['forward#2 q2']);
    const failedNow = step(denied, failed(A, 2), at(6, datagram(A, 'q3')));
    expect(failedNow.effects).toEqual([]);
    expect(step(failedNow, at(150, tick)).effects.map(describeEffect)).toEqual(['dropped denied 1/2']);
  });
});

/** Applies inputs at time 0, one after the other; the effects are the last step's. */
function step(table: SessionTable | SessionStep, ...inputs: At[]): SessionStep {
  let current: SessionStep = 'table' in table ? table : { table, effects: [] };
  for (const input of inputs) current = reduceSessions(current.table, input(0));
  return current;
}
