import { afterEach, describe, expect, it } from 'vitest';
import { type Metrics, adminBase, expectAgreement, rejected, scrape, status, value, waitForCount } from './admin-harness.js';
import { type LogRecord, killAll, listeningPort, pattern, startRxlb, writeTemp } from './harness.js';
import { type UdpClient, type UdpServer, startUdpServer, udpClient } from './udp-harness.js';

/** An echo backend that also counts the bytes it was sent: the metrics are checked against it. */
interface CountingEcho {
  readonly server: UdpServer;
  readonly bytes: () => number;
}

const servers: UdpServer[] = [];
const clients: UdpClient[] = [];
afterEach(async () => {
  await killAll();
  await Promise.all([...servers.splice(0).map((s) => s.close()), ...clients.splice(0).map((c) => c.close())]);
});

async function countingEcho(): Promise<CountingEcho> {
  let bytes = 0;
  const server = await startUdpServer((data) => {
    bytes += data.length;
    return data;
  });
  servers.push(server);
  return { server, bytes: () => bytes };
}

async function client(port: number): Promise<UdpClient> {
  const c = await udpClient(port);
  clients.push(c);
  return c;
}

const sessionClosed = (r: LogRecord): boolean => r.msg === 'session closed';

/** Sends each datagram and waits for its echo; fails if any had to be sent twice, since the counts below are exact. */
async function exchange(c: UdpClient, datagrams: readonly Buffer[]): Promise<number> {
  let bytes = 0;
  for (const data of datagrams) {
    const { sends } = await c.ask(data, (reply) => reply.equals(data), { retryMs: 3000, tries: 2 });
    expect(sends, 'a datagram was lost on loopback, so exact counts cannot be checked').toBe(1);
    bytes += data.length;
  }
  return bytes;
}

/** `rxlb_udp_*` and `rxlb_bytes_total` series of one backend of the test's listener. */
function udpSeries(metrics: Metrics, backend: string) {
  const labels = { listener: 'udp', pool: 'p', backend };
  return {
    active: value(metrics, 'rxlb_udp_sessions_active', labels),
    sessions: value(metrics, 'rxlb_udp_sessions_total', labels),
    datagramsUp: value(metrics, 'rxlb_udp_datagrams_total', { ...labels, direction: 'upstream' }),
    datagramsDown: value(metrics, 'rxlb_udp_datagrams_total', { ...labels, direction: 'downstream' }),
    bytesUp: value(metrics, 'rxlb_bytes_total', { ...labels, direction: 'upstream' }),
    bytesDown: value(metrics, 'rxlb_bytes_total', { ...labels, direction: 'downstream' }),
  };
}

describe('UDP metrics', () => {
  it('shows open sessions while they last, counts every session, datagram and byte exactly once they end after session_timeout', async () => {
    const backends = [await countingEcho(), await countingEcho()];
    const config = [
      '[[listener]]',
      'name = "udp"',
      'bind = "127.0.0.1:0"',
      'protocol = "udp"',
      'pool = "p"',
      'session_timeout = "1s"',
      '',
      '[pool.p]',
      'policy = "round-robin"',
      ...backends.map((b) => `[[pool.p.backend]]\naddress = "${b.server.address}"`),
      '',
    ].join('\n');
    const rxlb = startRxlb(['-c', writeTemp(config), '--admin', '127.0.0.1:0']);
    const [port, base] = await Promise.all([listeningPort(rxlb, 'udp'), adminBase(rxlb)]);

    // five clients at once, four datagrams each, of sizes from 1 byte to 9,000
    const K = 5;
    const M = 4;
    const sizes = [1, 200, 1472, 9000];
    const sent = await Promise.all(
      Array.from({ length: K }, async (_, c) => {
        const socket = await client(port);
        const bytes = await exchange(
          socket,
          sizes.map((size, i) => pattern(size + c, c * M + i + 1)),
        );
        return { client: `127.0.0.1:${socket.port}`, bytes };
      }),
    );

    // while the sessions are open: one per client socket, one upstream socket each
    const open = await scrape(base);
    const openView = await status(base);
    expect(rxlb.records.filter(sessionClosed), 'a session ended before the scrape (machine too slow for a 1s session_timeout?)').toEqual([]);
    const perBackend = backends.map((b) => udpSeries(open, b.server.address));
    expect(perBackend.map((s) => s.active)).toEqual(backends.map((b) => b.server.peers().size));
    expect(perBackend.reduce((n, s) => n + (s.active ?? 0), 0)).toBe(K);
    expect(perBackend.map((s) => s.active).sort()).toEqual([2, 3]);
    expect(perBackend.map((s) => s.sessions)).toEqual(perBackend.map((s) => s.active));
    expect(value(open, 'rxlb_listener_connections_active', { listener: 'udp' })).toBe(K);
    expect(openView.listeners).toEqual([{ name: 'udp', protocol: 'udp', address: `127.0.0.1:${port}`, pool: 'p', active: K, rejected: rejected() }]);
    expectAgreement(openView, open);

    // after session_timeout: every session ends, each with its own record
    const closed = await waitForCount(rxlb, sessionClosed, K);
    expect(closed).toHaveLength(K);
    for (const s of sent) {
      expect(closed.find((r) => r.client === s.client)).toMatchObject({ listener: 'udp', reason: 'idle_timeout', datagrams_up: M, datagrams_down: M, bytes_up: s.bytes, bytes_down: s.bytes });
    }
    const after = await scrape(base);
    for (const b of backends) {
      const mine = closed.filter((r) => r.backend === b.server.address);
      expect(mine).toHaveLength(b.server.peers().size);
      expect(udpSeries(after, b.server.address), `backend ${b.server.address}`).toEqual({
        active: 0,
        sessions: mine.length,
        datagramsUp: b.server.received(),
        datagramsDown: b.server.received(),
        bytesUp: b.bytes(),
        bytesDown: b.bytes(),
      });
    }
    expect(backends.reduce((n, b) => n + b.server.received(), 0)).toBe(K * M);
    expect(backends.reduce((n, b) => n + b.bytes(), 0)).toBe(sent.reduce((n, s) => n + s.bytes, 0));
    expect(value(after, 'rxlb_listener_connections_active', { listener: 'udp' })).toBe(0);
    expectAgreement(await status(base), after);

    // a client that comes back after its session ended gets a new one, counted as such
    const again = clients[0]!;
    const hello = Buffer.from('hello again');
    await exchange(again, [hello]);
    const reopened = await scrape(base);
    expect(backends.reduce((n, b) => n + (udpSeries(reopened, b.server.address).sessions ?? 0), 0)).toBe(K + 1);
    expect(backends.reduce((n, b) => n + (udpSeries(reopened, b.server.address).active ?? 0), 0)).toBe(1);

    const last = (await waitForCount(rxlb, sessionClosed, K + 1))[K]!;
    expect(last).toMatchObject({ client: `127.0.0.1:${again.port}`, reason: 'idle_timeout', datagrams_up: 1, datagrams_down: 1, bytes_up: hello.length, bytes_down: hello.length });
    const final = await scrape(base);
    for (const b of backends) {
      expect(udpSeries(final, b.server.address), `backend ${b.server.address} at the end`).toEqual({
        active: 0,
        sessions: b.server.peers().size,
        datagramsUp: b.server.received(),
        datagramsDown: b.server.received(),
        bytesUp: b.bytes(),
        bytesDown: b.bytes(),
      });
    }
    expect(backends.reduce((n, b) => n + (udpSeries(final, b.server.address).sessions ?? 0), 0)).toBe(K + 1);
  });
});
