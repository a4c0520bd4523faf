import { describe, expect, it } from 'vitest';
import type { Config } from '../../../../src/config/types.js';
import { type ConfigChange, configChanges, describeChange, diffConfigs, socketOf } from '../../../../src/streams/reload/config-diff.js';
import { addressList } from '../../../../src/streams/door/cidr.js';
import { serverNames } from '../../../../src/streams/door/server-names.js';
import { testScheduler } from '../../helpers.js';
import { backend, config, listener, pool } from '../../fixtures.js';

const base = config(
  [pool([backend('10.0.0.1:80'), backend('10.0.0.2:80', { weight: 2 })]), pool([backend('10.0.1.1:53')], { name: 'dns' })],
  [listener(), listener({ name: 'dns', protocol: 'udp', bind: { host: '127.0.0.1', port: 5353 }, pool: 'dns' })],
);

describe('diffConfigs', () => {
  it('finds nothing between a config and itself reread', () => {
    expect(diffConfigs(base, structuredClone(base))).toEqual([]);
  });

  it('lists exactly what a reload adds, changes and removes, in file order', () => {
    const next: Config = {
      ...base,
      global: { ...base.global, shutdownGraceMs: 5000 },
      listeners: [
        listener({ maxConnections: 100 }), // same socket, new limit
        listener({ name: 'dns', protocol: 'udp', bind: { host: '127.0.0.1', port: 5354 }, pool: 'dns' }), // moved
        listener({ name: 'admin-ish', bind: { host: '127.0.0.1', port: 7071 } }), // new
      ],
      pools: [
        pool([backend('10.0.0.2:80', { weight: 5 }), backend('10.0.0.3:80')], { policy: 'least-connections', connectTimeoutMs: 1000 }),
        pool([backend('10.0.2.1:6379')], { name: 'cache' }),
      ],
    };
    const changes: ConfigChange[] = [
      { kind: 'listener', change: 'changed', name: 'front', at: 'tcp 127.0.0.1:7070', fields: ['max_connections'] },
      { kind: 'listener', change: 'rebound', name: 'dns', at: 'udp 127.0.0.1:5354', was: 'udp 127.0.0.1:5353' },
      { kind: 'listener', change: 'added', name: 'admin-ish', at: 'tcp 127.0.0.1:7071' },
      { kind: 'pool', change: 'removed', name: 'dns' },
      { kind: 'pool', change: 'changed', name: 'web', fields: ['policy', 'connect_timeout'] },
      { kind: 'backend', change: 'removed', pool: 'web', address: '10.0.0.1:80' },
      { kind: 'backend', change: 'changed', pool: 'web', address: '10.0.0.2:80', fields: ['weight'] },
      { kind: 'backend', change: 'added', pool: 'web', address: '10.0.0.3:80' },
      { kind: 'pool', change: 'added', name: 'cache' },
      { kind: 'global', change: 'changed', fields: ['shutdown_grace'] },
    ];
    expect(diffConfigs(base, next)).toEqual(changes);
    expect(changes.map(describeChange)).toEqual([
      'listener changed: front tcp 127.0.0.1:7070 (max_connections)',
      'listener rebound: dns udp 127.0.0.1:5353 -> udp 127.0.0.1:5354',
      'listener added: admin-ish tcp 127.0.0.1:7071',
      'pool removed: dns',
      'pool changed: web (policy, connect_timeout)',
      'backend removed: pool.web 10.0.0.1:80',
      'backend changed: pool.web 10.0.0.2:80 (weight)',
      'backend added: pool.web 10.0.0.3:80',
      'pool added: cache',
      'global changed (shutdown_grace)',
    ]);
  });

  it('sees a health table change as a pool change, and a removed listener as removed', () => {
    const health = { kind: 'tcp' as const, port: undefined, path: '/', expectStatus: [], intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, sendProxy: false };
    const next: Config = { ...base, listeners: [base.listeners[0]!], pools: [{ ...base.pools[0]!, health }, base.pools[1]!] };
    expect(diffConfigs(base, next)).toEqual([
      { kind: 'listener', change: 'removed', name: 'dns', at: 'udp 127.0.0.1:5353' },
      { kind: 'pool', change: 'changed', name: 'web', fields: ['health'] },
    ]);
  });

  it('lists every door key of a listener and the PROXY keys of a pool by their names in the file', () => {
    const route = (pool: string, names: string[]) => ({ sni: serverNames(names), alpn: undefined, source: undefined, pool });
    const edge = listener({ routes: [route('web', ['a.example'])], needsClientHello: true });
    const before = config([pool([backend('10.0.0.1:80')])], [edge]);
    const after = config(
      [pool([backend('10.0.0.1:80')], { proxyProtocol: 'v2' })],
      [
        listener({
          routes: [route('web', ['b.example'])],
          needsClientHello: true,
          prereadTimeoutMs: 1000,
          proxyProtocol: 'accept',
          proxyTrusted: addressList(['10.0.0.0/8']),
          allow: addressList(['192.0.2.0/24']),
          deny: addressList(['192.0.2.7']),
          maxConnectionsPerClient: 4,
          connectionRatePerClient: { count: 20, perMs: 1000 },
        }),
      ],
    );
    expect(diffConfigs(before, after).map(describeChange)).toEqual([
      'listener changed: front tcp 127.0.0.1:7070 (preread_timeout, proxy_protocol, proxy_trusted, allow, deny, max_connections_per_client, connection_rate_per_client, route)',
      'pool changed: web (proxy_protocol)',
    ]);
    // the lists compare by their entries: the same lists compiled again are no change
    const again = config([pool([backend('10.0.0.1:80')], { proxyProtocol: 'v2' })], [{ ...after.listeners[0]!, routes: [route('web', ['B.example'])], allow: addressList(['192.0.2.0/24']) }]);
    expect(diffConfigs(after, again)).toEqual([]);
    // a new rate, a route's pool, and a pool's health checks that start sending the header
    const health = { kind: 'tcp' as const, port: undefined, path: '/', expectStatus: [], intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, sendProxy: false };
    const checked = config([pool([backend('10.0.0.1:80')], { proxyProtocol: 'v2', health })], [{ ...after.listeners[0]!, connectionRatePerClient: { count: 20, perMs: 60_000 } }]);
    const sending = config([pool([backend('10.0.0.1:80')], { proxyProtocol: 'v2', health: { ...health, sendProxy: true } })], [{ ...after.listeners[0]!, routes: [route('api', ['b.example'])] }]);
    expect(diffConfigs(after, checked).map(describeChange)).toEqual(['listener changed: front tcp 127.0.0.1:7070 (connection_rate_per_client)', 'pool changed: web (health)']);
    expect(diffConfigs(checked, sending).map(describeChange)).toEqual(['listener changed: front tcp 127.0.0.1:7070 (connection_rate_per_client, route)', 'pool changed: web (health)']);
  });

  it('lists a new admin token, which a reload applies, apart from a new admin address, which needs a restart', () => {
    const admin = (port: number, token?: string): Config['admin'] => ({ listen: { host: '127.0.0.1', port }, token });
    const before: Config = { ...base, admin: admin(9901, 'old') };
    const both = diffConfigs(before, { ...base, admin: admin(9902, 'new') });
    expect(both).toEqual([
      { kind: 'admin', change: 'changed', fields: ['listen'] },
      { kind: 'admin', change: 'changed', fields: ['token'] },
    ]);
    expect(both.map(describeChange)).toEqual(['admin changed (listen): needs a restart', 'admin changed (token)']);
    expect(diffConfigs(before, { ...base, admin: admin(9901) }).map(describeChange)).toEqual(['admin changed (token)']);
    expect(diffConfigs(before, { ...base, admin: undefined }).map(describeChange)).toEqual(['admin changed (listen): needs a restart', 'admin changed (token)']);
  });
});

describe('socketOf', () => {
  it('gives each port-0 listener a socket of its own, and listeners on one fixed port one socket', () => {
    const zero = (name: string) => listener({ name, bind: { host: '127.0.0.1', port: 0 } });
    expect(socketOf(zero('a'))).not.toBe(socketOf(zero('b')));
    expect(socketOf(zero('a'))).toBe(socketOf({ ...zero('a'), pool: 'other' }));
    expect(socketOf(listener({ name: 'a' }))).toBe(socketOf(listener({ name: 'renamed' })));
    expect(socketOf(listener())).not.toBe(socketOf(listener({ protocol: 'udp' })));
  });
});

describe('configChanges', () => {
  it('emits the changes of each reload over the config before it; the start and an unchanged file emit nothing', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const b = { ...base, pools: [pool([backend('10.0.0.1:80')]), base.pools[1]!] };
      const changes = cold<Config>('a-b-b-a|', { a: base, b }).pipe(configChanges());
      expectObservable(changes).toBe('--x---y|', {
        x: [{ kind: 'backend', change: 'removed', pool: 'web', address: '10.0.0.2:80' }],
        y: [{ kind: 'backend', change: 'added', pool: 'web', address: '10.0.0.2:80' }],
      });
    });
  });

  it('passes an error of the config source on', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      expectObservable(cold<Config>('a-#', { a: base }).pipe(configChanges())).toBe('--#');
    });
  });
});
