import { isIP } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { quickConfig } from '../../../src/config/quick.js';
import { resolveConfig, type Lookup } from '../../../src/config/resolve.js';
import { ConfigError, ResolveError, formatIssue } from '../../../src/errors.js';
import { deeplyFrozen } from './helpers.js';

/** A lookup from a table; a missing name fails as the system's does. */
function fakeLookup(table: Record<string, string[]>): Lookup {
  return vi.fn(async (hostname: string) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: isIP(address) }));
  });
}

const CONFIG = `[[listener]]
bind = "127.0.0.1:7070"
pool = "web"

[[pool.web.backend]]
address = "app.internal:8080"
weight = 3
max_connections = 10
backup = true

[[pool.web.backend]]
address = "127.0.0.1:9000"

[[pool.api.backend]]
address = "app.internal:8080"
`;

describe('resolveConfig', () => {
  it('replaces a hostname backend by one per address, in order, keeping its settings', async () => {
    const lookup = fakeLookup({ 'app.internal': ['10.0.0.2', 'fd00::2', '10.0.0.1'] });
    const config = await resolveConfig(parseConfigText(CONFIG, 'rxlb.toml'), lookup);
    const settings = { port: 8080, origin: 'app.internal:8080', weight: 3, maxConnections: 10, backup: true, healthPath: undefined };
    expect(config.pools[0]?.backends).toEqual([
      { address: '10.0.0.2:8080', host: '10.0.0.2', ...settings },
      { address: '[fd00::2]:8080', host: 'fd00::2', ...settings },
      { address: '10.0.0.1:8080', host: '10.0.0.1', ...settings },
      { address: '127.0.0.1:9000', host: '127.0.0.1', port: 9000, origin: '127.0.0.1:9000', weight: 1, maxConnections: 0, backup: false, healthPath: undefined },
    ]);
    expect(config.pools[1]?.backends.map((b) => b.address)).toEqual(['10.0.0.2:8080', '[fd00::2]:8080', '10.0.0.1:8080']);
    expect(lookup).toHaveBeenCalledTimes(1); // once per hostname
    expect(lookup).toHaveBeenCalledWith('app.internal', { all: true });
    expect(deeplyFrozen(config)).toBe(true);
  });

  it('keeps the targets health path of a resolved backend', async () => {
    const config = parseConfigText('[[targets]]\naddress = "app:80"\nhealth_check_endpoint = "/up"\n', 't.toml');
    const resolved = await resolveConfig(config, fakeLookup({ app: ['10.0.0.1'] }));
    expect(resolved.pools[0]?.backends[0]).toMatchObject({ address: '10.0.0.1:80', origin: 'app:80', healthPath: '/up' });
  });

  it('gives back the same config when every host is an IP address', async () => {
    const config = parseConfigText(CONFIG.replaceAll('app.internal', '10.1.1.1'), 'rxlb.toml');
    const lookup = fakeLookup({});
    expect(await resolveConfig(config, lookup)).toBe(config);
    expect(lookup).not.toHaveBeenCalled();
  });

  it('keeps the first of backends that resolve to the same address in a pool', async () => {
    const config = parseConfigText(
      '[[listener]]\nbind = "127.0.0.1:1"\npool = "web"\n[[pool.web.backend]]\naddress = "a:80"\n[[pool.web.backend]]\naddress = "127.0.0.1:80"\nweight = 5\n[[pool.web.backend]]\naddress = "b:80"\n',
      'rxlb.toml',
    );
    const resolved = await resolveConfig(config, fakeLookup({ a: ['127.0.0.1', '127.0.0.2'], b: ['127.0.0.2', '127.0.0.3'] }));
    expect(resolved.pools[0]?.backends.map((b) => [b.address, b.origin, b.weight])).toEqual([
      ['127.0.0.1:80', 'a:80', 1],
      ['127.0.0.2:80', 'a:80', 1],
      ['127.0.0.3:80', 'b:80', 1],
    ]);
  });

  it('reports every failed lookup at its backend, with the line when the config came from a file', async () => {
    const config = parseConfigText(
      `${CONFIG}[[pool.api.backend]]\naddress = "nohost.invalid:80"\n`,
      'rxlb.toml',
    );
    const err = await resolveConfig(config, fakeLookup({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map(formatIssue)).toEqual([
      'rxlb.toml:6:1: pool.web.backend[0].address: cannot resolve "app.internal": ENOTFOUND',
      'rxlb.toml:15:1: pool.api.backend[0].address: cannot resolve "app.internal": ENOTFOUND',
      'rxlb.toml:17:1: pool.api.backend[1].address: cannot resolve "nohost.invalid": ENOTFOUND',
    ]);
    expect((err as ConfigError).cause).toBeInstanceOf(ResolveError);
  });

  it('names the layout-specific key of a seed or quick-mode backend', async () => {
    const mini = parseConfigText('[frontend]\nbind_on = "127.0.0.1:1"\n[[frontend.backend]]\nforward_to = "nohost.invalid:80"\n', 'm.toml');
    await expect(resolveConfig(mini, fakeLookup({}))).rejects.toThrow('m.toml:4:1: frontend.backend[0].forward_to: cannot resolve "nohost.invalid": ENOTFOUND');
    const targets = parseConfigText('[[targets]]\naddress = "127.0.0.1:1"\n[[targets]]\naddress = "nohost.invalid:80"\n', 't.toml');
    await expect(resolveConfig(targets, fakeLookup({}))).rejects.toThrow('t.toml:4:1: targets[1].address: cannot resolve "nohost.invalid": ENOTFOUND');
    const quick = quickConfig({ backends: ['127.0.0.1:1', 'nohost.invalid:80'] });
    await expect(resolveConfig(quick, fakeLookup({}))).rejects.toThrow('<command line>: backend[1]: cannot resolve "nohost.invalid": ENOTFOUND');
  });

  it('reports a lookup that gives no address, or that throws at once', async () => {
    const quick = quickConfig({ backends: ['empty:1', 'sync:2'] });
    const lookup: Lookup = async (hostname) => {
      if (hostname === 'empty') return [];
      throw new Error('resolver broken');
    };
    const err = (await resolveConfig(quick, lookup).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues.map(formatIssue)).toEqual([
      '<command line>: backend[0]: "empty" resolved to no address',
      '<command line>: backend[1]: cannot resolve "sync": resolver broken',
    ]);
  });

  it('binds a listener or the admin API at the first address its hostname resolves to', async () => {
    const config = parseConfigText(
      '[admin]\nlisten = "admin.internal:9901"\n[[listener]]\nbind = "edge.internal:7070"\npool = "web"\n[[pool.web.backend]]\naddress = "127.0.0.1:80"\n',
      'rxlb.toml',
    );
    const resolved = await resolveConfig(config, fakeLookup({ 'admin.internal': ['127.0.0.2', '127.0.0.3'], 'edge.internal': ['fd00::7', '10.0.0.7'] }));
    expect(resolved.admin?.listen).toEqual({ host: '127.0.0.2', port: 9901 });
    expect(resolved.listeners[0]?.bind).toEqual({ host: 'fd00::7', port: 7070 });
    expect(deeplyFrozen(resolved)).toBe(true);
  });

  it('reports a bind that binds, once resolved, what another listener or the admin API binds', async () => {
    const text = [
      '[admin]', // 1
      'listen = "localhost:9901"', // 2
      '[[listener]]', // 3
      'bind = "127.0.0.1:7070"', // 4
      'pool = "web"', // 5
      '[[listener]]', // 6
      'bind = "localhost:7070"', // 7
      'pool = "web"', // 8
      '[[listener]]', // 9
      'bind = "127.0.0.1:9901"', // 10
      'pool = "web"', // 11
      '[[listener]]', // 12: another protocol, another socket
      'bind = "localhost:7070"', // 13
      'protocol = "udp"', // 14
      'pool = "web"', // 15
      '[[listener]]', // 16: port 0, a free port each
      'bind = "localhost:0"', // 17
      'pool = "web"', // 18
      '[[listener]]', // 19
      'bind = "127.0.0.1:0"', // 20
      'pool = "web"', // 21
      '[[pool.web.backend]]',
      'address = "127.0.0.1:80"',
    ].join('\n');
    const err = (await resolveConfig(parseConfigText(text, 'rxlb.toml'), fakeLookup({ localhost: ['127.0.0.1'] })).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues.map(formatIssue)).toEqual([
      'rxlb.toml:2:1: admin.listen: duplicate bind 127.0.0.1:9901 (tcp), also at listener[2].bind: "localhost" resolves to 127.0.0.1',
      'rxlb.toml:7:1: listener[1].bind: duplicate bind 127.0.0.1:7070 (tcp), also at listener[0].bind: "localhost" resolves to 127.0.0.1',
    ]);
  });

  it('reports a bind or admin host that does not resolve, at its key path', async () => {
    const text = '[admin]\nlisten = "nohost.invalid:9901"\n[[listener]]\nbind = "nobind.invalid:7070"\npool = "web"\n[[pool.web.backend]]\naddress = "127.0.0.1:80"\n';
    const err = (await resolveConfig(parseConfigText(text, 'rxlb.toml'), fakeLookup({})).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues.map(formatIssue)).toEqual([
      'rxlb.toml:2:1: admin.listen: cannot resolve "nohost.invalid": ENOTFOUND',
      'rxlb.toml:4:1: listener[0].bind: cannot resolve "nobind.invalid": ENOTFOUND',
    ]);
    const mini = parseConfigText('[frontend]\nbind_on = "nohost.invalid:1"\n[[frontend.backend]]\nforward_to = "127.0.0.1:80"\n', 'm.toml');
    await expect(resolveConfig(mini, fakeLookup({}))).rejects.toThrow('m.toml:2:1: frontend.bind_on: cannot resolve "nohost.invalid": ENOTFOUND');
    const quick = quickConfig({ backends: ['127.0.0.1:1'], listen: 'nohost.invalid:0' });
    await expect(resolveConfig(quick, fakeLookup({}))).rejects.toThrow('<command line>: --listen: cannot resolve "nohost.invalid": ENOTFOUND');
  });

  it('resolves localhost with the system resolver', async () => {
    const config = await resolveConfig(quickConfig({ backends: ['localhost:8080'] }));
    const backends = config.pools[0]?.backends ?? [];
    expect(backends.length).toBeGreaterThan(0);
    for (const backend of backends) {
      expect(isIP(backend.host)).not.toBe(0);
      expect(backend.origin).toBe('localhost:8080');
    }
    expect(backends.map((b) => b.address).some((a) => a === '127.0.0.1:8080' || a === '[::1]:8080')).toBe(true);
  });
});
