import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../../../../src/config/types.js';
import type { Arrival } from '../../../../src/streams/door/arrival.js';
import { addressList } from '../../../../src/streams/door/cidr.js';
import { route } from '../../../../src/streams/door/route.js';
import { serverNames } from '../../../../src/streams/door/server-names.js';
import type { FakeSocket } from '../../fixtures.js';
import { testScheduler } from '../../helpers.js';
import { from, type TestArrival } from './arrivals.js';

const rule = (pool: string, keys: { sni?: string[]; alpn?: string[]; source?: string[] }): RouteConfig => ({
  sni: keys.sni && serverNames(keys.sni),
  alpn: keys.alpn,
  source: keys.source && addressList(keys.source),
  pool,
});

const routes: readonly RouteConfig[] = [
  rule('api', { sni: ['api.example.com'] }),
  rule('h2', { sni: ['*.example.com'], alpn: ['h2'] }),
  rule('web', { sni: ['*.example.com'] }),
  rule('office', { source: ['10.1.0.0/16'] }),
];

/** An arrival as the ClientHello stage leaves it. */
const tls = (client: string, sni: string | undefined, alpn: string[] = [], pool = 'default'): Arrival<FakeSocket> => ({ ...from(client, { pool, routes }), sni, alpn });

/** The pool and route index, or the refusal. */
const where = (a: Arrival<FakeSocket>): string => a.refused ?? `${a.pool}#${a.route ?? '-'}`;

describe('route', () => {
  it('sends each arrival to the first route that matches, by name, protocol and source, else the listener pool', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const arrivals = hot('-a-b-c-d-e-f-|', {
        a: tls('192.0.2.1', 'api.example.com', ['h2']), // the first route wins over the second
        b: tls('192.0.2.1', 'www.example.com', ['http/1.1', 'h2']),
        c: tls('192.0.2.1', 'www.example.com', ['http/1.1']),
        d: tls('10.1.2.3', undefined), // not TLS: only source routes and the default
        e: tls('::ffff:10.1.2.3', 'example.com'), // *.example.com does not cover example.com
        f: tls('192.0.2.1', undefined),
      });
      expectObservable(arrivals.pipe(route({ routes }), map(where))).toBe('-a-b-c-d-e-f-|', {
        a: 'api#0',
        b: 'h2#1',
        c: 'web#2',
        d: 'office#3',
        e: 'office#3',
        f: 'default#-',
      });
    });
  });

  it('refuses `no_route` when nothing matches and the listener has no pool', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const arrivals = cold('ab|', { a: tls('192.0.2.1', 'other.test', [], ''), b: tls('192.0.2.1', 'api.example.com', [], '') });
      expectObservable(arrivals.pipe(route({ routes }), map(where))).toBe('na|', { n: 'no_route', a: 'api#0' });
    });
  });

  it('routes on the client behind a PROXY header, not the TCP peer', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const behind = { ...tls('192.0.2.200', undefined), client: { address: '10.1.0.9', port: 7 } };
      expectObservable(cold('a|', { a: behind }).pipe(route({ routes }), map(where))).toBe('a|', { a: 'office#3' });
    });
  });

  it('passes an arrival refused before untouched', () => {
    const refused = { ...tls('10.1.0.1', 'api.example.com'), refused: 'denied' as const };
    const passed: unknown[] = [];
    testScheduler().run(({ cold }) => {
      cold('a|', { a: refused }).pipe(route({ routes })).subscribe((a) => passed.push(a));
    });
    expect(passed[0]).toBe(refused);
  });

  it('passes on never, empty, an error and an early unsubscribe; a throwing matcher errors', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<TestArrival>('-').pipe(route({ routes }))).toBe('-');
      expectObservable(cold<TestArrival>('|').pipe(route({ routes }))).toBe('|');
      expectObservable(cold<TestArrival>('#').pipe(route({ routes }))).toBe('#');
      const arrivals = hot('-a-a-', { a: tls('10.1.0.1', undefined) });
      expectObservable(arrivals.pipe(route({ routes }), map(where)), '^-!').toBe('-a-', { a: 'office#3' });
      expectSubscriptions(arrivals.subscriptions).toBe('^-!');
      const broken: RouteConfig = { ...rule('x', {}), source: { entries: [], matches: () => { throw new Error('broken'); } } };
      expectObservable(cold('a', { a: tls('10.1.0.1', undefined) }).pipe(route({ routes: [broken] }))).toBe('#', undefined, new Error('broken'));
    });
  });
});
