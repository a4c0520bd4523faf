import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { listeningPort, type Rxlb, startRxlb, writeTemp } from '../integration/harness.js';
import { cleanUp, type Closed, closedRecords, freeTcpUdpPort, requireBinaries, run, rxlbConfig, scratchDir, startServer, which } from './servers.js';

/** The cookie iperf3's client sends first on every data connection. */
const COOKIE_BYTES = 37;
/** The datagram iperf3's UDP client sends first, and the server's answer: 4 bytes each. */
const UDP_CONNECT_BYTES = 4;

/** What `iperf3 -J` reports, as far as these tests read it. */
interface IperfSum {
  readonly bytes: number;
  readonly bits_per_second: number;
  readonly packets?: number;
  readonly lost_packets?: number;
}
interface IperfReport {
  readonly error?: string;
  readonly start: { readonly connected: readonly { readonly local_port: number }[] };
  readonly end: { readonly sum_sent?: IperfSum; readonly sum_received?: IperfSum; readonly sum?: IperfSum };
}

/**
 * The socket buffer for iperf3's UDP test, 2 MiB or the system's maximum if lower (iperf3
 * fails when it cannot have what it asks). With the default (208 KiB, six of its 32 KiB
 * datagrams) the server's socket overflows whenever the server is not scheduled for a
 * few milliseconds.
 */
function udpWindow(): number {
  const max = ['rmem_max', 'wmem_max'].map((name) => {
    try {
      return Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim()) || Infinity;
    } catch {
      return Infinity;
    }
  });
  return Math.min(2 * 1024 * 1024, ...max);
}

const gbits = (sum: IperfSum | undefined): string => ((sum?.bits_per_second ?? 0) / 1e9).toFixed(2);

cleanUp();

describe('iperf3 through rxlb', { timeout: 60_000 }, () => {
  if (!requireBinaries('iperf3', ['iperf3'], 'iperf3')) return;
  const iperf3 = which('iperf3') ?? 'iperf3';
  const dir = scratchDir('iperf3');
  let serverPort = 0;

  beforeAll(async () => {
    serverPort = await freeTcpUdpPort();
    const server = startServer(iperf3, ['-s', '-B', '127.0.0.1', '-p', String(serverPort), '--forceflush'], { cwd: dir });
    await server.waitForOutput(/Server listening on/);
  });

  async function client(rxlbPort: number, extra: readonly string[]): Promise<IperfReport> {
    const result = await run(iperf3, ['-c', '127.0.0.1', '-p', String(rxlbPort), '-t', '3', '-J', ...extra], { timeoutMs: 30_000 });
    let report: IperfReport;
    try {
      report = JSON.parse(result.stdout) as IperfReport;
    } catch {
      throw new Error(`iperf3 printed no JSON report (exit ${result.code ?? result.signal}): ${result.stdout}${result.stderr}`);
    }
    expect(report.error, result.stderr).toBeUndefined();
    expect(result.code).toBe(0);
    return report;
  }

  async function tcpInFront(): Promise<{ rxlb: Rxlb; port: number }> {
    const rxlb = startRxlb(['-c', writeTemp(rxlbConfig('iperf', '127.0.0.1:0', [`127.0.0.1:${serverPort}`]))]);
    return { rxlb, port: await listeningPort(rxlb, 'iperf') };
  }

  /** The record of the client's data connection, found by its local port, once both of its connections are logged. */
  async function dataConnection(rxlb: Rxlb, report: IperfReport): Promise<Closed> {
    await rxlb.waitFor(() => closedRecords(rxlb.records).length >= 2);
    const closed = closedRecords(rxlb.records);
    expect(closed).toHaveLength(2); // control and data
    expect(closed.every((c) => c.backend === `127.0.0.1:${serverPort}`)).toBe(true);
    const port = report.start.connected[0]?.local_port;
    const data = closed.find((c) => c.client === `127.0.0.1:${port}`);
    if (!data) throw new Error(`no record for the data connection from port ${port}: ${JSON.stringify(closed)}`);
    return data;
  }

  // iperf3's server closes its data socket when the test ends, often with bytes still in
  // flight, so what reaches it lies between what its client received and what the sender
  // wrote; rxlb's count (bytes delivered) must lie there too. When the server drains
  // everything first, rxlb's count is exactly the sender's plus the cookie.
  it('carries iperf3 -t 3 client to server: bytes_up between received and sent, plus the cookie', async () => {
    const { rxlb, port } = await tcpInFront();
    const report = await client(port, []);
    const sent = report.end.sum_sent?.bytes ?? 0;
    const received = report.end.sum_received?.bytes ?? 0;
    expect(received).toBeGreaterThan(0);
    const data = await dataConnection(rxlb, report);
    console.log(`interop: iperf3 through rxlb: ${gbits(report.end.sum_sent)} Gbit/s sent, ${gbits(report.end.sum_received)} Gbit/s received; sent ${sent}, received ${received}, rxlb bytes_up ${data.bytesUp} (cookie ${COOKIE_BYTES})`);
    expect(data.bytesDown).toBe(0);
    expect(data.bytesUp).toBeGreaterThanOrEqual(received + COOKIE_BYTES);
    expect(data.bytesUp).toBeLessThanOrEqual(sent + COOKIE_BYTES);
    expect(['client_closed', 'backend_closed']).toContain(data.reason);
  });

  it('carries iperf3 -R (server to client): bytes_down between received and sent, and only the cookie up', async () => {
    const { rxlb, port } = await tcpInFront();
    const report = await client(port, ['-R']);
    const sent = report.end.sum_sent?.bytes ?? 0;
    const received = report.end.sum_received?.bytes ?? 0;
    expect(received).toBeGreaterThan(0);
    const data = await dataConnection(rxlb, report);
    console.log(`interop: iperf3 -R through rxlb: ${gbits(report.end.sum_sent)} Gbit/s sent, ${gbits(report.end.sum_received)} Gbit/s received; sent ${sent}, received ${received}, rxlb bytes_down ${data.bytesDown}`);
    expect(data.bytesUp).toBe(COOKIE_BYTES);
    expect(data.bytesDown).toBeGreaterThanOrEqual(received);
    expect(data.bytesDown).toBeLessThanOrEqual(sent);
    expect(['client_closed', 'backend_closed']).toContain(data.reason);
  });

  it('carries iperf3 -u (a TCP and a UDP listener on one port): every datagram, none lost', async () => {
    const port = await freeTcpUdpPort();
    const backend = `127.0.0.1:${serverPort}`;
    const config = [
      rxlbConfig('control', `127.0.0.1:${port}`, [backend], 'tcp'),
      rxlbConfig('datagrams', `127.0.0.1:${port}`, [backend], 'udp', ['session_timeout = "1s"']),
    ].join('\n');
    const rxlb = startRxlb(['-c', writeTemp(config)]);
    await listeningPort(rxlb, 'control');
    await listeningPort(rxlb, 'datagrams');
    const report = await client(port, ['-u', '-b', '100M', '-w', String(udpWindow())]);
    const sent = report.end.sum_sent;
    const received = report.end.sum_received;
    console.log(`interop: iperf3 -u through rxlb: ${gbits(sent)} Gbit/s, ${sent?.packets} datagrams, ${received?.lost_packets} lost`);
    expect(sent?.bytes).toBeGreaterThan(0);
    // rxlb forwarded every datagram: one session, the 4-byte hello and every datagram up,
    // the 4-byte answer down
    const session = await rxlb.waitFor((r) => r.msg === 'session closed', 10_000);
    expect(session).toMatchObject({
      listener: 'datagrams',
      backend,
      datagrams_up: (sent?.packets ?? 0) + 1,
      bytes_up: (sent?.bytes ?? 0) + UDP_CONNECT_BYTES,
      datagrams_down: 1,
      bytes_down: UDP_CONNECT_BYTES,
      reason: 'idle_timeout',
    });
    // and iperf3's server got them all (its socket buffer, -w, holds a scheduling hiccup)
    expect(received).toMatchObject({ bytes: sent?.bytes, packets: sent?.packets, lost_packets: 0 });
  });
});
