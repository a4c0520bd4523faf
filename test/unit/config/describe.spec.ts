import { describe, expect, it } from 'vitest';
import { describeConfig } from '../../../src/config/describe.js';
import { quickConfig } from '../../../src/config/quick.js';
import { parse } from './helpers.js';

describe('describeConfig', () => {
  it('summarises an rxlb config, one line per setting group', () => {
    const config = parse(`[global]
shutdown_grace = "10s"
[admin]
listen = "127.0.0.1:9901"
token = "s3cret"
[[listener]]
name = "web"
bind = "127.0.0.1:7070"
pool = "web"
max_connections = 100
[[listener]]
name = "dns"
bind = "[::1]:5353"
protocol = "udp"
pool = "dns"
[pool.web]
policy = "least-connections"
on_no_backend = "http-503"
[pool.web.health]
kind = "http"
path = "/healthz"
expect_status = "200-399"
port = 8081
[pool.web.passive]
[[pool.web.backend]]
address = "127.0.0.1:8080"
[[pool.web.backend]]
address = "LOCALHOST:8081"
weight = 2
max_connections = 10
backup = true
[pool.dns.health]
port = 53
interval = "1m30s"
[[pool.dns.backend]]
address = "127.0.0.1:53"
`);
    expect(describeConfig(config).split('\n')).toEqual([
      'rxlb.toml: rxlb layout: 2 listeners, 2 pools',
      'global: shutdown_grace 10s, max_connections unlimited',
      'admin: 127.0.0.1:9901, token required for changes',
      'listener web: tcp 127.0.0.1:7070 -> pool web, max_connections 100',
      'listener dns: udp [::1]:5353 -> pool dns, max_connections unlimited, session_timeout 1m, max_sessions unlimited',
      'pool web: policy least-connections, connect_timeout 3s, idle_timeout 10m, retries 2, on_no_backend http-503',
      '  health: http GET /healthz expecting 200-399 on port 8081, every 5s, timeout 2s, rise 2, fall 3',
      '  passive: eject for 30s after 5 consecutive connect failures',
      '  backend 127.0.0.1:8080: weight 1, max_connections unlimited',
      '  backend localhost:8081 (from LOCALHOST:8081): weight 2, max_connections 10, backup',
      'pool dns: policy round-robin, connect_timeout 3s, idle_timeout 10m, retries 2, on_no_backend close',
      '  health: tcp connect on port 53, every 1m30s, timeout 2s, rise 2, fall 3',
      '  passive: off',
      '  backend 127.0.0.1:53: weight 1, max_connections unlimited',
    ]);
  });

  it('says how the mini-balancer layout was understood', () => {
    const config = parse('[frontend]\nbind_on = "127.0.0.1:7070"\n[[frontend.backend]]\nforward_to = "127.0.0.1:8080"\n[[frontend.backend]]\nforward_to = "127.0.0.1:8081"\n');
    expect(describeConfig(config)).toBe(
      [
        'rxlb.toml: mini-balancer layout: 1 listener, 1 pool',
        'global: shutdown_grace 30s, max_connections unlimited',
        'admin: off',
        'listener frontend: tcp 127.0.0.1:7070 -> pool frontend, max_connections unlimited',
        'pool frontend: policy round-robin, connect_timeout 3s, idle_timeout 10m, retries 2, on_no_backend close',
        '  health: no active checks',
        '  passive: off',
        '  backend 127.0.0.1:8080: weight 1, max_connections unlimited',
        '  backend 127.0.0.1:8081: weight 1, max_connections unlimited',
      ].join('\n'),
    );
  });

  it('says where the targets layout listens and how it checks each target', () => {
    const text = '[[targets]]\naddress = "127.0.0.1:8001"\nhealth_check_endpoint = "/healthz"\n';
    const lines = describeConfig(parse(text)).split('\n');
    expect(lines).toEqual([
      'rxlb.toml: targets layout: 1 listener, 1 pool',
      'global: shutdown_grace 30s, max_connections unlimited',
      'admin: off',
      'listener targets: tcp 0.0.0.0:80 (the targets layout default; --listen sets another) -> pool targets, max_connections unlimited',
      'pool targets: policy round-robin, connect_timeout 3s, idle_timeout 10m, retries 2, on_no_backend http-503',
      "  health: http GET each backend's health path expecting 2xx, every 5s, timeout 2s, rise 1, fall 1",
      '  passive: off',
      '  backend 127.0.0.1:8001: weight 1, max_connections unlimited, health path /healthz',
    ]);
    expect(describeConfig(parse(text, { listen: { host: '127.0.0.1', port: 8000 } })).split('\n')[3]).toBe(
      'listener targets: tcp 127.0.0.1:8000 -> pool targets, max_connections unlimited',
    );
  });

  it('describes quick mode', () => {
    expect(describeConfig(quickConfig({ backends: ['127.0.0.1:8080'] })).split('\n').slice(0, 4)).toEqual([
      '<command line>: quick layout: 1 listener, 1 pool',
      'global: shutdown_grace 30s, max_connections unlimited',
      'admin: off',
      'listener listener-1: tcp 127.0.0.1:0 -> pool default, max_connections unlimited',
    ]);
  });
});
