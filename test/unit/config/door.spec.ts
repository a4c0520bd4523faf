import { describe, expect, it } from 'vitest';
import { describeConfig } from '../../../src/config/describe.js';
import { deeplyFrozen, parse, problems } from './helpers.js';

/** A listener `edge` with `lines` added, and pools default, api and dns. */
const edge = (lines: string, protocol = 'tcp'): string => `[[listener]]
name = "edge"
bind = "127.0.0.1:7443"
protocol = "${protocol}"
${lines}

[[pool.default.backend]]
address = "127.0.0.1:8080"

[[pool.api.backend]]
address = "127.0.0.1:8081"
`;

/** The interface's example of routing at the door, as a whole file. */
const FULL = `[[listener]]
name = "edge"
bind = "0.0.0.0:443"
pool = "default"
preread_timeout = "3s"
proxy_protocol = "accept"
proxy_trusted = ["10.0.0.0/8"]
allow = ["10.0.0.0/8", "::1"]
deny = ["10.9.0.0/16"]
max_connections_per_client = 10
connection_rate_per_client = "20/s"

[[listener.route]]
sni = ["API.example.com", "*.example.com"]
alpn = ["h2", "http/1.1"]
source = ["192.0.2.0/24"]
pool = "api"

[[listener.route]]
source = ["198.51.100.0/24"]
pool = "default"

[pool.default]
proxy_protocol = "v1"

[pool.default.health]
send_proxy = true

[[pool.default.backend]]
address = "127.0.0.1:8080"

[pool.api]
proxy_protocol = "v2"

[[pool.api.backend]]
address = "127.0.0.1:8081"
`;

describe('routing at the door: valid keys', () => {
  it('reads every key of the example, compiled for the connection path, and frozen', () => {
    const config = parse(FULL);
    const [listener] = config.listeners;
    expect(listener).toMatchObject({
      pool: 'default',
      prereadTimeoutMs: 3_000,
      proxyProtocol: 'accept',
      proxyTrusted: { entries: ['10.0.0.0/8'] },
      allow: { entries: ['10.0.0.0/8', '::1'] },
      deny: { entries: ['10.9.0.0/16'] },
      maxConnectionsPerClient: 10,
      connectionRatePerClient: { count: 20, perMs: 1_000 },
      needsClientHello: true,
    });
    expect(listener?.routes.map((r) => ({ sni: r.sni?.entries, alpn: r.alpn, source: r.source?.entries, pool: r.pool }))).toEqual([
      { sni: ['api.example.com', '*.example.com'], alpn: ['h2', 'http/1.1'], source: ['192.0.2.0/24'], pool: 'api' },
      { sni: undefined, alpn: undefined, source: ['198.51.100.0/24'], pool: 'default' },
    ]);
    expect(config.pools.map((p) => [p.name, p.proxyProtocol, p.health?.sendProxy])).toEqual([
      ['default', 'v1', true],
      ['api', 'v2', undefined],
    ]);
    expect(deeplyFrozen(config)).toBe(true);
    // compiled once, and still working once frozen
    expect(['10.1.2.3', '::ffff:10.1.2.3', '::1', '11.0.0.1'].filter((a) => listener?.allow?.matches(a))).toEqual(['10.1.2.3', '::ffff:10.1.2.3', '::1']);
    expect(['a.example.com', 'example.com'].filter((n) => listener?.routes[0]?.sni?.matches(n))).toEqual(['a.example.com']);
    expect(listener?.routes[1]?.source?.matches('198.51.100.7')).toBe(true);
  });

  it('makes pool optional once routes exist: unmatched connections have no pool', () => {
    const config = parse(edge('[[listener.route]]\nsource = ["192.0.2.0/24"]\npool = "api"'));
    expect(config.listeners[0]).toMatchObject({ pool: '', needsClientHello: false, routes: [{ pool: 'api' }] });
  });

  it('reads rates per second and per minute, and "0" or 0 as no limit', () => {
    const rate = (value: string) => parse(edge(`pool = "default"\nconnection_rate_per_client = ${value}`)).listeners[0]?.connectionRatePerClient;
    expect(rate('"600/m"')).toEqual({ count: 600, perMs: 60_000 });
    expect(rate('"1/s"')).toEqual({ count: 1, perMs: 1_000 });
    expect(rate('"0"')).toBeUndefined();
    expect(rate('0')).toBeUndefined();
  });

  it('takes allow, deny and source routes on a udp listener, and an empty deny list', () => {
    const config = parse(edge('pool = "default"\nallow = ["0.0.0.0/0"]\ndeny = []\n[[listener.route]]\nsource = ["::1"]\npool = "api"', 'udp'));
    expect(config.listeners[0]).toMatchObject({ protocol: 'udp', allow: { entries: ['0.0.0.0/0'] }, deny: { entries: [] }, routes: [{ pool: 'api' }], needsClientHello: false });
  });

  it('leaves every door key at its default when none is set', () => {
    const config = parse(edge('pool = "default"'));
    expect(config.listeners[0]).toMatchObject({
      prereadTimeoutMs: 5_000,
      proxyProtocol: undefined,
      proxyTrusted: undefined,
      allow: undefined,
      deny: undefined,
      maxConnectionsPerClient: 0,
      connectionRatePerClient: undefined,
      routes: [],
      needsClientHello: false,
    });
    expect(config.pools.map((p) => p.proxyProtocol)).toEqual([undefined, undefined]);
  });
});

describe('routing at the door: each bad value, with file, line, key path and why', () => {
  const at = (lines: string, protocol?: string): string[] => problems(edge(lines, protocol));

  it('preread_timeout is a duration of at least 1ms', () => {
    expect(at('pool = "default"\npreread_timeout = "soon"')).toEqual([
      'rxlb.toml:6:1: listener[0].preread_timeout: expected a duration such as "250ms", "5s", "1m", "1h" or an integer of milliseconds, got "soon"',
    ]);
    expect(at('pool = "default"\npreread_timeout = 0')).toEqual(['rxlb.toml:6:1: listener[0].preread_timeout: must be at least 1ms, got 0']);
  });

  it('proxy_protocol on a listener is "accept" only', () => {
    expect(at('pool = "default"\nproxy_protocol = "v2"')).toEqual([
      'rxlb.toml:6:1: listener[0].proxy_protocol: expected "accept", got "v2": a listener accepts either version; "v1" and "v2" are for pools, which send one',
    ]);
    expect(at('pool = "default"\nproxy_protocol = true')).toEqual([
      'rxlb.toml:6:1: listener[0].proxy_protocol: expected "accept", got a boolean (true); leave the key out for no PROXY header',
    ]);
  });

  it('proxy_trusted needs proxy_protocol = "accept", and trusts someone', () => {
    expect(at('pool = "default"\nproxy_trusted = ["10.0.0.0/8"]')).toEqual(['rxlb.toml:6:1: listener[0].proxy_trusted: "proxy_trusted" applies only with proxy_protocol = "accept"']);
    expect(at('pool = "default"\nproxy_protocol = "accept"\nproxy_trusted = []')).toEqual([
      'rxlb.toml:7:1: listener[0].proxy_trusted: an empty list trusts no peer, so every connection would be refused; leave the key out to trust every peer',
    ]);
  });

  it('allow, deny and source are arrays of addresses and blocks, every bad entry reported', () => {
    expect(at('pool = "default"\nallow = "10.0.0.0/8"')).toEqual([
      'rxlb.toml:6:1: listener[0].allow: expected an array of addresses or CIDR blocks such as ["10.0.0.0/8", "::1"], got a string ("10.0.0.0/8")',
    ]);
    expect(at('pool = "default"\nallow = []')).toEqual(['rxlb.toml:6:1: listener[0].allow: an empty list allows no client; leave the key out to allow every client']);
    expect(at('pool = "default"\ndeny = ["10.0.0.1/8", 5, "intranet", "::1"]')).toEqual([
      'rxlb.toml:6: listener[0].deny[0]: "10.0.0.1/8" has bits set past its /8 prefix; did you mean "10.0.0.0/8"?',
      'rxlb.toml:6: listener[0].deny[1]: expected a string, got an integer (5)',
      'rxlb.toml:6: listener[0].deny[2]: "intranet" is not an IP address or CIDR block such as "10.0.0.0/8", "192.0.2.7", "2001:db8::/32" or "::1"',
    ]);
  });

  it('max_connections_per_client is an integer >= 0', () => {
    expect(at('pool = "default"\nmax_connections_per_client = -1')).toEqual(['rxlb.toml:6:1: listener[0].max_connections_per_client: must be an integer >= 0, got -1']);
  });

  it('connection_rate_per_client is "N/s", "N/m" or "0"', () => {
    const rate = (value: string): string[] => at(`pool = "default"\nconnection_rate_per_client = ${value}`);
    const key = 'rxlb.toml:6:1: listener[0].connection_rate_per_client';
    expect(rate('"20/h"')).toEqual([`${key}: expected a rate such as "20/s" or "600/m", or "0" for no limit, got "20/h"`]);
    expect(rate('"020/s"')).toEqual([`${key}: expected a rate such as "20/s" or "600/m", or "0" for no limit, got "020/s"`]);
    expect(rate('20')).toEqual([`${key}: expected a rate such as "20/s" or "600/m", or "0" for no limit, got an integer (20); did you mean "20/s"?`]);
    expect(rate('"0/s"')).toEqual([`${key}: "0/s" would refuse every connection; write "0" for no limit`]);
    expect(rate('"1000001/s"')).toEqual([`${key}: "1000001/s": a rate counts at most 1000000 connections per unit`]);
  });

  it('a route needs something to match on and an existing pool', () => {
    expect(at('pool = "default"\n[[listener.route]]\npool = "api"')).toEqual([
      'rxlb.toml:6:1: listener[0].route[0]: a route needs at least one of "sni", "alpn" or "source" to match on; for every other connection, set the listener\'s "pool"',
    ]);
    expect(at('[[listener.route]]\nsni = ["a.example"]')).toEqual(['rxlb.toml:5: listener[0].route[0].pool: missing required key "pool"']);
    expect(at('[[listener.route]]\nsni = ["a.example"]\npool = "apl"')).toEqual(['rxlb.toml:7:1: listener[0].route[0].pool: no pool named "apl"; did you mean "api"?']);
  });

  it('a route\'s sni and alpn are lists of valid names, and its keys are known', () => {
    expect(at('[[listener.route]]\nsni = ["*", "a..b", "ok.example"]\nalpn = ["h2", ""]\npool = "api"')).toEqual([
      'rxlb.toml:6: listener[0].route[0].sni[0]: "*" would match every name: leave sni out of the route instead',
      'rxlb.toml:6: listener[0].route[0].sni[1]: "a..b": a host name has no empty label',
      'rxlb.toml:7: listener[0].route[0].alpn[1]: a protocol name must not be empty',
    ]);
    expect(at('[[listener.route]]\nsni = "a.example"\npool = "api"')).toEqual([
      'rxlb.toml:6:1: listener[0].route[0].sni: expected an array of server names such as ["api.example.com", "*.example.com"], got a string ("a.example")',
    ]);
    expect(at('[[listener.route]]\nalpn = []\npool = "api"')).toEqual(['rxlb.toml:6:1: listener[0].route[0].alpn: an empty list matches no connection, so the route would never be used']);
    expect(at('[[listener.route]]\nsnl = ["a.example"]\nsource = ["::1"]\npool = "api"')).toEqual(['rxlb.toml:6:1: listener[0].route[0].snl: Unknown key "snl"; did you mean "sni"?']);
  });

  it('an unknown listener key near a door key is suggested', () => {
    expect(at('pool = "default"\nproxy_protocl = "accept"')).toEqual(['rxlb.toml:6:1: listener[0].proxy_protocl: Unknown key "proxy_protocl"; did you mean "proxy_protocol"?']);
  });

  it('without routes, a listener still needs its pool', () => {
    expect(at('allow = ["::1"]')).toEqual(['rxlb.toml:1: listener[0].pool: missing required key "pool"']);
  });
});

describe('routing at the door on a udp listener', () => {
  const udp = (lines: string): string[] => problems(edge(`pool = "default"\n${lines}`, 'udp'));

  it('refuses the tcp-only keys, saying why', () => {
    expect(udp('preread_timeout = "1s"')).toEqual([
      'rxlb.toml:6:1: listener[0].preread_timeout: "preread_timeout" applies to tcp listeners only: a udp listener reads no PROXY header or ClientHello before forwarding',
    ]);
    expect(udp('proxy_protocol = "accept"')).toEqual([
      'rxlb.toml:6:1: listener[0].proxy_protocol: "proxy_protocol" applies to tcp listeners only: rxlb reads a PROXY header at the start of a tcp connection, not on every datagram',
    ]);
    expect(udp('max_connections_per_client = 2')).toEqual([
      'rxlb.toml:6:1: listener[0].max_connections_per_client: "max_connections_per_client" applies to tcp listeners only: a udp client address has one session at a time; max_sessions limits sessions',
    ]);
    expect(udp('connection_rate_per_client = "5/s"')).toEqual([
      'rxlb.toml:6:1: listener[0].connection_rate_per_client: "connection_rate_per_client" applies to tcp listeners only: a udp client address has one session at a time, and a new one only after session_timeout',
    ]);
  });

  it('refuses routes on sni or alpn', () => {
    expect(udp('[[listener.route]]\nsni = ["a.example"]\nalpn = ["dot"]\npool = "api"')).toEqual([
      'rxlb.toml:7:1: listener[0].route[0].sni: "sni" applies to tcp listeners only: it is read from the TLS ClientHello at the start of a tcp connection',
      'rxlb.toml:8:1: listener[0].route[0].alpn: "alpn" applies to tcp listeners only: it is read from the TLS ClientHello at the start of a tcp connection',
    ]);
  });
});

describe('sending the client\'s address, per pool', () => {
  const pool = (lines: string, protocol = 'tcp'): string[] =>
    problems(`[[listener]]\nbind = "127.0.0.1:7000"\nprotocol = "${protocol}"\npool = "web"\n\n[pool.web]\n${lines}\n\n[[pool.web.backend]]\naddress = "127.0.0.1:8080"\n`);

  it('proxy_protocol is "v1" or "v2"', () => {
    expect(pool('proxy_protocol = "accept"')).toEqual(['rxlb.toml:7:1: pool.web.proxy_protocol: expected "v1" or "v2", got "accept": a pool sends a header, a listener accepts one']);
    expect(pool('proxy_protocol = 2')).toEqual(['rxlb.toml:7:1: pool.web.proxy_protocol: expected "v1" or "v2", got an integer (2); leave the key out to send no PROXY header']);
  });

  it('a udp listener\'s pool sends only v2, as its pool or a route\'s', () => {
    expect(pool('proxy_protocol = "v1"', 'udp')).toEqual([
      'rxlb.toml:7:1: pool.web.proxy_protocol: "v1" cannot be sent over udp (the udp listener "listener-1" forwards to this pool): a v1 header is a line of text at the start of a stream; use "v2", which goes as a DGRAM header on every datagram',
    ]);
    expect(parse(`[[listener]]\nbind = "127.0.0.1:7000"\nprotocol = "udp"\npool = "web"\n[pool.web]\nproxy_protocol = "v2"\n[[pool.web.backend]]\naddress = "127.0.0.1:8080"\n`).pools[0]?.proxyProtocol).toBe('v2');
    const routed = `[[listener]]\nbind = "127.0.0.1:7000"\nprotocol = "udp"\n[[listener.route]]\nsource = ["::1"]\npool = "dns"\n[pool.dns]\nproxy_protocol = "v1"\n[[pool.dns.backend]]\naddress = "127.0.0.1:53"\n`;
    expect(problems(routed)).toEqual([
      'rxlb.toml:8:1: pool.dns.proxy_protocol: "v1" cannot be sent over udp (the udp listener "listener-1" forwards to this pool): a v1 header is a line of text at the start of a stream; use "v2", which goes as a DGRAM header on every datagram',
    ]);
  });

  it('health send_proxy is a boolean, and needs the pool\'s proxy_protocol', () => {
    expect(pool('[pool.web.health]\nsend_proxy = true')).toEqual([
      'rxlb.toml:8:1: pool.web.health.send_proxy: "send_proxy" sends the pool\'s PROXY header, and this pool has none: set its proxy_protocol to "v1" or "v2"',
    ]);
    expect(pool('proxy_protocol = "v2"\n[pool.web.health]\nsend_proxy = "yes"')).toEqual(['rxlb.toml:9:1: pool.web.health.send_proxy: expected a boolean (true or false), got a string ("yes")']);
  });
});

describe('rxlb check summary of the door', () => {
  it('shows what is set under each listener, and the PROXY header of each pool', () => {
    const lines = describeConfig(parse(FULL)).split('\n');
    expect(lines).toEqual([
      'rxlb.toml: rxlb layout: 1 listener, 2 pools',
      'global: shutdown_grace 30s, max_connections unlimited',
      'admin: off',
      'listener edge: tcp 0.0.0.0:443 -> pool default, max_connections unlimited',
      '  preread: proxy_protocol accept from 10.0.0.0/8; TLS ClientHello for routes; preread_timeout 3s',
      '  clients: deny 10.9.0.0/16; allow 10.0.0.0/8, ::1; max_connections_per_client 10; connection_rate_per_client 20/s',
      '  route[0]: sni api.example.com, *.example.com; alpn h2, http/1.1; source 192.0.2.0/24 -> pool api',
      '  route[1]: source 198.51.100.0/24 -> pool default',
      'pool default: policy round-robin, connect_timeout 3s, idle_timeout 10m, retries 2, on_no_backend close, proxy_protocol v1',
      "  health: tcp connect, with the pool's PROXY header, every 5s, timeout 2s, rise 2, fall 3",
      '  passive: off',
      '  backend 127.0.0.1:8080: weight 1, max_connections unlimited',
      'pool api: policy round-robin, connect_timeout 3s, idle_timeout 10m, retries 2, on_no_backend close, proxy_protocol v2',
      '  health: no active checks',
      '  passive: off',
      '  backend 127.0.0.1:8081: weight 1, max_connections unlimited',
    ]);
  });

  it('says where unmatched connections go when there is no pool, and reads of the ClientHello alone', () => {
    const config = parse(edge('[[listener.route]]\nsni = ["a.example"]\npool = "api"\n[[listener.route]]\nalpn = ["h2"]\npool = "default"'));
    expect(describeConfig(config).split('\n').slice(3, 7)).toEqual([
      'listener edge: tcp 127.0.0.1:7443 -> no pool (a connection no route matches is closed), max_connections unlimited',
      '  preread: TLS ClientHello for routes; preread_timeout 5s',
      '  route[0]: sni a.example -> pool api',
      '  route[1]: alpn h2 -> pool default',
    ]);
  });
});
