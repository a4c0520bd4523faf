import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';
import { deeplyFrozen, issues, NO_DOOR, parse, problems } from './helpers.js';

const MINIMAL = `[[listener]]
bind = "127.0.0.1:7070"
pool = "web"

[[pool.web.backend]]
address = "127.0.0.1:8080"
`;

/** A valid config, then `extra` appended. */
const withMinimal = (extra: string): string => `${MINIMAL}${extra}`;

describe('a minimal config', () => {
  it('gets every default', () => {
    const expected: Config = {
      source: 'rxlb.toml',
      layout: 'rxlb',
      global: { shutdownGraceMs: 30_000, maxConnections: 0 },
      admin: undefined,
      listeners: [
        {
          name: 'listener-1',
          bind: { host: '127.0.0.1', port: 7070 },
          protocol: 'tcp',
          pool: 'web',
          maxConnections: 0,
          sessionTimeoutMs: 60_000,
          maxSessions: 0,
          ...NO_DOOR,
        },
      ],
      pools: [
        {
          name: 'web',
          policy: 'round-robin',
          connectTimeoutMs: 3_000,
          idleTimeoutMs: 600_000,
          retries: 2,
          onNoBackend: 'close',
          proxyProtocol: undefined,
          health: undefined,
          passive: undefined,
          backends: [
            {
              address: '127.0.0.1:8080',
              host: '127.0.0.1',
              port: 8080,
              origin: '127.0.0.1:8080',
              weight: 1,
              maxConnections: 0,
              backup: false,
              healthPath: undefined,
            },
          ],
        },
      ],
    };
    const config = parse(MINIMAL);
    expect(config).toEqual(expected);
    expect(deeplyFrozen(config)).toBe(true);
  });

  it('gets health and passive defaults when their tables are there but empty', () => {
    const config = parse(withMinimal('[pool.web.health]\n[pool.web.passive]\n'));
    expect(config.pools[0]?.health).toEqual({
      kind: 'tcp',
      port: undefined,
      path: '/',
      expectStatus: [[200, 299]],
      intervalMs: 5_000,
      timeoutMs: 2_000,
      rise: 2,
      fall: 3,
      sendProxy: false,
    });
    expect(config.pools[0]?.passive).toEqual({ consecutiveFailures: 5, ejectForMs: 30_000 });
  });
});

describe('a config with every key', () => {
  const FULL = `[global]
shutdown_grace = "10s"
max_connections = 1000

[admin]
listen = "127.0.0.1:9901"
token = "s3cret"

[[listener]]
name = "web"
bind = "[::1]:7070"
protocol = "tcp"
pool = "web"
max_connections = 100

[[listener]]
bind = "0.0.0.0:5353"
protocol = "udp"
pool = "dns"
session_timeout = "1m30s"
max_sessions = 50

[pool.web]
policy = "least-connections"
connect_timeout = "500ms"
idle_timeout = "1h"
retries = 0
on_no_backend = "http-503"

[pool.web.health]
kind = "http"
port = 8081
path = "/healthz"
expect_status = "200-399"
interval = "10s"
timeout = 1500
rise = 1
fall = 5

[pool.web.passive]
consecutive_failures = 3
eject_for = "1m"

[[pool.web.backend]]
address = "localhost:8080"
weight = 3
max_connections = 10
backup = true

[pool.dns]
policy = "./policies/sticky.js"

[[pool.dns.backend]]
address = "10.0.0.1:53"
`;

  it('reads each one', () => {
    expect(parse(FULL)).toEqual({
      source: 'rxlb.toml',
      layout: 'rxlb',
      global: { shutdownGraceMs: 10_000, maxConnections: 1000 },
      admin: { listen: { host: '127.0.0.1', port: 9901 }, token: 's3cret' },
      listeners: [
        { name: 'web', bind: { host: '::1', port: 7070 }, protocol: 'tcp', pool: 'web', maxConnections: 100, sessionTimeoutMs: 60_000, maxSessions: 0, ...NO_DOOR },
        { name: 'listener-2', bind: { host: '0.0.0.0', port: 5353 }, protocol: 'udp', pool: 'dns', maxConnections: 0, sessionTimeoutMs: 90_000, maxSessions: 50, ...NO_DOOR },
      ],
      pools: [
        {
          name: 'web',
          policy: 'least-connections',
          connectTimeoutMs: 500,
          idleTimeoutMs: 3_600_000,
          retries: 0,
          onNoBackend: 'http-503',
          proxyProtocol: undefined,
          health: { kind: 'http', port: 8081, path: '/healthz', expectStatus: [[200, 399]], intervalMs: 10_000, timeoutMs: 1_500, rise: 1, fall: 5, sendProxy: false },
          passive: { consecutiveFailures: 3, ejectForMs: 60_000 },
          backends: [
            { address: 'localhost:8080', host: 'localhost', port: 8080, origin: 'localhost:8080', weight: 3, maxConnections: 10, backup: true, healthPath: undefined },
          ],
        },
        {
          name: 'dns',
          policy: `${process.cwd()}/policies/sticky.js`,
          connectTimeoutMs: 3_000,
          idleTimeoutMs: 600_000,
          retries: 2,
          onNoBackend: 'close',
          proxyProtocol: undefined,
          health: undefined,
          passive: undefined,
          backends: [
            { address: '10.0.0.1:53', host: '10.0.0.1', port: 53, origin: '10.0.0.1:53', weight: 1, maxConnections: 0, backup: false, healthPath: undefined },
          ],
        },
      ],
    });
  });

  it('resolves a relative policy module against the config file directory', () => {
    const config = parseConfigText(FULL, '/etc/rxlb/rxlb.toml');
    expect(config.pools[1]?.policy).toBe('/etc/rxlb/policies/sticky.js');
    expect(config.source).toBe('/etc/rxlb/rxlb.toml');
  });

  it('keeps pools in file order, even one named like a number', () => {
    const config = parse(`[[listener]]
bind = "127.0.0.1:1"
pool = "zeta"
[[pool.zeta.backend]]
address = "127.0.0.1:2"
[[pool.80.backend]]
address = "127.0.0.1:3"
[[pool.alpha.backend]]
address = "127.0.0.1:4"
`);
    expect(config.pools.map((p) => p.name)).toEqual(['zeta', '80', 'alpha']);
  });
});

describe('unknown keys', () => {
  it('are errors at every level, each with the nearest known key', () => {
    expect(
      problems(`[global]
shutdown_grce = "1s"
[admin]
listen = "127.0.0.1:9901"
tokn = "x"
[[listener]]
bnd = "127.0.0.1:7070"
bind = "127.0.0.1:7070"
pool = "web"
[pool.web]
polcy = "random"
[pool.web.health]
intervl = "1s"
[pool.web.passive]
eject = "1s"
[[pool.web.backend]]
address = "127.0.0.1:8080"
wieght = 2
[listeners]
`),
    ).toEqual([
      'rxlb.toml:2:1: global.shutdown_grce: Unknown key "shutdown_grce"; did you mean "shutdown_grace"?',
      'rxlb.toml:5:1: admin.tokn: Unknown key "tokn"; did you mean "token"?',
      'rxlb.toml:7:1: listener[0].bnd: Unknown key "bnd"; did you mean "bind"?',
      'rxlb.toml:11:1: pool.web.polcy: Unknown key "polcy"; did you mean "policy"?',
      'rxlb.toml:13:1: pool.web.health.intervl: Unknown key "intervl"; did you mean "interval"?',
      'rxlb.toml:15:1: pool.web.passive.eject: Unknown key "eject"; did you mean "eject_for"?',
      'rxlb.toml:18:1: pool.web.backend[0].wieght: Unknown key "wieght"; did you mean "weight"?',
      'rxlb.toml:19:1: listeners: Unknown key "listeners"; did you mean "listener"?',
    ]);
  });

  it('lists the known keys when none is near', () => {
    expect(problems(withMinimal('[pool.web.health]\ncolour = "blue"\n'))).toEqual([
      'rxlb.toml:8:1: pool.web.health.colour: Unknown key "colour"; known keys here: kind, port, path, expect_status, interval, timeout, rise, fall, send_proxy',
    ]);
  });

  it('at the top of a file of no known layout are the only errors', () => {
    expect(problems('[frontnd]\nbind_on = "127.0.0.1:1"\n')).toEqual([
      'rxlb.toml:1:1: frontnd: Unknown key "frontnd"; did you mean "frontend"?',
    ]);
  });
});

describe('types and ranges', () => {
  it('reports the wrong type of each key', () => {
    expect(
      problems(`[global]
shutdown_grace = true
max_connections = "10"
[[listener]]
bind = 7070
pool = "web"
[[pool.web.backend]]
address = "127.0.0.1:8080"
weight = 1.5
backup = "yes"
max_connections = [1]
`),
    ).toEqual([
      'rxlb.toml:2:1: global.shutdown_grace: expected a duration such as "250ms", "5s", "1m", "1h" or an integer of milliseconds, got a boolean (true)',
      'rxlb.toml:3:1: global.max_connections: expected an integer, got a string ("10")',
      'rxlb.toml:5:1: listener[0].bind: expected a string, got an integer (7070)',
      'rxlb.toml:9:1: pool.web.backend[0].weight: expected an integer, got a float (1.5)',
      'rxlb.toml:10:1: pool.web.backend[0].backup: expected a boolean (true or false), got a string ("yes")',
      'rxlb.toml:11:1: pool.web.backend[0].max_connections: expected an integer, got an array',
    ]);
  });

  it('reports numbers out of range', () => {
    expect(
      problems(`[global]
max_connections = -1
[[listener]]
bind = "127.0.0.1:7070"
pool = "web"
max_connections = -5
[pool.web]
retries = -1
connect_timeout = "0s"
idle_timeout = 0
[pool.web.health]
port = 0
rise = 0
fall = 0
interval = "0ms"
[pool.web.passive]
consecutive_failures = 0
[[pool.web.backend]]
address = "127.0.0.1:8080"
weight = 0
[[pool.web.backend]]
address = "127.0.0.1:8081"
weight = -3
max_connections = -1
`),
    ).toEqual([
      'rxlb.toml:2:1: global.max_connections: must be an integer >= 0, got -1',
      'rxlb.toml:6:1: listener[0].max_connections: must be an integer >= 0, got -5',
      'rxlb.toml:8:1: pool.web.retries: must be an integer >= 0, got -1',
      'rxlb.toml:9:1: pool.web.connect_timeout: must be at least 1ms, got "0s"',
      'rxlb.toml:10:1: pool.web.idle_timeout: must be at least 1ms, got 0',
      'rxlb.toml:12:1: pool.web.health.port: must be an integer from 1 to 65535, got 0',
      'rxlb.toml:13:1: pool.web.health.rise: must be an integer >= 1, got 0',
      'rxlb.toml:14:1: pool.web.health.fall: must be an integer >= 1, got 0',
      'rxlb.toml:15:1: pool.web.health.interval: must be at least 1ms, got "0ms"',
      'rxlb.toml:17:1: pool.web.passive.consecutive_failures: must be an integer >= 1, got 0',
      'rxlb.toml:20:1: pool.web.backend[0].weight: must be an integer >= 1, got 0',
      'rxlb.toml:23:1: pool.web.backend[1].weight: must be an integer >= 1, got -3',
      'rxlb.toml:24:1: pool.web.backend[1].max_connections: must be an integer >= 0, got -1',
    ]);
  });

  it('accepts a zero shutdown_grace (close at once) and zero limits (unlimited)', () => {
    const config = parse(`[global]\nshutdown_grace = 0\nmax_connections = 0\n${MINIMAL}`);
    expect(config.global).toEqual({ shutdownGraceMs: 0, maxConnections: 0 });
  });

  it('reports bad enums, policies, durations and addresses', () => {
    expect(
      problems(`[[listener]]
bind = "127.0.0.1"
protocol = "sctp"
pool = "web"
[pool.web]
policy = "round-robbin"
on_no_backend = "503"
idle_timeout = "10 minutes"
[pool.web.health]
kind = "icmp"
timeout = "2sec"
[[pool.web.backend]]
address = "::1:8080"
`),
    ).toEqual([
      'rxlb.toml:2:1: listener[0].bind: missing port in "127.0.0.1": expected host:port such as "127.0.0.1:80", "[::1]:80" or "localhost:8080"',
      'rxlb.toml:3:1: listener[0].protocol: expected "tcp" or "udp", got "sctp"',
      'rxlb.toml:6:1: pool.web.policy: unknown policy "round-robbin"; did you mean "round-robin"? Known policies: round-robin, random, least-connections, power-of-two, source-hash, maglev, first, or a module path such as "./my-policy.js"',
      'rxlb.toml:7:1: pool.web.on_no_backend: expected "close" or "http-503", got "503"',
      'rxlb.toml:8:1: pool.web.idle_timeout: expected a duration such as "250ms", "5s", "1m", "1h" or an integer of milliseconds, got "10 minutes"',
      'rxlb.toml:10:1: pool.web.health.kind: expected "tcp" or "http", got "icmp"',
      'rxlb.toml:11:1: pool.web.health.timeout: expected a duration such as "250ms", "5s", "1m", "1h" or an integer of milliseconds, got "2sec"',
      'rxlb.toml:13:1: pool.web.backend[0].address: an IPv6 address needs brackets and a port, as in "[::1]:80", got "::1:8080"',
    ]);
  });
});

describe('listeners, pools and backends', () => {
  it('reports a listener that names a missing pool, suggesting a near one', () => {
    expect(problems(MINIMAL.replace('pool = "web"', 'pool = "wbe"'))).toEqual([
      'rxlb.toml:3:1: listener[0].pool: no pool named "wbe"; did you mean "web"?',
    ]);
    expect(problems(MINIMAL.replace('pool = "web"', 'pool = "api"'))).toEqual([
      'rxlb.toml:3:1: listener[0].pool: no pool named "api"; pools defined: web',
    ]);
  });

  it('reports missing required keys at the line of their table', () => {
    expect(problems('[[listener]]\nname = "x"\n[[pool.web.backend]]\nweight = 2\n')).toEqual([
      'rxlb.toml:1: listener[0].bind: missing required key "bind"',
      'rxlb.toml:1: listener[0].pool: missing required key "pool"',
      'rxlb.toml:3: pool.web.backend[0].address: missing required key "address"',
    ]);
  });

  it('reports a pool with no backend', () => {
    expect(problems(`${MINIMAL}[pool.api]\npolicy = "random"\n`)).toEqual([
      'rxlb.toml:7: pool.api.backend: a pool needs at least one backend: add a [[pool.api.backend]] table',
    ]);
    expect(problems(`${MINIMAL}[pool.api]\nbackend = []\n`)).toEqual([
      'rxlb.toml:8:1: pool.api.backend: a pool needs at least one backend: add a [[pool.api.backend]] table',
    ]);
  });

  it('reports a table where an array of tables belongs', () => {
    expect(problems('[listener]\nbind = "127.0.0.1:1"\npool = "web"\n[pool.web.backend]\naddress = "127.0.0.1:2"\n')).toEqual([
      'rxlb.toml:1:1: listener: expected an array of tables ([[listener]]), got a table',
      'rxlb.toml:4:1: pool.web.backend: expected an array of tables ([[pool.web.backend]]), got a table',
    ]);
  });

  it('requires at least one listener', () => {
    expect(problems('[[pool.web.backend]]\naddress = "127.0.0.1:2"\n')).toEqual([
      'rxlb.toml: listener: at least one listener is required: add a [[listener]] table with bind and pool',
    ]);
    expect(problems('')).toEqual(['rxlb.toml: listener: at least one listener is required: add a [[listener]] table with bind and pool']);
  });

  it('reports duplicate binds of one protocol, but not port 0 nor another protocol', () => {
    expect(
      problems(`${MINIMAL}[[listener]]
bind = "127.0.0.1:7070"
pool = "web"
[[listener]]
bind = "127.0.0.1:7070"
protocol = "udp"
pool = "web"
[[listener]]
bind = "127.0.0.1:0"
pool = "web"
[[listener]]
bind = "127.0.0.1:0"
pool = "web"
`),
    ).toEqual(['rxlb.toml:8:1: listener[1].bind: duplicate bind 127.0.0.1:7070 (tcp), also at listener[0].bind']);
  });

  it('compares binds in canonical form', () => {
    expect(
      problems(`[[listener]]\nbind = "[::1]:80"\npool = "web"\n[[listener]]\nbind = "[0:0::1]:80"\npool = "web"\n[[pool.web.backend]]\naddress = "127.0.0.1:1"\n`),
    ).toEqual(['rxlb.toml:5:1: listener[1].bind: duplicate bind [::1]:80 (tcp), also at listener[0].bind']);
  });

  it('reports an admin API on a listener bind', () => {
    expect(problems(`[admin]\nlisten = "127.0.0.1:7070"\n${MINIMAL}`)).toEqual([
      'rxlb.toml:4:1: listener[0].bind: duplicate bind 127.0.0.1:7070 (tcp), also at admin.listen',
    ]);
  });

  it('reports duplicate listener names, given or defaulted', () => {
    expect(
      problems(`${MINIMAL}[[listener]]
name = "listener-1"
bind = "127.0.0.1:7071"
pool = "web"
[[listener]]
name = "a"
bind = "127.0.0.1:7072"
pool = "web"
[[listener]]
name = "a"
bind = "127.0.0.1:7073"
pool = "web"
[[listener]]
name = ""
bind = "127.0.0.1:7074"
pool = "web"
`),
    ).toEqual([
      'rxlb.toml:8:1: listener[1].name: duplicate listener name "listener-1" (the default name of listener[0])',
      'rxlb.toml:16:1: listener[3].name: duplicate listener name "a" (also at listener[2].name)',
      'rxlb.toml:20:1: listener[4].name: must not be empty',
    ]);
  });

  it('reports the same backend address twice in a pool', () => {
    expect(problems(withMinimal('[[pool.web.backend]]\naddress = "127.0.0.1:08080"\n'))).toEqual([
      'rxlb.toml:8:1: pool.web.backend[1].address: duplicate backend 127.0.0.1:8080 in this pool (also at pool.web.backend[0].address)',
    ]);
  });

  it('keeps the address as written in origin and the canonical one in address', () => {
    const config = parse(MINIMAL.replace('127.0.0.1:8080', '[0:0:0:0:0:0:0:1]:8080'));
    expect(config.pools[0]?.backends[0]).toMatchObject({ address: '[::1]:8080', host: '::1', port: 8080, origin: '[0:0:0:0:0:0:0:1]:8080' });
  });
});

describe('protocol- and kind-specific keys', () => {
  it('reports session_timeout and max_sessions on a tcp listener', () => {
    expect(problems(MINIMAL.replace('pool = "web"', 'pool = "web"\nsession_timeout = "10s"\nmax_sessions = 5'))).toEqual([
      'rxlb.toml:4:1: listener[0].session_timeout: "session_timeout" applies to udp listeners only; this listener\'s protocol is "tcp"',
      'rxlb.toml:5:1: listener[0].max_sessions: "max_sessions" applies to udp listeners only; this listener\'s protocol is "tcp"',
    ]);
  });

  it('reports path and expect_status on a tcp health check', () => {
    expect(problems(withMinimal('[pool.web.health]\nkind = "tcp"\npath = "/healthz"\nexpect_status = "200"\n'))).toEqual([
      'rxlb.toml:9:1: pool.web.health.path: "path" applies to http health checks only; this check\'s kind is "tcp"',
      'rxlb.toml:10:1: pool.web.health.expect_status: "expect_status" applies to http health checks only; this check\'s kind is "tcp"',
    ]);
    expect(problems(withMinimal('[pool.web.health]\npath = "/healthz"\n'))).toEqual([
      'rxlb.toml:8:1: pool.web.health.path: "path" applies to http health checks only; this check\'s kind is "tcp"',
    ]);
  });

  it.each([
    ['"2xx"', [[200, 299]]],
    ['"5xx"', [[500, 599]]],
    ['"200"', [[200, 200]]],
    ['204', [[204, 204]]],
    ['"200-399"', [[200, 399]]],
  ])('reads expect_status = %s', (value, ranges) => {
    const config = parse(withMinimal(`[pool.web.health]\nkind = "http"\nexpect_status = ${value}\n`));
    expect(config.pools[0]?.health?.expectStatus).toEqual(ranges);
  });

  it('reports a bad expect_status or http path', () => {
    expect(problems(withMinimal('[pool.web.health]\nkind = "http"\nexpect_status = "2xxx"\npath = "healthz"\n'))).toEqual([
      'rxlb.toml:9:1: pool.web.health.expect_status: expected a status such as "2xx", "200" or "200-399" (100 to 599), got "2xxx"',
      'rxlb.toml:10:1: pool.web.health.path: expected a path starting with "/", got "healthz"',
    ]);
    expect(problems(withMinimal('[pool.web.health]\nkind = "http"\nexpect_status = true\npath = "/a b"\n'))).toEqual([
      'rxlb.toml:9:1: pool.web.health.expect_status: expected a string such as "2xx", "200" or "200-399", got a boolean (true)',
      'rxlb.toml:10:1: pool.web.health.path: a path must not contain spaces or control characters, got "/a b"',
    ]);
  });

  it('refuses [health] without a port on a pool behind a udp listener, whose backends\' own port is UDP', () => {
    const udp = MINIMAL.replace('pool = "web"', 'pool = "web"\nname = "dns"\nprotocol = "udp"');
    expect(problems(`${udp}[pool.web.health]\ninterval = "1s"\n`)).toEqual([
      'rxlb.toml:9:1: pool.web.health: a pool behind a udp listener ("dns") needs a health port: checks connect over TCP, and on the backends\' own (UDP) port they would fail and take every backend down; set port to a TCP port the backends answer on (a DNS server\'s TCP port, a status page), or remove [health]',
    ]);
    expect(parse(`${udp}[pool.web.health]\nport = 53\n`).pools[0]?.health).toMatchObject({ kind: 'tcp', port: 53 });
    expect(parse(`${udp}[pool.web.health]\nkind = "http"\nport = 8080\n`).pools[0]?.health).toMatchObject({ kind: 'http', port: 8080 });
    // the same table on a pool behind a tcp listener checks the backends' own port
    expect(parse(withMinimal('[pool.web.health]\ninterval = "1s"\n')).pools[0]?.health?.port).toBeUndefined();
  });

  it('accepts session settings on a udp listener', () => {
    const config = parse(MINIMAL.replace('pool = "web"', 'pool = "web"\nprotocol = "udp"\nsession_timeout = "10s"\nmax_sessions = 5'));
    expect(config.listeners[0]).toMatchObject({ protocol: 'udp', sessionTimeoutMs: 10_000, maxSessions: 5 });
  });
});

describe('admin', () => {
  it('requires listen when [admin] is there; the token is optional', () => {
    expect(problems(`[admin]\ntoken = "x"\n${MINIMAL}`)).toEqual(['rxlb.toml:1: admin.listen: missing required key "listen"']);
    expect(parse(`[admin]\nlisten = "127.0.0.1:9901"\n${MINIMAL}`).admin).toEqual({ listen: { host: '127.0.0.1', port: 9901 }, token: undefined });
    expect(problems(`[admin]\nlisten = "127.0.0.1:9901"\ntoken = ""\n${MINIMAL}`)).toEqual(['rxlb.toml:3:1: admin.token: must not be empty']);
  });
});

describe('all errors at once', () => {
  it('gives exactly the three mistakes of a file with three', () => {
    const found = issues(`[[listener]]
bind = "127.0.0.1:99999"
pool = "web"

[pool.web]
retries = -2

[[pool.web.backend]]
address = "127.0.0.1:8080"
weigth = 2
`);
    expect(found).toEqual([
      { file: 'rxlb.toml', path: 'listener[0].bind', line: 2, column: 1, message: 'port must be an integer from 0 to 65535, got "99999" in "127.0.0.1:99999"' },
      { file: 'rxlb.toml', path: 'pool.web.retries', line: 6, column: 1, message: 'must be an integer >= 0, got -2' },
      { file: 'rxlb.toml', path: 'pool.web.backend[0].weigth', line: 10, column: 1, message: 'Unknown key "weigth"; did you mean "weight"?' },
    ]);
  });

  it('sorts issues by line whatever order they were found in', () => {
    const lines = issues(`[[pool.web.backend]]\naddress = "x"\n[[listener]]\nbind = "y"\npool = "web"\n[global]\nmax_connections = -1\n`).map((i) => i.line);
    expect(lines).toEqual([2, 4, 7]);
  });
});

describe('layouts', () => {
  it('reports a file mixing layouts, naming the keys', () => {
    expect(problems(`[frontend]\nbind_on = "127.0.0.1:1"\n[[targets]]\naddress = "127.0.0.1:2"\n${MINIMAL}`)).toEqual([
      'rxlb.toml:3:1: targets: this file mixes layouts: "frontend" (mini-balancer layout) and "targets" (targets layout) and "listener", "pool" (rxlb layout); a file uses one layout',
    ]);
  });
});

describe('the pool table', () => {
  it('must hold tables', () => {
    expect(problems('pool = "web"\n[[listener]]\nbind = "127.0.0.1:7070"\npool = "web"\n')).toEqual([
      'rxlb.toml:1:1: pool: expected a table of pools such as [pool.web], got a string ("web")',
      'rxlb.toml:4:1: listener[0].pool: no pool named "web"; no [pool.<name>] table is defined',
    ]);
    expect(problems(withMinimal('[pool]\napi = 3\n'))).toEqual(['rxlb.toml:8:1: pool.api: expected a table, got an integer (3)']);
  });
});
