import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, listeningPort, startRxlb, testServers } from '../integration/harness.js';
import { KiB, MiB, NOTHING_OPEN, adminOf, byteStream, memoryKiB, openByCounters, sampleRss, settledSocketCount, socketCount, totalsByCounters, within } from './helpers.js';

const server = testServers();

const TOTAL = 256 * MiB;
/** The reader takes this much, then stops reading for PAUSE_MS. */
const STEP = 256 * KiB;
const PAUSE_MS = 2;
/** How far above its idle resident set rxlb may grow while carrying the stream. */
const BOUND_KIB = 64 * 1024;

/** Writes `total` bytes of byteStream(seed) 1 MiB at a time, waiting for 'drain'; resolves with their hash. */
async function sendAll(socket: net.Socket, total: number, seed: number): Promise<string> {
  const bytes = byteStream(seed);
  for (let sent = 0; sent < total; sent += MiB) {
    if (!socket.write(bytes.next(Math.min(MiB, total - sent)))) await once(socket, 'drain');
  }
  socket.end();
  return bytes.digest();
}

/** Reads to the end in steps of STEP bytes with a pause after each; resolves with the hash and count. */
function readSlowly(socket: net.Socket): Promise<{ digest: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let sinceStep = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      sinceStep += chunk.length;
      if (sinceStep >= STEP) {
        sinceStep = 0;
        socket.pause();
        setTimeout(() => socket.resume(), PAUSE_MS);
      }
    });
    socket.once('end', () => resolve({ digest: hash.digest('hex'), bytes }));
    socket.once('error', reject);
  });
}

describe('a slow reader', () => {
  it('256 MiB to a client that reads slowly: rxlb stays within its bound (backpressure), every byte arrives', async () => {
    let sent: Promise<string> | undefined;
    const backend = await server((socket) => {
      sent = sendAll(socket, TOTAL, 6);
    });
    const rxlb = startRxlb([backend.address, '--admin', '127.0.0.1:0']);
    const port = await listeningPort(rxlb);
    const admin = await adminOf(rxlb);
    const pid = rxlb.child.pid!;
    const sockets = socketCount(pid);
    const baselineKiB = memoryKiB(pid, 'VmRSS');

    const started = performance.now();
    const rss = sampleRss(pid, 25);
    const client = await connect(port);
    const read = readSlowly(client);
    client.end(); // nothing to send: the download is the whole exchange
    const got = await within(read, 100_000, 'the slow reader reads all 256 MiB');
    const { peakKiB, samples } = rss.stop();
    const seconds = (performance.now() - started) / 1000;
    const hwmKiB = memoryKiB(pid, 'VmHWM');

    expect(got.bytes).toBe(TOTAL);
    expect(got.digest).toBe(await sent!);
    const record = await rxlb.waitFor((r) => r.msg === 'connection closed');
    expect(record).toMatchObject({ backend: backend.address, reason: 'client_closed', bytes_up: 0, bytes_down: TOTAL });
    expect(await settledSocketCount(pid, sockets)).toBe(sockets);
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    expect(await totalsByCounters(admin)).toEqual({ connections: 1, upstream: 0, downstream: TOTAL });
    console.info(
      `slow reader: ${TOTAL / MiB} MiB in ${seconds.toFixed(1)} s (${(TOTAL / MiB / seconds).toFixed(0)} MiB/s); ` +
        `rxlb RSS idle ${(baselineKiB / 1024).toFixed(1)} MiB, sampled peak ${(peakKiB / 1024).toFixed(1)} MiB over ${samples} samples, ` +
        `VmHWM ${(hwmKiB / 1024).toFixed(1)} MiB (bound ${((baselineKiB + BOUND_KIB) / 1024).toFixed(1)} MiB)`,
    );
    expect(peakKiB).toBeLessThan(baselineKiB + BOUND_KIB);
    // VmHWM is the kernel's own high-water mark, so no peak falls between samples.
    expect(hwmKiB).toBeLessThan(baselineKiB + BOUND_KIB);
  });
});
