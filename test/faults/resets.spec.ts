import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, testServers } from '../integration/harness.js';
import {
  byteStream,
  closed,
  gone,
  KiB,
  MiB,
  NOTHING_OPEN,
  openByCounters,
  readAtLeast,
  settledSocketCount,
  startWatched,
  tally,
  totalsByCounters,
  totalsByRecords,
  within,
} from './helpers.js';

const server = testServers();

describe('resets mid-transfer', () => {
  it('a backend that resets mid-transfer: the client is cut at once, the record says backend_closed, no socket is left', async () => {
    const sent = byteStream(1).next(256 * KiB);
    let resetAt = 0;
    const backend = await server((socket) => {
      // Read what the client sends; once 1 MiB has come, and our 256 KiB are on their
      // way, reset the connection.
      let got = 0;
      let written = false;
      const maybeReset = (): void => {
        if (written && got >= MiB && resetAt === 0) {
          resetAt = performance.now();
          socket.resetAndDestroy();
        }
      };
      socket.on('data', (chunk: Buffer) => {
        got += chunk.length;
        maybeReset();
      });
      socket.write(sent, () => {
        written = true;
        maybeReset();
      });
    });
    const { rxlb, port, admin, pid, baseline } = await startWatched([backend.address]);

    const client = await connect(port);
    const clientAddress = `127.0.0.1:${client.localPort}`;
    const received = tally(client);
    const clientGone = gone(client);
    const clientClosed = closed(client);
    client.write(byteStream(2).next(16 * MiB)); // more than the backend will ever read
    const goneAt = await within(clientGone, 5_000, 'the client sees its connection end');
    // Still writing, the client is reset by rxlb even when rxlb saw the reset as an end.
    const closedAt = await within(clientClosed, 1_000, "the client's socket closes");

    expect(resetAt).toBeGreaterThan(0);
    expect(goneAt - resetAt).toBeLessThan(1_000);
    expect(closedAt - resetAt).toBeLessThan(1_000);
    // What did arrive is the start of what the backend sent, byte for byte.
    const data = received.data();
    expect(data.length).toBeLessThanOrEqual(sent.length);
    expect(data.equals(sent.subarray(0, data.length))).toBe(true);

    const record = await rxlb.waitFor((r) => r.msg === 'connection closed');
    expect(record).toMatchObject({ listener: 'listener-1', client: clientAddress, backend: backend.address, reason: 'backend_closed' });
    expect(record.bytes_down).toBeGreaterThanOrEqual(data.length);
    expect(record.bytes_down).toBeLessThanOrEqual(sent.length);
    expect(record.bytes_up).toBeGreaterThanOrEqual(MiB);
    expect(await settledSocketCount(pid, baseline)).toBe(baseline);
    expect(rxlb.child.exitCode).toBeNull();
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    expect(await totalsByCounters(admin)).toEqual(totalsByRecords(rxlb.records));
    console.info(`backend reset: client saw the end ${(goneAt - resetAt).toFixed(1)} ms and was closed ${(closedAt - resetAt).toFixed(1)} ms after the reset; got ${data.length} of ${sent.length} bytes; rxlb sockets ${baseline} -> ${baseline}`);
  });

  it('a client that aborts mid-transfer: the backend sees its socket closed within a second, no socket is left', async () => {
    let backendSocket: net.Socket | undefined;
    let backendClosed: Promise<number> | undefined;
    let uploaded: Promise<void> | undefined;
    const backend = await server((socket) => {
      backendSocket = socket;
      backendClosed = closed(socket);
      uploaded = readAtLeast(socket, tally(socket), MiB); // reads whatever comes
      // Sends for as long as the socket lives: 64 KiB at a time, as fast as it drains.
      const bytes = byteStream(3);
      const pump = (): void => {
        while (!socket.destroyed && socket.write(bytes.next(64 * KiB)));
      };
      socket.on('drain', pump);
      pump();
    });
    const { rxlb, port, admin, pid, baseline } = await startWatched([backend.address]);

    const client = await connect(port);
    const clientAddress = `127.0.0.1:${client.localPort}`;
    const received = tally(client);
    client.write(byteStream(4).next(MiB));
    await within(readAtLeast(client, received, 4 * MiB), 10_000, 'the client reads 4 MiB of the download');
    await within(uploaded!, 10_000, "the client's 1 MiB reaches the backend");
    const abortedAt = performance.now();
    client.resetAndDestroy();

    expect(backendSocket).toBeDefined();
    const backendClosedAt = await within(backendClosed!, 1_000, "the backend's socket closes after the client's reset");
    expect(backendClosedAt - abortedAt).toBeLessThan(1_000);

    const record = await rxlb.waitFor((r) => r.msg === 'connection closed');
    expect(record).toMatchObject({ client: clientAddress, backend: backend.address, reason: 'client_closed', bytes_up: MiB });
    expect(record.bytes_down).toBeGreaterThanOrEqual(4 * MiB);
    expect(await settledSocketCount(pid, baseline)).toBe(baseline);
    expect(rxlb.child.exitCode).toBeNull();
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    expect(await totalsByCounters(admin)).toEqual(totalsByRecords(rxlb.records));
    console.info(`client abort: backend closed ${(backendClosedAt - abortedAt).toFixed(1)} ms after the reset; rxlb sockets ${baseline} -> ${baseline}`);
  });
});
