import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type LogRecord, killAll, listeningPort, pattern, startRxlb, writeTemp } from './harness.js';
import { type UdpServer, closedUdpPort, startUdpServer, udpClient, udpEcho } from './udp-harness.js';

const servers: UdpServer[] = [];
async function udpServer(answer: (data: Buffer) => Buffer | undefined): Promise<UdpServer> {
  const s = await startUdpServer(answer);
  servers.push(s);
  return s;
}

afterEach(async () => {
  await killAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const file = (text: string): string => writeTemp(text);

const udpConfig = (backends: readonly string[], extra: { listener?: string; pool?: string } = {}): string =>
  [
    '[[listener]]',
    'name = "udp"',
    'bind = "127.0.0.1:0"',
    'protocol = "udp"',
    'pool = "p"',
    extra.listener ?? '',
    '[pool.p]',
    extra.pool ?? '',
    ...backends.map((address) => `[[pool.p.backend]]\naddress = "${address}"`),
    '',
  ].join('\n');

const sessionsClosed = (records: readonly LogRecord[]): LogRecord[] => records.filter((r) => r.msg === 'session closed');

/** Sizes from a few bytes to the largest datagram IPv4 carries. */
const SIZES = [8, 64, 512, 1200, 1472, 4096, 9000, 16_384, 32_768, 65_507];

describe('UDP load balancing through rxlb', () => {
  it('carries 200 clients x 100 datagrams up to 65,507 bytes, each answer byte-exact to its own client, sessions spread round robin', async () => {
    const backends = [await udpServer(udpEcho), await udpServer(udpEcho), await udpServer(udpEcho)];
    const rxlb = startRxlb(['--udp', ...backends.map((b) => b.address)]);
    const port = await listeningPort(rxlb);

    const CLIENTS = 200;
    const DATAGRAMS = 100;
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const client = await udpClient(port);
        const sent = createHash('sha256');
        const got = createHash('sha256');
        let bytes = 0;
        let sends = 0;
        for (let i = 0; i < DATAGRAMS; i += 1) {
          // every client's bytes are its own: an answer sent to the wrong client would not match
          const data = pattern(SIZES[(i + c) % SIZES.length]!, c * DATAGRAMS + i + 1);
          const answer = await client.ask(data, (reply) => reply.equals(data), { retryMs: 1000 });
          sent.update(data);
          got.update(answer.reply);
          bytes += data.length;
          sends += answer.sends;
        }
        await client.close();
        return { port: client.port, sent: sent.digest('hex'), got: got.digest('hex'), bytes, resent: sends - DATAGRAMS };
      }),
    );

    for (const r of results) expect(r.got).toBe(r.sent);
    // one session (one upstream socket) per client, dealt out in turn
    expect(backends.map((b) => b.peers().size).sort()).toEqual([66, 67, 67]);

    expect(await rxlb.stop()).toBe(0);
    const closed = sessionsClosed(rxlb.records);
    expect(closed).toHaveLength(CLIENTS);
    const resent = results.reduce((n, r) => n + r.resent, 0);
    for (const r of results) {
      const record = closed.find((x) => x.client === `127.0.0.1:${r.port}`);
      expect(record).toMatchObject({ listener: 'listener-1', reason: 'shutdown' });
      if (resent === 0) expect(record).toMatchObject({ datagrams_up: DATAGRAMS, datagrams_down: DATAGRAMS, bytes_up: r.bytes, bytes_down: r.bytes });
    }
    // a lost datagram is allowed for (UDP), but on loopback with these buffers it should be rare
    expect(resent).toBeLessThan(CLIENTS);
  }, 120_000);

  it('ends a session after session_timeout with no datagram either way; the client then gets a new one', async () => {
    const backend = await udpServer(udpEcho);
    const rxlb = startRxlb(['-c', file(udpConfig([backend.address], { listener: 'session_timeout = "300ms"' }))]);
    const client = await udpClient(await listeningPort(rxlb, 'udp'));
    const hello = Buffer.from('hello');
    await client.ask(hello, (r) => r.equals(hello));
    const quietSince = performance.now();

    const closed = await rxlb.waitFor((r) => r.msg === 'session closed' && r.client === `127.0.0.1:${client.port}`);
    expect(performance.now() - quietSince).toBeGreaterThanOrEqual(290);
    expect(closed).toMatchObject({ listener: 'udp', backend: backend.address, reason: 'idle_timeout', datagrams_up: 1, datagrams_down: 1, bytes_up: 5, bytes_down: 5 });
    expect(closed.duration_ms).toBeGreaterThanOrEqual(300);
    expect(closed.duration_ms).toBeLessThan(3000);

    // its upstream socket is gone: the next datagram comes to the backend from a new one
    expect(backend.peers().size).toBe(1);
    await client.ask(hello, (r) => r.equals(hello));
    expect(backend.peers().size).toBe(2);
    await client.close();
  });

  it('keeps a session through a reload that changes only session_timeout: its next datagram takes the same socket to the same backend', async () => {
    const backends = [await udpServer(() => Buffer.from('b0')), await udpServer(() => Buffer.from('b1'))];
    const addresses = backends.map((b) => b.address);
    const path = file(udpConfig(addresses, { listener: 'session_timeout = "30s"' }));
    const rxlb = startRxlb(['-c', path]);
    const client = await udpClient(await listeningPort(rxlb, 'udp'));
    const first = await client.ask(Buffer.from('q1'), () => true);

    writeFileSync(path, udpConfig(addresses, { listener: 'session_timeout = "20s"' }));
    rxlb.child.kill('SIGHUP');
    const reloaded = await rxlb.waitFor((r) => r.msg === 'config reloaded' || r.msg === 'config reload failed');
    expect(reloaded).toMatchObject({ msg: 'config reloaded', changes: ['listener changed: udp udp 127.0.0.1:0 (session_timeout)'] });
    expect(sessionsClosed(rxlb.records)).toEqual([]);

    const second = await client.ask(Buffer.from('q2'), () => true);
    expect(second.reply.toString()).toBe(first.reply.toString());
    // one backend heard every datagram, all from one socket of rxlb's: the session's own
    const used = backends.filter((b) => b.received() > 0);
    expect(used).toHaveLength(1);
    expect(used[0]!.peers().size).toBe(1);

    expect(await rxlb.stop()).toBe(0);
    expect(sessionsClosed(rxlb.records)).toEqual([
      expect.objectContaining({ client: `127.0.0.1:${client.port}`, backend: used[0]!.address, reason: 'shutdown', datagrams_up: first.sends + second.sends }),
    ]);
    await client.close();
  });

  it('leaves a backend that answers with port-unreachable to the others: the session moves on, new ones avoid it', async () => {
    const dead = `127.0.0.1:${await closedUdpPort()}`;
    const live = [await udpServer(udpEcho), await udpServer(udpEcho)];
    const config = udpConfig([dead, ...live.map((b) => b.address)], { pool: '[pool.p.passive]\nconsecutive_failures = 1\neject_for = "30s"' });
    const rxlb = startRxlb(['-c', file(config), '-v']);
    const port = await listeningPort(rxlb, 'udp');

    const resent: number[] = [];
    for (let c = 0; c < 10; c += 1) {
      const client = await udpClient(port);
      let sends = 0;
      for (let i = 0; i < 3; i += 1) {
        const data = pattern(100, c * 10 + i + 1);
        sends += (await client.ask(data, (r) => r.equals(data), { retryMs: 200 })).sends;
      }
      resent.push(sends - 3);
      await client.close();
    }
    // the first client was dealt the dead backend: its first datagram drew the port-unreachable
    expect(resent).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const failed = rxlb.records.filter((r) => r.msg === 'connect failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ backend: dead, reason: 'refused', attempt: 1 });
    expect(await rxlb.waitFor((r) => r.msg === 'backend state' && r.backend === dead)).toMatchObject({ to: 'down', cause: 'passive' });
    expect(live.reduce((n, b) => n + b.peers().size, 0)).toBe(10);

    expect(await rxlb.stop()).toBe(0);
    const closed = sessionsClosed(rxlb.records);
    expect(closed).toHaveLength(10);
    for (const record of closed) expect(live.map((b) => b.address)).toContain(record.backend);
  });

  it('answers a DNS query through `rxlb --udp` from a DNS server, byte for byte', async () => {
    let answered: Buffer | undefined;
    const dns = await udpServer((query) => (answered = answerDns(query, '192.0.2.53')));
    const rxlb = startRxlb(['--udp', dns.address]);
    expect(await rxlb.waitFor((r) => r.msg === 'listening')).toMatchObject({ protocol: 'udp', listener: 'listener-1' });
    const client = await udpClient(await listeningPort(rxlb));

    const query = dnsQuery(0x1234, 'example.test');
    const { reply } = await client.ask(query, () => true);
    expect(reply.equals(answered!)).toBe(true);
    expect(reply.readUInt16BE(0)).toBe(0x1234); // the query's id
    expect(reply.readUInt16BE(2) & 0x800f).toBe(0x8000); // a response, no error
    expect(reply.readUInt16BE(6)).toBe(1); // one answer
    expect(reply.subarray(12, query.length)).toEqual(query.subarray(12)); // the question, as asked
    expect([...reply.subarray(reply.length - 4)].join('.')).toBe('192.0.2.53');
    await client.close();
  });
});

/** A standard query (recursion desired) for the A record of `name`. */
function dnsQuery(id: number, name: string): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // one question
  const labels = name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')]));
  const typeAndClass = Buffer.from([0, 1, 0, 1]); // A, IN
  return Buffer.concat([header, ...labels, Buffer.from([0]), typeAndClass]);
}

/**
 * The test's DNS server: reads the one question, answers an A query for `example.test`
 * with `address` (TTL 300), anything else with NXDOMAIN.
 */
function answerDns(query: Buffer, address: string): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined;
  let at = 12;
  const labels: string[] = [];
  while (at < query.length && query[at] !== 0) {
    const length = query[at]!;
    labels.push(query.toString('ascii', at + 1, at + 1 + length));
    at += 1 + length;
  }
  const questionEnd = at + 5; // the zero label, QTYPE, QCLASS
  if (questionEnd > query.length) return undefined;
  const qtype = query.readUInt16BE(at + 1);
  const found = labels.join('.').toLowerCase() === 'example.test' && qtype === 1;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | (found ? 0 : 3), 2); // QR, RD, RA; NXDOMAIN when not found
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(found ? 1 : 0, 6);
  const question = query.subarray(12, questionEnd);
  if (!found) return Buffer.concat([header, question]);
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  answer.writeUInt16BE(1, 2); // A
  answer.writeUInt16BE(1, 4); // IN
  answer.writeUInt32BE(300, 6); // TTL
  answer.writeUInt16BE(4, 10);
  address.split('.').forEach((octet, i) => answer.writeUInt8(Number(octet), 12 + i));
  return Buffer.concat([header, question, answer]);
}

describe('UDP at the door: allow, deny and routes on source', () => {
  it('sends a client to the route that takes it, drops a denied one and an unrouted one with their reasons, and opens no session for them', async () => {
    const tagged = (tag: string) => (data: Buffer) => Buffer.concat([Buffer.from(tag), data]);
    const plain = await udpServer(tagged('p:'));
    const office = await udpServer(tagged('office:'));
    const rxlb = startRxlb([
      '-c',
      file(
        [
          '[[listener]]\nname = "routed"\nbind = "127.0.0.1:0"\nprotocol = "udp"\npool = "p"',
          '[[listener.route]]\nsource = ["127.0.0.1"]\npool = "office"',
          '[[listener]]\nname = "shut"\nbind = "127.0.0.1:0"\nprotocol = "udp"\npool = "p"\ndeny = ["127.0.0.1"]',
          '[[listener]]\nname = "nowhere"\nbind = "127.0.0.1:0"\nprotocol = "udp"',
          '[[listener.route]]\nsource = ["10.0.0.0/8"]\npool = "office"',
          `[[pool.p.backend]]\naddress = "${plain.address}"`,
          `[[pool.office.backend]]\naddress = "${office.address}"`,
          '',
        ].join('\n'),
      ),
    ]);
    const ports = { routed: await listeningPort(rxlb, 'routed'), shut: await listeningPort(rxlb, 'shut'), nowhere: await listeningPort(rxlb, 'nowhere') };

    const routed = await udpClient(ports.routed);
    const { reply } = await routed.ask(Buffer.from('q1'), () => true);
    expect(reply.toString()).toBe('office:q1');

    const shut = await udpClient(ports.shut);
    const nowhere = await udpClient(ports.nowhere);
    await Promise.all([shut.ask(Buffer.from('no'), () => true, { tries: 1 }).catch(() => undefined), nowhere.ask(Buffer.from('nope'), () => true, { tries: 1 }).catch(() => undefined)]);
    const denied = await rxlb.waitFor((r) => r.msg === 'datagrams dropped' && r.listener === 'shut');
    const unrouted = await rxlb.waitFor((r) => r.msg === 'datagrams dropped' && r.listener === 'nowhere');
    expect(denied).toMatchObject({ level: 'warn', reason: 'denied', datagrams: 1, bytes: 2 });
    expect(unrouted).toMatchObject({ level: 'warn', reason: 'no_route', datagrams: 1, bytes: 4 });
    await Promise.all([routed.close(), shut.close(), nowhere.close()]);

    expect(await rxlb.stop()).toBe(0);
    expect(plain.peers().size).toBe(0);
    expect(sessionsClosed(rxlb.records).map((r) => `${r.listener} ${r.backend}`)).toEqual([`routed ${office.address}`]);
  });
});
