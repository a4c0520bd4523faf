import { afterEach, describe, expect, it } from 'vitest';
import { type TestServer, connect, killAll, listeningPort, named, readAll, readLine, startRxlb, startServer, writeTemp } from './harness.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await killAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const file = (lines: string[]): string => writeTemp(lines.join('\n'));

describe('max_connections', () => {
  it('closes a connection over the listener limit at once, with reason limit, and serves again once one ends', async () => {
    const a = await startServer(named('a'));
    servers.push(a);
    const rxlb = startRxlb(['-c', file(['[[listener]]', 'name = "web"', 'bind = "127.0.0.1:0"', 'pool = "web"', 'max_connections = 1', '[[pool.web.backend]]', `address = "${a.address}"`])]);
    const port = await listeningPort(rxlb, 'web');
    const first = await connect(port);
    expect(await readLine(first)).toBe('a');
    const second = await connect(port);
    expect((await readAll(second)).length).toBe(0); // closed without a byte
    expect(await rxlb.waitFor((r) => r.msg === 'connection closed')).toMatchObject({ listener: 'web', reason: 'limit', backend: null });
    first.end();
    await readAll(first);
    await rxlb.waitFor((r) => r.msg === 'connection closed' && r.reason === 'client_closed');
    const third = await connect(port);
    expect(await readLine(third)).toBe('a');
    third.destroy();
  });

  it('skips a full backend, and refuses with limit when every backend is full', async () => {
    const a = await startServer(named('a'));
    const b = await startServer(named('b'));
    servers.push(a, b);
    const rxlb = startRxlb([
      '-c',
      file([
        '[[listener]]',
        'name = "web"',
        'bind = "127.0.0.1:0"',
        'pool = "web"',
        '[pool.web]',
        'policy = "first"',
        '[[pool.web.backend]]',
        `address = "${a.address}"`,
        'max_connections = 1',
        '[[pool.web.backend]]',
        `address = "${b.address}"`,
        'max_connections = 1',
      ]),
    ]);
    const port = await listeningPort(rxlb, 'web');
    const one = await connect(port);
    expect(await readLine(one)).toBe('a');
    const two = await connect(port);
    expect(await readLine(two)).toBe('b'); // a is full
    const three = await connect(port);
    expect((await readAll(three)).length).toBe(0);
    expect(await rxlb.waitFor((r) => r.msg === 'connection closed')).toMatchObject({ reason: 'limit', backend: null });
    one.destroy();
    two.destroy();
  });
});
