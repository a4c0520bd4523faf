import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, echo, readAll, sha256, testServers } from '../integration/harness.js';
import {
  acceptQueue,
  BLACKHOLE_BACKLOG,
  byteStream,
  childBackends,
  metricSum,
  MiB,
  NOTHING_OPEN,
  openByCounters,
  poolConfig,
  settledSocketCount,
  startWatched,
  totalsByCounters,
  totalsByRecords,
  within,
} from './helpers.js';

const server = testServers();
const children = childBackends();

describe('backends that do not answer', () => {
  it('a backend that accepts and never answers: idle_timeout closes both sides, reason idle_timeout', async () => {
    let backendEnded: Promise<unknown> | undefined;
    let backendGot = 0;
    const backend = await server((socket) => {
      backendEnded = once(socket, 'end');
      socket.on('data', (chunk: Buffer) => (backendGot += chunk.length)); // reads, never writes
    });
    const { rxlb, port, admin, pid, baseline } = await startWatched(['-c', poolConfig({ backends: [backend.address], idleTimeout: '300ms' })]);

    const client: net.Socket = await connect(port);
    const clientAddress = `127.0.0.1:${client.localPort}`;
    const fromBackend = readAll(client);
    client.write('hello');
    const lastByteAt = performance.now();
    // rxlb closes both of its sockets: each peer reads an orderly end (both peers allow
    // half-open connections, so each then ends its own side).
    expect((await within(fromBackend, 5_000, 'the idle client is ended')).length).toBe(0);
    const clientEndedAt = performance.now();
    client.end();
    await within(backendEnded!, 1_000, 'the idle backend is ended');
    expect(backendGot).toBe(5);
    // The timer counts from the last byte through rxlb, which is a little after ours.
    expect(clientEndedAt - lastByteAt).toBeGreaterThanOrEqual(295);
    expect(clientEndedAt - lastByteAt).toBeLessThan(1_500);

    const record = await rxlb.waitFor((r) => r.msg === 'connection closed');
    expect(record).toMatchObject({ listener: 'web', client: clientAddress, backend: backend.address, reason: 'idle_timeout', bytes_up: 5, bytes_down: 0 });
    expect(record.duration_ms).toBeGreaterThanOrEqual(300);
    expect(await settledSocketCount(pid, baseline)).toBe(baseline);
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    expect(await totalsByCounters(admin)).toEqual({ connections: 1, upstream: 5, downstream: 0 });
    console.info(`idle: client ended ${(clientEndedAt - lastByteAt).toFixed(0)} ms after its last byte; duration_ms ${String(record.duration_ms)}; rxlb sockets ${baseline} -> ${baseline}`);
  });

  it('a backend that never accepts: connect_timeout, then the next backend, and the client sees no failure', async () => {
    const hole = await children.blackhole();
    const live = await server(echo);
    const { rxlb, port, admin, pid, baseline } = await startWatched(['-c', poolConfig({ backends: [hole.address, live.address], policy: 'first', connectTimeout: '300ms', retries: 1 }), '-v']);
    expect(acceptQueue(hole.port)).toBe(BLACKHOLE_BACKLOG + 1); // full: its SYNs are dropped

    const data = byteStream(5).next(MiB);
    const client = await connect(port);
    const clientAddress = `127.0.0.1:${client.localPort}`;
    const echoed = readAll(client);
    const hash = createHash('sha256');
    client.end(data);
    const back = await within(echoed, 10_000, 'the echo comes back').catch((err: unknown) => {
      throw new Error(`${String(err)}; records: ${JSON.stringify(rxlb.records)}`);
    });
    expect(back.length).toBe(data.length);
    expect(hash.update(back).digest('hex')).toBe(sha256(data));

    const closedRecord = await rxlb.waitFor((r) => r.msg === 'connection closed');
    const trail = rxlb.records.filter((r) => r.client === clientAddress).map((r) => ({ msg: r.msg, backend: r.backend, attempt: r.attempt, reason: r.reason }));
    expect(trail).toEqual([
      { msg: 'connection opened', backend: undefined, attempt: undefined, reason: undefined },
      { msg: 'connect failed', backend: hole.address, attempt: 1, reason: 'timeout' },
      { msg: 'backend connected', backend: live.address, attempt: 2, reason: undefined },
      { msg: 'connection closed', backend: live.address, attempt: undefined, reason: 'client_closed' },
    ]);
    expect(closedRecord).toMatchObject({ bytes_up: MiB, bytes_down: MiB });
    const opened = rxlb.records.find((r) => r.msg === 'connection opened' && r.client === clientAddress)!;
    const failed = rxlb.records.find((r) => r.msg === 'connect failed' && r.client === clientAddress)!;
    const waitedMs = Date.parse(String(failed.time)) - Date.parse(String(opened.time));
    expect(waitedMs).toBeGreaterThanOrEqual(299); // record times are whole milliseconds
    expect(waitedMs).toBeLessThan(1_500);
    expect(await settledSocketCount(pid, baseline)).toBe(baseline);
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    expect(await totalsByCounters(admin)).toEqual(totalsByRecords(rxlb.records));
    const metrics = await admin.metrics();
    expect(metricSum(metrics, 'rxlb_connect_failures_total', { backend: hole.address, reason: 'timeout' })).toBe(1);
    expect(metricSum(metrics, 'rxlb_connect_failures_total')).toBe(1);
    expect(metricSum(metrics, 'rxlb_connections_total', { backend: live.address })).toBe(1);
    console.info(`connect timeout: gave up on the silent backend after ${waitedMs} ms, then attempt 2 echoed ${data.length} bytes; rxlb sockets ${baseline} -> ${baseline}`);
    await client.closed;
  });
});
