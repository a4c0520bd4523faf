import { NEVER, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Arrival, ListenerConfig } from 'rxlb';
import { arrivalOf, createDoors } from 'rxlb';
import { serverNameRequired } from './server-name-required.js';

// The example's test, written as a user would: marbles with rxjs's TestScheduler and
// the types from 'rxlb'. (`npm run build` first: 'rxlb' resolves to dist/.)

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A listener as rxlb's config gives it: routes on a server name, so the hello is read. */
const edge = {
  name: 'edge',
  bind: { host: '127.0.0.1', port: 443 },
  protocol: 'tcp',
  pool: 'web',
  maxConnections: 0,
  sessionTimeoutMs: 60_000,
  maxSessions: 0,
  prereadTimeoutMs: 5000,
  proxyProtocol: undefined,
  proxyTrusted: undefined,
  allow: undefined,
  deny: undefined,
  maxConnectionsPerClient: 0,
  connectionRatePerClient: undefined,
  routes: [],
  needsClientHello: true,
} satisfies ListenerConfig;

const from = (address: string, sni?: string): Arrival<unknown> => ({ ...arrivalOf<unknown>({}, edge, { address, port: 40000 }), sni });
const outcome = (a: Arrival<unknown>) => a.refused ?? a.pool;

describe('server-name-required.js', () => {
  it('refuses arrivals without a server name, but from the trusted networks', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const stage = serverNameRequired(['10.1.0.0/16'])(edge, { preread$: () => NEVER, now: () => 0 });
      if (stage === undefined) throw new Error('no stage for a listener that reads the hello');
      const arrivals = hot('-a-b-c-d-|', { a: from('192.0.2.1', 'api.example.com'), b: from('192.0.2.1'), c: from('10.1.2.3'), d: from('::ffff:10.1.2.3') });
      expectObservable(arrivals.pipe(stage, map(outcome))).toBe('-w-d-w-w-|', { w: 'web', d: 'denied' });
      expectSubscriptions(arrivals.subscriptions).toBe('^--------!');
    });
  });

  it('passes an arrival refused before untouched, and adds no stage where no hello is read', () => {
    const stage = serverNameRequired([])(edge, { preread$: () => NEVER, now: () => 0 });
    const refused = { ...from('192.0.2.1'), refused: 'rate_limit' as const };
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: refused }).pipe(stage!)).toBe('a|', { a: refused });
    });
    expect(serverNameRequired([])({ ...edge, needsClientHello: false }, { preread$: () => NEVER, now: () => 0 })).toBeUndefined();
  });

  it('runs in a listener door after the ClientHello is read', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // a client that sends something that is not TLS: no server name
      const doors = createDoors<unknown>({ preread$: () => cold('-a', { a: Buffer.from('GET / HTTP/1.1\r\n') }), now: () => 0 }, serverNameRequired(['10.1.0.0/16']));
      const door = doors(edge);
      if (door === undefined) throw new Error('no door');
      expectObservable(cold('a|', { a: arrivalOf<unknown>({}, edge, { address: '192.0.2.1', port: 1 }) }).pipe(door, map(outcome))).toBe('-(d|)', { d: 'denied' });
    });
  });
});
