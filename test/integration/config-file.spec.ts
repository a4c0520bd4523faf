import { describe, expect, it } from 'vitest';
import { RESPONSE_503 } from '../../src/io/tcp-client.js';
import { connect, listeningPort, named, readAll, readLine, refusedPort, runRxlb, startRxlb, testServers, writeTemp } from './harness.js';

const server = testServers();

const file = (text: string): string => writeTemp(text);

describe('config files', () => {
  it('runs the mini-balancer layout: connections 1, 2, 3 go to the first, second, first backend', async () => {
    const first = await server(named('first'));
    const second = await server(named('second'));
    const port = await refusedPort(); // free now
    const path = file(`[frontend]\nbind_on = "127.0.0.1:${port}"\n\n[[frontend.backend]]\nforward_to = "${first.address}"\n\n[[frontend.backend]]\nforward_to = "${second.address}"\n`);
    const rxlb = startRxlb(['-c', path]);
    expect(await listeningPort(rxlb, 'frontend')).toBe(port);
    const names: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const client = await connect(port);
      names.push(await readLine(client));
      client.destroy();
    }
    expect(names).toEqual(['first', 'second', 'first']);
  });

  it('answers the minimal 503 when no backend can be reached and on_no_backend = "http-503"', async () => {
    const first = `127.0.0.1:${await refusedPort()}`;
    const second = `127.0.0.1:${await refusedPort()}`;
    const path = file(
      [
        '[[listener]]',
        'name = "web"',
        'bind = "127.0.0.1:0"',
        'pool = "web"',
        '',
        '[pool.web]',
        'on_no_backend = "http-503"',
        'retries = 1',
        '',
        '[[pool.web.backend]]',
        `address = "${first}"`,
        '',
        '[[pool.web.backend]]',
        `address = "${second}"`,
        '',
      ].join('\n'),
    );
    const rxlb = startRxlb(['-c', path]);
    const client = await connect(await listeningPort(rxlb, 'web'));
    client.write('GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    expect((await readAll(client)).toString()).toBe(RESPONSE_503);
    expect(RESPONSE_503).toBe('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\nService Unavailable\n');
    expect(await rxlb.waitFor((r) => r.msg === 'connection closed')).toMatchObject({ listener: 'web', reason: 'connect_failed', backend: second }); // the backend tried last
  });

  it('exits 1 on a bad config, naming the file, the line and the key path of every error', async () => {
    const path = file(
      [
        '[[listener]]', // 1
        'bind = "127.0.0.1:0"', // 2
        'pool = "web"', // 3
        '', // 4
        '[pool.web]', // 5
        'polcy = "round-robin"', // 6
        '', // 7
        '[[pool.web.backend]]', // 8
        'address = "127.0.0.1:8080"', // 9
        '', // 10
        '[[pool.web.backend]]', // 11
        'address = "127.0.0.1:8081"', // 12
        'weight = 0', // 13
      ].join('\n'),
    );
    const { code, stderr, stdout } = await runRxlb(['-c', path]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`${path}:6`);
    expect(lines[0]).toContain('pool.web.polcy');
    expect(lines[0]).toContain('did you mean "policy"');
    expect(lines[1]).toContain(`${path}:13`);
    expect(lines[1]).toContain('pool.web.backend[1].weight');
  });

  it('reports a TOML syntax error with its line and column', async () => {
    const path = file('[[listener]]\nbind = "127.0.0.1:0\n');
    const { code, stderr } = await runRxlb(['-c', path]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^rxlb: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: `));
  });

  it('`rxlb check` exits 0 with a summary of a good file, 1 with the errors of a bad one', async () => {
    const good = file(`[frontend]\nbind_on = "127.0.0.1:7070"\n[[frontend.backend]]\nforward_to = "127.0.0.1:8080"\n`);
    const ok = await runRxlb(['check', '-c', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('mini-balancer');
    expect(ok.stdout).toContain('127.0.0.1:8080');
    const bad = await runRxlb(['check', '-c', file('[[listener]]\nbind = "127.0.0.1:0"\npool = "nope"\n')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('listener[0].pool');
  });
});
