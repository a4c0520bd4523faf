import { promises as dns } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { formatEndpoint } from '../../src/config/endpoint.js';
import { refusedPort, runRxlb, startRxlb, testServers, writeTemp } from './harness.js';

testServers();

/** One listener on a free port in front of one backend, in the rxlb layout. */
const RXLB_FILE = '[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n\n[pool.web]\n[[pool.web.backend]]\naddress = "127.0.0.1:8080"\n';

describe('command line messages', () => {
  it('starts usage errors with rxlb:, as every other error, and exits 1', async () => {
    expect(await runRxlb(['-x'])).toEqual({ code: 1, stdout: '', stderr: "rxlb: unknown option '-x'\n" });
    expect(await runRxlb(['check'])).toEqual({ code: 1, stdout: '', stderr: "rxlb: required option '-c, --config <file>' not specified\n" });
  });

  it('says the host is missing from --admin 9901', async () => {
    expect(await runRxlb(['--admin', '9901', '127.0.0.1:9'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `rxlb: option '--admin <host:port>' argument '9901' is invalid. missing host in "9901": expected host:port such as "127.0.0.1:9901"\n`,
    });
  });

  it('says a string is not closed, at the line and column of its opening quote', async () => {
    const path = writeTemp('[[listener]]\nbind = "127.0.0.1:0\npool = "web"\n');
    expect(await runRxlb(['check', '-c', path])).toEqual({
      code: 1,
      stdout: '',
      stderr: `rxlb: ${path}:2:8: TOML syntax error: string not closed on line 2: add its closing "\n`,
    });
  });
});

describe('quick mode options beside a config file', () => {
  it('refuses --policy, --udp and backends with -c, each on its line, instead of ignoring them', async () => {
    const path = writeTemp(RXLB_FILE);
    expect(await runRxlb(['-c', path, '-p', 'random', '--udp', '127.0.0.1:9'])).toEqual({
      code: 1,
      stdout: '',
      stderr: [
        `rxlb: <command line>: backend: give backends on the command line or a config file (-c ${path}), not both`,
        `rxlb: <command line>: --policy: applies to quick mode only; with a config file (-c ${path}), each pool's policy is set in the file`,
        `rxlb: <command line>: --udp: applies to quick mode only; with a config file (-c ${path}), set protocol = "udp" on a [[listener]] in the file`,
        '',
      ].join('\n'),
    });
  });

  it('refuses --listen with a file that binds its own listeners, in rxlb and in check', async () => {
    const path = writeTemp(RXLB_FILE);
    const refused = `rxlb: <command line>: --listen: applies to quick mode and the targets layout only; ${path} says where to listen (listener.bind)\n`;
    expect(await runRxlb(['-c', path, '-l', '127.0.0.1:0'])).toEqual({ code: 1, stdout: '', stderr: refused });
    expect(await runRxlb(['check', '-c', path, '-l', '127.0.0.1:0'])).toEqual({ code: 1, stdout: '', stderr: refused });
    const mini = writeTemp('[frontend]\nbind_on = "127.0.0.1:0"\n[[frontend.backend]]\nforward_to = "127.0.0.1:8080"\n');
    expect((await runRxlb(['check', '-c', mini, '-l', '127.0.0.1:0'])).stderr).toBe(
      `rxlb: <command line>: --listen: applies to quick mode and the targets layout only; ${mini} says where to listen (frontend.bind_on)\n`,
    );
  });

  it('takes --listen for the targets layout, which has no bind of its own', async () => {
    const path = writeTemp('[[targets]]\naddress = "127.0.0.1:8001"\nhealth_check_endpoint = "/healthz"\n');
    const { code, stdout } = await runRxlb(['check', '-c', path, '-l', '127.0.0.1:7070']);
    expect(code).toBe(0);
    expect(stdout.split('\n')[3]).toBe('listener targets: tcp 127.0.0.1:7070 -> pool targets, max_connections unlimited');
  });

  it('reports the refused options together with the file\'s own errors', async () => {
    const path = writeTemp('[[listener]]\nbind = "127.0.0.1:0"\npool = "nope"\n');
    const { code, stderr } = await runRxlb(['-c', path, '--udp']);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `rxlb: <command line>: --udp: applies to quick mode only; with a config file (-c ${path}), set protocol = "udp" on a [[listener]] in the file\n` +
        `rxlb: ${path}:3:1: listener[0].pool: no pool named "nope"; no [pool.<name>] table is defined\n`,
    );
  });
});

describe('where rxlb listens', () => {
  it('says it with -q too: quick mode logs its listening record, pool default, and its admin API\'s, and nothing else', async () => {
    const rxlb = startRxlb(['-q', '--admin', '127.0.0.1:0', '127.0.0.1:9']);
    await rxlb.waitFor((r) => r.msg === 'listening');
    await rxlb.waitFor((r) => r.msg === 'admin listening');
    expect(await rxlb.stop()).toBe(0);
    const listening = rxlb.records.find((r) => r.msg === 'listening');
    expect(listening).toEqual({ time: expect.any(String), level: 'info', msg: 'listening', protocol: 'tcp', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), listener: 'listener-1', pool: 'default' });
    expect(Number(String(listening?.address).split(':')[1])).toBeGreaterThan(0);
    expect(rxlb.records.map((r) => r.msg).sort()).toEqual(['admin listening', 'listening']);
  });
});

describe('help', () => {
  it('names quick mode\'s pool, and says which options a config file refuses', async () => {
    const { code, stdout } = await runRxlb(['--help']);
    expect(code).toBe(0);
    const help = stdout.replace(/\s+/g, ' ');
    expect(help).toContain('quick mode: backends as host:port (a hostname means all its addresses), in one pool named "default"');
    expect(help).toContain('-p, --policy <name> quick mode policy (default round-robin); not with -c');
    expect(help).toContain('--udp quick mode over UDP instead of TCP; not with -c');
    expect(help).toContain('-q, --quiet warnings and errors only, and where rxlb listens');
  });
});

describe('rxlb check finds what would fail to bind', () => {
  it('refuses two listeners on one address, one written as a hostname, as starting would', async () => {
    const port = await refusedPort();
    const { address } = await dns.lookup('localhost'); // the address listen() binds for it
    const lines = ['[[listener]]', `bind = "${formatEndpoint({ host: address, port })}"`, 'pool = "web"', '', '[[listener]]', `bind = "localhost:${port}"`, 'pool = "web"', '', '[pool.web]', '[[pool.web.backend]]', 'address = "127.0.0.1:8080"', ''];
    const path = writeTemp(lines.join('\n'));
    const refused = `rxlb: ${path}:6:1: listener[1].bind: duplicate bind ${formatEndpoint({ host: address, port })} (tcp), also at listener[0].bind: "localhost" resolves to ${address}\n`;
    expect(await runRxlb(['check', '-c', path])).toEqual({ code: 1, stdout: '', stderr: refused });
    expect(await runRxlb(['-c', path])).toEqual({ code: 1, stdout: '', stderr: refused });
  });

  it('refuses a bind host and an [admin] listen host that do not resolve', async () => {
    const path = writeTemp('[admin]\nlisten = "admin.invalid:9901"\n\n[[listener]]\nbind = "edge.invalid:7070"\npool = "web"\n\n[pool.web]\n[[pool.web.backend]]\naddress = "127.0.0.1:8080"\n');
    expect(await runRxlb(['check', '-c', path])).toEqual({
      code: 1,
      stdout: '',
      stderr: `rxlb: ${path}:2:1: admin.listen: cannot resolve "admin.invalid": ENOTFOUND\nrxlb: ${path}:5:1: listener[0].bind: cannot resolve "edge.invalid": ENOTFOUND\n`,
    });
  });

  it('refuses [health] without a port on a pool behind a udp listener, which would drop every datagram', async () => {
    const path = writeTemp('[[listener]]\nname = "dns"\nbind = "127.0.0.1:0"\nprotocol = "udp"\npool = "resolvers"\n\n[pool.resolvers.health]\ninterval = "1s"\n\n[[pool.resolvers.backend]]\naddress = "127.0.0.1:5301"\n');
    const { code, stdout, stderr } = await runRxlb(['check', '-c', path]);
    expect([code, stdout]).toEqual([1, '']);
    expect(stderr).toMatch(new RegExp(`^rxlb: ${path.replace(/[.]/g, '\\.')}:7:1: pool\\.resolvers\\.health: a pool behind a udp listener \\("dns"\\) needs a health port: .*\n$`));
  });

  it('shows a bind hostname as the address it binds, and binds there', async () => {
    const path = writeTemp('[[listener]]\nbind = "localhost:0"\npool = "web"\n\n[pool.web]\n[[pool.web.backend]]\naddress = "127.0.0.1:8080"\n');
    const { address } = await dns.lookup('localhost');
    const { code, stdout } = await runRxlb(['check', '-c', path]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[3]).toBe(`listener listener-1: tcp ${formatEndpoint({ host: address, port: 0 })} -> pool web, max_connections unlimited`);
    const rxlb = startRxlb(['-c', path]);
    const bound = String((await rxlb.waitFor((r) => r.msg === 'listening')).address);
    expect(bound.slice(0, bound.lastIndexOf(':'))).toBe(formatEndpoint({ host: address, port: 0 }).slice(0, -':0'.length));
  });
});
