import dgram from 'node:dgram';
import { once } from 'node:events';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeProxyV2 } from '../../src/wire/proxy-header.js';
import { adminBase, scrape, value } from './admin-harness.js';
import { type LogRecord, type Rxlb, connect, echo, listeningPort, pattern, readAll, startRxlb, testServers, writeTemp } from './harness.js';
import { startUdpServer } from './udp-harness.js';

const server = testServers();
const file = (lines: readonly string[]): string => writeTemp(lines.join('\n'));

/**
 * A backend that keeps every byte of each connection, and answers `answer` once the
 * client has ended; `connection(n)` resolves with the bytes of its n-th connection (from
 * 0) once it has ended or closed.
 */
async function recorder(answer = '') {
  const ended: ((bytes: Buffer) => void)[] = [];
  const connections: Promise<Buffer>[] = [];
  const connection = (n: number): Promise<Buffer> => {
    while (connections.length <= n) connections.push(new Promise((resolve) => ended.push(resolve)));
    return connections[n]!;
  };
  let accepted = 0;
  const s = await server((socket: net.Socket) => {
    const n = accepted;
    accepted += 1;
    void connection(n);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => socket.end(answer));
    socket.once('close', () => ended[n]?.(Buffer.concat(chunks)));
  });
  return { ...s, connection };
}

/** Sends `chunks` one write each, ends, and reads everything back; `from` is the client's port. */
async function exchange(port: number, chunks: readonly Buffer[]): Promise<{ reply: Buffer; from: number }> {
  const socket = await connect(port);
  const from = socket.localPort ?? 0;
  const reply = readAll(socket);
  for (const chunk of chunks) socket.write(chunk);
  socket.end();
  return { reply: await reply, from };
}

/**
 * Sends `chunks` to a listener that is to refuse them, and resolves with what came back
 * (nothing, for a refusal) once the connection is closed, whether by a FIN or a reset:
 * closing a socket with bytes unread, as refusing before reading does, resets it.
 */
async function refused(port: number, chunks: readonly Buffer[]): Promise<{ reply: Buffer; from: number }> {
  const socket = await connect(port);
  const from = socket.localPort ?? 0;
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined); // a reset: events.once would reject on it
  const closed = new Promise((resolve) => socket.on('close', resolve));
  for (const chunk of chunks) socket.write(chunk);
  socket.end();
  await closed;
  return { reply: Buffer.concat(received), from };
}

const closedRecord = (rxlb: Rxlb, match: (r: LogRecord) => boolean): Promise<LogRecord> => rxlb.waitFor((r) => r.msg === 'connection closed' && match(r));

const V1 = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n', 'latin1');

describe('PROXY protocol, accepted from a balancer in front', () => {
  it('takes the client from a v1 and a v2 header, and forwards the rest of the bytes intact', async () => {
    const backend = await server(echo);
    const rxlb = startRxlb(['-c', file(['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "app"', 'proxy_protocol = "accept"', '[[pool.app.backend]]', `address = "${backend.address}"`])]);
    const port = await listeningPort(rxlb, 'edge');

    const payload = pattern(256 * 1024, 13);
    const v1 = await exchange(port, [Buffer.concat([V1, payload.subarray(0, 1000)]), payload.subarray(1000)]);
    expect(v1.reply.equals(payload)).toBe(true);
    expect(await closedRecord(rxlb, (r) => r.client === '192.0.2.1:56324')).toMatchObject({
      listener: 'edge',
      peer: `127.0.0.1:${v1.from}`,
      backend: backend.address,
      bytes_up: payload.length,
      bytes_down: payload.length,
    });

    const v2 = encodeProxyV2({
      command: 'proxy',
      transport: 'stream',
      source: { address: '2001:db8::7', port: 50_000 },
      destination: { address: '2001:db8::1', port: 443 },
      tlvs: { uniqueId: Buffer.from('0123456789abcdef', 'hex') },
    });
    // the header cut in two writes, then the client's first bytes
    const second = await exchange(port, [v2.subarray(0, 10), v2.subarray(10), Buffer.from('hello')]);
    expect(second.reply.toString()).toBe('hello');
    expect(await closedRecord(rxlb, (r) => r.client === '[2001:db8::7]:50000')).toMatchObject({
      peer: `127.0.0.1:${second.from}`,
      unique_id: '0123456789abcdef',
      bytes_up: 5,
    });
  });

  it('closes garbage, half a header and an untrusted peer with their reasons, counts them, warns, and sends nothing on', async () => {
    const backend = await recorder();
    const rxlb = startRxlb([
      '-v',
      '-c',
      file([
        '[admin]',
        'listen = "127.0.0.1:0"',
        '[[listener]]',
        'name = "open"',
        'bind = "127.0.0.1:0"',
        'pool = "app"',
        'proxy_protocol = "accept"',
        'preread_timeout = "300ms"',
        '[[listener]]',
        'name = "guarded"',
        'bind = "127.0.0.1:0"',
        'pool = "app"',
        'proxy_protocol = "accept"',
        'proxy_trusted = ["10.0.0.0/8"]',
        '[[pool.app.backend]]',
        `address = "${backend.address}"`,
      ]),
    ]);
    const open = await listeningPort(rxlb, 'open');
    const guarded = await listeningPort(rxlb, 'guarded');
    const base = await adminBase(rxlb);

    const garbage = await refused(open, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    expect(garbage.reply.length).toBe(0);
    expect(await closedRecord(rxlb, (r) => r.reason === 'bad_header')).toMatchObject({
      listener: 'open',
      client: `127.0.0.1:${garbage.from}`,
      backend: null,
      detail: 'not a PROXY header: the client sent "GET / HTTP/1.1\\r\\n"... first; does the balancer in front send one?',
    });
    expect(await rxlb.waitFor((r) => r.msg === 'bad PROXY header')).toMatchObject({ level: 'warn', listener: 'open', peer: `127.0.0.1:${garbage.from}`, count: 1 });

    // half a header, then nothing: the connection stays open until preread_timeout
    const half = await connect(open);
    const halfReply = readAll(half);
    half.write(V1.subarray(0, 20));
    expect((await halfReply).length).toBe(0); // rxlb's FIN, with nothing before it
    half.destroy();
    expect(await closedRecord(rxlb, (r) => r.reason === 'preread_timeout')).toMatchObject({ listener: 'open', detail: 'no whole PROXY header within 300ms (20 bytes received)' });

    const untrusted = await refused(guarded, [V1, Buffer.from('hello')]);
    expect(untrusted.reply.length).toBe(0);
    expect(await closedRecord(rxlb, (r) => r.reason === 'denied')).toMatchObject({
      listener: 'guarded',
      client: `127.0.0.1:${untrusted.from}`,
      level: 'debug',
      detail: 'a PROXY header from a peer not in proxy_trusted',
    });

    const metrics = await scrape(base);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'open', reason: 'bad_header' })).toBe(1);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'open', reason: 'preread_timeout' })).toBe(1);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'guarded', reason: 'denied' })).toBe(1);
    expect(backend.accepted()).toBe(0);
    // one warning: the second bad header (none here) would wait for the minute to be counted
    expect(rxlb.records.filter((r) => r.msg === 'bad PROXY header')).toHaveLength(1);
  });
});

describe('PROXY protocol, sent to backends', () => {
  it("writes a v1 and a v2 header naming the client and the listener's address before the client's bytes, exactly", async () => {
    const one = await recorder('ok');
    const two = await recorder('ok');
    const rxlb = startRxlb([
      '-c',
      file([
        '[[listener]]',
        'name = "one"',
        'bind = "127.0.0.1:0"',
        'pool = "one"',
        '[[listener]]',
        'name = "two"',
        'bind = "127.0.0.1:0"',
        'pool = "two"',
        '[pool.one]',
        'proxy_protocol = "v1"',
        '[[pool.one.backend]]',
        `address = "${one.address}"`,
        '[pool.two]',
        'proxy_protocol = "v2"',
        '[[pool.two.backend]]',
        `address = "${two.address}"`,
      ]),
    ]);
    const portOne = await listeningPort(rxlb, 'one');
    const portTwo = await listeningPort(rxlb, 'two');
    const payload = pattern(100_000, 7);

    const a = await exchange(portOne, [payload]);
    expect(a.reply.toString()).toBe('ok');
    const v1 = Buffer.from(`PROXY TCP4 127.0.0.1 127.0.0.1 ${a.from} ${portOne}\r\n`, 'latin1');
    expect((await one.connection(0))?.equals(Buffer.concat([v1, payload]))).toBe(true);

    const b = await exchange(portTwo, [payload]);
    expect(b.reply.toString()).toBe('ok');
    const v2 = Buffer.alloc(28);
    Buffer.from('0d0a0d0a000d0a515549540a' + '21' + '11' + '000c' + '7f000001' + '7f000001', 'hex').copy(v2);
    v2.writeUInt16BE(b.from, 24);
    v2.writeUInt16BE(portTwo, 26);
    expect((await two.connection(0))?.equals(Buffer.concat([v2, payload]))).toBe(true);
    // bytes_up counts the client's bytes, not the header rxlb added
    expect(await closedRecord(rxlb, (r) => r.listener === 'two')).toMatchObject({ bytes_up: payload.length, bytes_down: 2 });
  });

  it('passes the client of a header it accepted on to a backend, in the header it sends', async () => {
    const backend = await recorder();
    const rxlb = startRxlb(['-c', file(['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "app"', 'proxy_protocol = "accept"', '[pool.app]', 'proxy_protocol = "v2"', '[[pool.app.backend]]', `address = "${backend.address}"`])]);
    const port = await listeningPort(rxlb, 'edge');
    await exchange(port, [Buffer.concat([V1, Buffer.from('hello')])]);
    const sent = encodeProxyV2({ command: 'proxy', transport: 'stream', source: { address: '192.0.2.1', port: 56324 }, destination: { address: '198.51.100.2', port: 443 } });
    expect((await backend.connection(0))?.toString('hex')).toBe(Buffer.concat([sent, Buffer.from('hello')]).toString('hex'));
  });

  it('puts a DGRAM v2 header before every datagram to a UDP backend, and passes replies back untouched', async () => {
    const received: Buffer[] = [];
    const backend = await startUdpServer((data) => {
      received.push(data);
      return data.subarray(28); // the client's own bytes back
    });
    try {
      const rxlb = startRxlb(['-c', file(['[[listener]]', 'name = "dns"', 'bind = "127.0.0.1:0"', 'protocol = "udp"', 'pool = "dns"', '[pool.dns]', 'proxy_protocol = "v2"', '[[pool.dns.backend]]', `address = "${backend.address}"`])]);
      const port = await listeningPort(rxlb, 'dns');
      const client = dgram.createSocket('udp4');
      client.bind(0, '127.0.0.1');
      await once(client, 'listening');
      const from = client.address().port;
      const replies: string[] = [];
      client.on('message', (data) => replies.push(data.toString()));
      // one at a time, each after the last one's answer: UDP on loopback loses none, and the order is known
      for (const text of ['one', 'two', 'three']) {
        const answered = once(client, 'message');
        client.send(text, port, '127.0.0.1');
        await answered;
      }
      client.close();
      expect(replies).toEqual(['one', 'two', 'three']);
      const header = Buffer.from('0d0a0d0a000d0a515549540a' + '21' + '12' + '000c' + '7f000001' + '7f000001' + from.toString(16).padStart(4, '0') + port.toString(16).padStart(4, '0'), 'hex');
      expect(received.map((d) => d.toString('hex'))).toEqual(['one', 'two', 'three'].map((t) => Buffer.concat([header, Buffer.from(t)]).toString('hex')));
    } finally {
      await backend.close();
    }
  });

  it("health checks with send_proxy = true start with the pool's header: v2 LOCAL", async () => {
    const backend = await recorder();
    startRxlb([
      '-c',
      file([
        '[[listener]]',
        'bind = "127.0.0.1:0"',
        'pool = "app"',
        '[pool.app]',
        'proxy_protocol = "v2"',
        '[pool.app.health]',
        'kind = "tcp"',
        'interval = "100ms"',
        'send_proxy = true',
        '[[pool.app.backend]]',
        `address = "${backend.address}"`,
      ]),
    ]);
    expect((await backend.connection(0))?.toString('hex')).toBe('0d0a0d0a000d0a515549540a' + '20' + '00' + '0000');
  });
});
