import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { alpn, hello, serverName } from '../unit/wire/hello-builder.js';
import { adminBase, rejected, scrape, status, value } from './admin-harness.js';
import { type LogRecord, type Rxlb, type TestServer, listeningPort, named, readAll, readLine, sha256, startRxlb, testServers, writeTemp } from './harness.js';

const server = testServers();

/** Connects from `localAddress` (any of 127.0.0.0/8 is this machine on Linux). */
async function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}

/** The name a new connection's backend says, or '' when rxlb closes it without a byte. */
async function probe(port: number, from: string): Promise<string> {
  const socket = await connectFrom(port, from);
  const all = readAll(socket);
  socket.end();
  return (await all).toString('latin1').split('\n')[0] ?? '';
}

/** Pools named after their one backend each: `[pool.<name>]` with the server's address. */
const poolLines = (pools: Record<string, TestServer>): string[] => Object.entries(pools).flatMap(([name, s]) => [`[[pool.${name}.backend]]`, `address = "${s.address}"`, '']);

const closedWith = (reason: string) => (r: LogRecord): boolean => r.msg === 'connection closed' && r.reason === reason;

async function counts(rxlb: Rxlb, listener: string): Promise<{ metrics: Record<string, number | undefined>; status: Record<string, number> | undefined }> {
  const base = await adminBase(rxlb);
  const metrics = await scrape(base);
  const view = await status(base);
  const reasons = ['denied', 'rate_limit', 'limit', 'no_route'];
  return {
    metrics: Object.fromEntries(reasons.map((reason) => [reason, value(metrics, 'rxlb_connections_rejected_total', { listener, reason })])),
    status: view.listeners.find((l) => l.name === listener)?.rejected,
  };
}

/**
 * A backend that says its name on connect, keeps what it receives, and at the client's
 * end answers with the SHA-256 of all of it, then ends.
 */
const recorder =
  (name: string) =>
  (socket: net.Socket): void => {
    const chunks: Buffer[] = [];
    socket.write(`${name}\n`);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(`${sha256(Buffer.concat(chunks))}\n`));
  };

describe('routing at the door (real CLI)', () => {
  it('closes a denied client at once and counts it, logging it at debug only, while allowed clients are served', async () => {
    const a = await server(named('a'));
    const rxlb = startRxlb([
      '-c',
      writeTemp(['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "a"', 'allow = ["127.0.0.0/24"]', 'deny = ["127.0.0.2", "127.0.0.16/28"]', '', ...poolLines({ a })].join('\n')),
      '--admin',
      '127.0.0.1:0',
    ]);
    const port = await listeningPort(rxlb, 'edge');
    expect(await probe(port, '127.0.0.2')).toBe('');
    expect(await probe(port, '127.0.0.17')).toBe('');
    expect(await probe(port, '127.0.1.1')).toBe(''); // outside allow
    expect(await probe(port, '127.0.0.1')).toBe('a');
    expect(await probe(port, '127.0.0.3')).toBe('a');
    await rxlb.waitFor((r) => r.msg === 'connection closed' && r.client !== undefined && String(r.client).startsWith('127.0.0.3:'));
    expect(a.accepted()).toBe(2);
    expect(await counts(rxlb, 'edge')).toEqual({ metrics: { denied: 3, rate_limit: 0, limit: 0, no_route: 0 }, status: rejected({ denied: 3 }) });
    expect(rxlb.records.filter(closedWith('denied'))).toEqual([]);
  });

  it('holds a client to connection_rate_per_client, refusing the excess as rate_limit, while other clients are served', async () => {
    const a = await server(named('a'));
    const rxlb = startRxlb(['-c', writeTemp(['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "a"', 'connection_rate_per_client = "2/m"', '', ...poolLines({ a })].join('\n')), '--admin', '127.0.0.1:0']);
    const port = await listeningPort(rxlb, 'edge');
    const greedy = [await probe(port, '127.0.0.1'), await probe(port, '127.0.0.1'), await probe(port, '127.0.0.1'), await probe(port, '127.0.0.1')];
    expect(greedy).toEqual(['a', 'a', '', '']);
    expect([await probe(port, '127.0.0.4'), await probe(port, '127.0.0.5')]).toEqual(['a', 'a']);
    const refused = await rxlb.waitFor(closedWith('rate_limit'));
    expect(refused).toMatchObject({ level: 'info', listener: 'edge', backend: null, bytes_up: 0, bytes_down: 0 });
    // the first refusal warns at once; the next waits for the minute's count
    expect(await rxlb.waitFor((r) => r.msg === 'rate limited')).toMatchObject({ level: 'warn', listener: 'edge', count: 1, client: refused.client });
    expect(await counts(rxlb, 'edge')).toEqual({ metrics: { denied: 0, rate_limit: 2, limit: 0, no_route: 0 }, status: rejected({ rate_limit: 2 }) });
  });

  it('holds a client to max_connections_per_client open connections, and takes it again once one closes', async () => {
    const a = await server(named('a'));
    const rxlb = startRxlb(['-c', writeTemp(['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "a"', 'max_connections_per_client = 2', '', ...poolLines({ a })].join('\n')), '--admin', '127.0.0.1:0']);
    const port = await listeningPort(rxlb, 'edge');
    const held = [await connectFrom(port, '127.0.0.1'), await connectFrom(port, '127.0.0.1')];
    expect(await Promise.all(held.map(readLine))).toEqual(['a', 'a']);
    expect(await probe(port, '127.0.0.1')).toBe('');
    expect(await rxlb.waitFor(closedWith('limit'))).toMatchObject({ listener: 'edge', backend: null });
    expect(await probe(port, '127.0.0.8')).toBe('a'); // another client is not held to the first one's count
    const first = held[0]!;
    const client = `127.0.0.1:${first.localPort}`;
    first.end();
    first.resume();
    await once(first, 'end');
    await rxlb.waitFor((r) => r.msg === 'connection closed' && r.client === client);
    expect(await probe(port, '127.0.0.1')).toBe('a');
    expect(await counts(rxlb, 'edge')).toEqual({ metrics: { denied: 0, rate_limit: 0, limit: 1, no_route: 0 }, status: rejected({ limit: 1 }) });
    held[1]?.destroy();
  });

  it('routes by source, closes what no route takes when the listener has no pool, and follows a reload of its routes', async () => {
    const a = await server(named('a'));
    const b = await server(named('b'));
    const text = (routes: string[][]): string =>
      ['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', '', ...routes.flatMap(([source, pool]) => ['[[listener.route]]', `source = ["${source}"]`, `pool = "${pool}"`, '']), ...poolLines({ a, b })].join('\n');
    const file = writeTemp(text([['127.0.0.7', 'b'], ['127.0.0.0/30', 'a']]));
    const rxlb = startRxlb(['-c', file, '--admin', '127.0.0.1:0']);
    const port = await listeningPort(rxlb, 'edge');
    expect([await probe(port, '127.0.0.7'), await probe(port, '127.0.0.1'), await probe(port, '127.0.0.9')]).toEqual(['b', 'a', '']);
    expect(await rxlb.waitFor(closedWith('no_route'))).toMatchObject({ listener: 'edge', backend: null });
    const served = await rxlb.waitFor((r) => r.msg === 'connection closed' && String(r.client).startsWith('127.0.0.7:'));
    expect(served).toMatchObject({ backend: b.address, route: 0 });

    writeFileSync(file, text([['127.0.0.9', 'b'], ['127.0.0.0/24', 'a']]));
    rxlb.child.kill('SIGHUP');
    const reloaded = await rxlb.waitFor((r) => r.msg === 'config reloaded');
    expect(reloaded.changes).toEqual([expect.stringMatching(/^listener changed: edge tcp 127\.0\.0\.1:0 \(route\)$/)]);
    expect([await probe(port, '127.0.0.9'), await probe(port, '127.0.0.7'), await probe(port, '127.0.1.1')]).toEqual(['b', 'a', '']);
    expect(await counts(rxlb, 'edge')).toEqual({ metrics: { denied: 0, rate_limit: 0, limit: 0, no_route: 2 }, status: rejected({ no_route: 2 }) });
  });

  it('routes TLS by server name and forwards every byte the door read, and a client without one to the default pool', async () => {
    const api = await server(recorder('api'));
    const h2 = await server(recorder('h2'));
    const plain = await server(recorder('plain'));
    const rxlb = startRxlb([
      '-c',
      writeTemp(
        [
          '[[listener]]',
          'name = "edge"',
          'bind = "127.0.0.1:0"',
          'pool = "plain"',
          'preread_timeout = "200ms"',
          '',
          '[[listener.route]]',
          'sni = ["api.example.com"]',
          'pool = "api"',
          '',
          '[[listener.route]]',
          'sni = ["*.example.com"]',
          'alpn = ["h2"]',
          'pool = "h2"',
          '',
          ...poolLines({ api, h2, plain }),
        ].join('\n'),
      ),
    ]);
    const port = await listeningPort(rxlb, 'edge');
    /** Sends `parts` one write each, then its end; gives the backend's name and the hash of what it received. */
    const send = async (parts: readonly Buffer[]): Promise<[string, string]> => {
      const socket = await connectFrom(port, '127.0.0.1');
      socket.setNoDelay(true);
      const answer = readAll(socket);
      for (const part of parts) await new Promise<void>((resolve) => socket.write(part, () => resolve()));
      socket.end();
      const [name = '', hash = ''] = (await answer).toString('latin1').split('\n');
      return [name, hash];
    };
    const apiHello = hello({ extensions: [serverName('API.example.com'), alpn(['h2'])] });
    const wwwHello = hello({ extensions: [alpn(['http/1.1', 'h2']), serverName('www.example.com')] });
    const after = Buffer.from('\x17\x03\x03\x00\x04data', 'latin1');
    const all = (...parts: Buffer[]): string => sha256(Buffer.concat(parts));

    expect(await send([apiHello.subarray(0, 3), apiHello.subarray(3, 50), apiHello.subarray(50), after])).toEqual(['api', all(apiHello, after)]);
    expect(await send([Buffer.concat([wwwHello, after])])).toEqual(['h2', all(wwwHello, after)]);
    // no TLS: the default pool gets every byte
    expect(await send([Buffer.from('PING\r\n')])).toEqual(['plain', all(Buffer.from('PING\r\n'))]);
    // half a hello, then the client's FIN: the default pool gets the half, and the end
    expect(await send([apiHello.subarray(0, 40)])).toEqual(['plain', all(apiHello.subarray(0, 40))]);
    // a client that waits for the server to speak first reaches the default pool at preread_timeout
    const waiting = await connectFrom(port, '127.0.0.1');
    expect(await readLine(waiting)).toBe('plain');
    waiting.destroy();

    const records = await Promise.all(['api', 'h2'].map((name) => rxlb.waitFor((r) => r.msg === 'connection closed' && r.backend === (name === 'api' ? api : h2).address)));
    expect(records.map((r) => [r.sni, r.route, r.reason])).toEqual([
      ['api.example.com', 0, 'client_closed'],
      ['www.example.com', 1, 'client_closed'],
    ]);
  });
});
