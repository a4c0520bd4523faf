import { describe, expect, it } from 'vitest';
import type { Config, PoolConfig } from '../../../src/config/types.js';
import { deeplyFrozen, NO_DOOR, parse, problems } from './helpers.js';

const backend = (address: string, healthPath?: string): PoolConfig['backends'][number] => {
  const [host = '', port = '0'] = address.split(':');
  return { address, host, port: Number(port), origin: address, weight: 1, maxConnections: 0, backup: false, healthPath };
};

describe('the mini-balancer layout', () => {
  const MINI = `# the mini-balancer layout: one frontend, round robin
[frontend]
bind_on = "127.0.0.1:7070"
[[frontend.backend]]
forward_to = "127.0.0.1:8080"
[[frontend.backend]]
forward_to = "127.0.0.1:8081"
`;

  it('becomes one listener and one round-robin pool named frontend, backends in order', () => {
    const expected: Config = {
      source: 'rxlb.toml',
      layout: 'mini-balancer',
      global: { shutdownGraceMs: 30_000, maxConnections: 0 },
      admin: undefined,
      listeners: [
        { name: 'frontend', bind: { host: '127.0.0.1', port: 7070 }, protocol: 'tcp', pool: 'frontend', maxConnections: 0, sessionTimeoutMs: 60_000, maxSessions: 0, ...NO_DOOR },
      ],
      pools: [
        {
          name: 'frontend',
          policy: 'round-robin',
          connectTimeoutMs: 3_000,
          idleTimeoutMs: 600_000,
          retries: 2,
          onNoBackend: 'close',
          proxyProtocol: undefined,
          health: undefined,
          passive: undefined,
          backends: [backend('127.0.0.1:8080'), backend('127.0.0.1:8081')],
        },
      ],
    };
    const config = parse(MINI);
    expect(config).toEqual(expected);
    expect(deeplyFrozen(config)).toBe(true);
  });

  it('ignores --listen: the file says where to bind', () => {
    expect(parse(MINI, { listen: { host: '0.0.0.0', port: 9 } }).listeners[0]?.bind).toEqual({ host: '127.0.0.1', port: 7070 });
  });

  it('reports unknown keys, missing keys and bad addresses with their paths', () => {
    expect(
      problems(`[frontend]
bind_on = "127.0.0.1"
policy = "random"
[[frontend.backend]]
forward = "127.0.0.1:8080"
[[frontend.backend]]
forward_to = "127.0.0.1:http"
`),
    ).toEqual([
      'rxlb.toml:2:1: frontend.bind_on: missing port in "127.0.0.1": expected host:port such as "127.0.0.1:80", "[::1]:80" or "localhost:8080"',
      'rxlb.toml:3:1: frontend.policy: Unknown key "policy"; known keys here: bind_on, backend',
      'rxlb.toml:4: frontend.backend[0].forward_to: missing required key "forward_to"',
      'rxlb.toml:5:1: frontend.backend[0].forward: Unknown key "forward"; did you mean "forward_to"?',
      'rxlb.toml:7:1: frontend.backend[1].forward_to: port must be an integer from 0 to 65535, got "http" in "127.0.0.1:http"',
    ]);
  });

  it('needs a bind and at least one backend', () => {
    expect(problems('[frontend]\n')).toEqual([
      'rxlb.toml:1: frontend.bind_on: missing required key "bind_on"',
      'rxlb.toml:1: frontend.backend: at least one backend is required: add a [[frontend.backend]] table with forward_to',
    ]);
  });
});

describe('the targets layout', () => {
  const TARGETS = `[[targets]]
address = "127.0.0.1:8001"
health_check_endpoint = "/healthz"

[[targets]]
address = "127.0.0.1:8002"
`;

  const expected = (bind: { host: string; port: number }): Config => ({
    source: 'rxlb.toml',
    layout: 'targets',
    global: { shutdownGraceMs: 30_000, maxConnections: 0 },
    admin: undefined,
    listeners: [{ name: 'targets', bind, protocol: 'tcp', pool: 'targets', maxConnections: 0, sessionTimeoutMs: 60_000, maxSessions: 0, ...NO_DOOR }],
    pools: [
      {
        name: 'targets',
        policy: 'round-robin',
        connectTimeoutMs: 3_000,
        idleTimeoutMs: 600_000,
        retries: 2,
        onNoBackend: 'http-503',
        proxyProtocol: undefined,
        health: { kind: 'http', port: undefined, path: '/', expectStatus: [[200, 299]], intervalMs: 5_000, timeoutMs: 2_000, rise: 1, fall: 1, sendProxy: false },
        passive: undefined,
        backends: [backend('127.0.0.1:8001', '/healthz'), backend('127.0.0.1:8002', '/')],
      },
    ],
  });

  it('listens on 0.0.0.0:80 without --listen, checking each target by HTTP at its own endpoint', () => {
    const config = parse(TARGETS);
    expect(config).toEqual(expected({ host: '0.0.0.0', port: 80 }));
    expect(deeplyFrozen(config)).toBe(true);
  });

  it('listens where --listen says', () => {
    expect(parse(TARGETS, { listen: { host: '127.0.0.1', port: 0 } })).toEqual(expected({ host: '127.0.0.1', port: 0 }));
  });

  it('reports unknown keys, missing addresses and bad endpoints', () => {
    expect(
      problems(`[[targets]]
address = "127.0.0.1:8001"
health_check = "/healthz"
[[targets]]
health_check_endpoint = "healthz"
[[targets]]
address = "127.0.0.1:8001"
`),
    ).toEqual([
      'rxlb.toml:3:1: targets[0].health_check: Unknown key "health_check"; did you mean "health_check_endpoint"?',
      'rxlb.toml:4: targets[1].address: missing required key "address"',
      'rxlb.toml:5:1: targets[1].health_check_endpoint: expected a path starting with "/", got "healthz"',
      'rxlb.toml:7:1: targets[2].address: duplicate backend 127.0.0.1:8001 in this pool (also at targets[0].address)',
    ]);
  });

  it('needs an array of tables with at least one target', () => {
    expect(problems('targets = []\n')).toEqual([
      'rxlb.toml:1:1: targets: at least one target is required: add a [[targets]] table with address',
    ]);
    expect(problems('[targets]\naddress = "127.0.0.1:1"\n')).toEqual([
      'rxlb.toml:1:1: targets: expected an array of tables ([[targets]]), got a table',
    ]);
  });

  it('reports keys of another layout next to it', () => {
    expect(problems(`${TARGETS}[[listener]]\nbind = "127.0.0.1:1"\n`)).toEqual([
      'rxlb.toml:7:1: listener: this file mixes layouts: "targets" (targets layout) and "listener" (rxlb layout); a file uses one layout',
    ]);
  });

  it('suggests among its own keys for an unknown top-level key', () => {
    expect(problems(`${TARGETS}[[target]]\naddress = "127.0.0.1:1"\n`)).toEqual([
      'rxlb.toml:7:1: target: Unknown key "target"; did you mean "targets"?',
    ]);
  });
});
