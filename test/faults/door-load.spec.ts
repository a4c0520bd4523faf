import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { MAX_TRACKED_CLIENTS } from '../../src/streams/door/rate.js';
import { named, testServers, writeTemp } from '../integration/harness.js';
import { MiB, memoryKiB, metricSum, sampleRss, startWatched } from './helpers.js';

const server = testServers();

/**
 * One connection from `localAddress`: `served` once the backend's first byte comes,
 * `refused` when rxlb closes it without one. Nothing is sent.
 */
function attempt(port: number, localAddress: string): Promise<'served' | 'refused'> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    socket.once('data', () => {
      socket.destroy();
      resolve('served');
    });
    socket.once('close', () => resolve('refused'));
  });
}

/** Runs `count` attempts, `concurrency` at a time, from `addressOf(i)`; calls `after(i)` as each ends. */
async function flood(count: number, concurrency: number, run: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await run(next++);
    }),
  );
}

/** The i-th of many loopback addresses, 127.1.0.1 upwards, skipping .0 and .255. */
const loopback = (i: number): string => {
  const host = 1 + (i % 254);
  const rest = Math.floor(i / 254);
  return `127.${1 + Math.floor(rest / 256)}.${rest % 256}.${host}`;
};

describe('the door under load', () => {
  it('refuses 10,000 connections of one client at its rate while other clients are served', async () => {
    const a = await server(named('a'));
    const rate = 200; // per second
    const config = ['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "a"', `connection_rate_per_client = "${rate}/s"`, '', '[[pool.a.backend]]', `address = "${a.address}"`].join('\n');
    const { rxlb, port, admin } = await startWatched(['-c', writeTemp(config), '-q']);
    const others = ['127.0.2.1', '127.0.2.2', '127.0.2.3', '127.0.2.4', '127.0.2.5'];
    const otherOutcomes: string[] = [];
    const pending: Promise<void>[] = [];
    let served = 0;
    let refused = 0;
    const started = performance.now();
    await flood(10_000, 64, async (i) => {
      if ((await attempt(port, '127.0.0.1')) === 'served') served += 1;
      else refused += 1;
      // every 500 greedy attempts, each other client connects once: 20 each in all, far under the rate
      if (i % 500 === 0) for (const other of others) pending.push(attempt(port, other).then((o) => void otherOutcomes.push(o)));
    });
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(pending);
    expect(served + refused).toBe(10_000);
    expect(otherOutcomes).toEqual(new Array<string>(100).fill('served'));
    // a token bucket of `rate` refilled at `rate` a second lets through at most this many in `seconds`
    expect(served).toBeLessThanOrEqual(rate + Math.ceil(rate * seconds));
    // and a client that never stops asking gets close to that: at least half of it
    expect(served).toBeGreaterThanOrEqual(Math.min(10_000, Math.floor((rate * seconds) / 2)));
    const metrics = await admin.metrics();
    expect(metricSum(metrics, 'rxlb_connections_rejected_total', { listener: 'edge', reason: 'rate_limit' })).toBe(refused);
    expect(metricSum(metrics, 'rxlb_connections_total')).toBe(served + 100);
    // -q: the refusals make warnings (one at once, then one a minute), not one line each
    const warnings = rxlb.records.filter((r) => r.msg === 'rate limited');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(1 + Math.ceil(seconds / 60));
    console.info(`door-load: ${served} of 10,000 served in ${seconds.toFixed(1)} s at ${rate}/s (bound ${rate + Math.ceil(rate * seconds)}), ${refused} refused; other clients 100 of 100`);
  });

  it('keeps the rate table bounded under a flood of 70,000 distinct addresses: the oldest client is forgotten', async () => {
    // Nothing gets past the door (no route takes loopback clients, and there is no default
    // pool), so each connection costs an accept, a bucket and a close.
    const config = ['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'connection_rate_per_client = "1/m"', '', '[[listener.route]]', 'source = ["10.0.0.0/8"]', 'pool = "x"', '', '[[pool.x.backend]]', 'address = "10.0.0.1:80"'].join(
      '\n',
    );
    const { rxlb, port, admin, pid } = await startWatched(['-c', writeTemp(config), '-q']);
    const rejected = async (reason: string): Promise<number> => metricSum(await admin.metrics(), 'rxlb_connections_rejected_total', { listener: 'edge', reason });
    // the first client is remembered: its second connection within the minute is over the rate
    await attempt(port, '127.0.0.2');
    await attempt(port, '127.0.0.2');
    expect([await rejected('no_route'), await rejected('rate_limit')]).toEqual([1, 1]);
    const before = memoryKiB(pid, 'VmRSS');
    const rss = sampleRss(pid);
    const distinct = 70_000;
    expect(distinct).toBeGreaterThan(MAX_TRACKED_CLIENTS); // the clients a listener's rate table holds
    await flood(distinct, 128, async (i) => void (await attempt(port, loopback(i))));
    const { peakKiB } = rss.stop();
    expect([await rejected('no_route'), await rejected('rate_limit')]).toEqual([1 + distinct, 1]);
    // the table made room by forgetting the client seen longest ago: a full bucket again
    await attempt(port, '127.0.0.2');
    expect([await rejected('no_route'), await rejected('rate_limit')]).toEqual([2 + distinct, 1]);
    // The eviction above shows the table's bound. Memory cannot tell 65,536 buckets from
    // 70,000 (a few MiB either way, under the churn of 70,000 connections in a collected
    // heap); this guards against what it can see: anything kept per connection.
    expect(peakKiB - before).toBeLessThan(96 * 1024);
    expect(rxlb.records.filter((r) => r.level === 'error')).toEqual([]);
    console.info(`door-load: ${distinct} distinct clients, RSS ${(before / 1024).toFixed(0)} MiB before, peak ${(peakKiB / 1024).toFixed(0)} MiB (${((peakKiB - before) * 1024 / MiB).toFixed(1)} MiB more)`);
  });
});
