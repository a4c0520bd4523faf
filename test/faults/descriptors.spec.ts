import { readdirSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type LogRecord, connect, echo, pattern, readAll, sha256, testServers } from '../integration/harness.js';
import {
  childBackends,
  closedRecords,
  descriptorLimit,
  KiB,
  limitDescriptors,
  logOneMore,
  metricSum,
  NOTHING_OPEN,
  openByCounters,
  poolConfig,
  settledSocketCount,
  socketCount,
  startWatched,
  tcpSocketsOn,
  totalsByCounters,
  totalsByRecords,
  waitForCount,
  within,
} from './helpers.js';

const server = testServers();
const children = childBackends();

/** A client that sends one byte and waits for its echo: `held` if it came, `cut` if the connection closed first. */
function probe(port: number): Promise<{ socket: net.Socket; address: string; outcome: 'held' | 'cut' }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let address = '';
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      address = `127.0.0.1:${socket.localPort}`;
      socket.write('x');
    });
    socket.once('data', () => resolve({ socket, address, outcome: 'held' }));
    socket.once('close', () => resolve({ socket, address, outcome: 'cut' }));
  });
}

const byClient = (records: readonly LogRecord[], msg: string): Map<string, LogRecord[]> => {
  const map = new Map<string, LogRecord[]>();
  for (const r of records) if (r.msg === msg) map.set(String(r.client), [...(map.get(String(r.client)) ?? []), r]);
  return map;
};

describe('descriptors', () => {
  /*
   * Descriptors are numbered from 0 and must stay under the limit; each connection takes
   * two, so the parity of what is free decides where rxlb runs out:
   * - odd: an accepted client takes the last one, its backend connect fails (EMFILE), and
   *   rxlb closes it with reason connect_failed;
   * - even: accept() itself fails (EMFILE), which libuv handles alone: it closes a spare
   *   descriptor it keeps for this, accepts and closes every waiting client, and tells
   *   Node nothing, so rxlb never sees those clients (nor can it log `accept failed`).
   */
  it.each([
    ['odd', 'connect'],
    ['even', 'accept'],
  ] as const)('running out of descriptors (%s number free, so %s fails): rxlb keeps running, cuts what it cannot serve, serves again once the load is gone', async (parity, fails) => {
    const backends = [await server(echo), await server(echo)];
    const { rxlb, port, admin, pid, baseline } = await startWatched(['-c', poolConfig({ backends: backends.map((b) => b.address), passiveFailures: 2 }), '-v']);
    const low = readdirSync(`/proc/${pid}/fd`).filter((fd) => Number(fd) < 64).length;
    expect(low).toBeLessThan(40); // room under the limit for a few connections, not for all
    const limit = (64 - low) % 2 === (parity === 'odd' ? 1 : 0) ? 64 : 65;
    limitDescriptors(pid, limit);
    expect(descriptorLimit(pid)).toBe(limit);

    // 80 clients in waves of 10, each wanting two descriptors in rxlb: far more than fit.
    const clients: Awaited<ReturnType<typeof probe>>[] = [];
    for (let wave = 0; wave < 8; wave += 1) {
      clients.push(...(await within(Promise.all(Array.from({ length: 10 }, () => probe(port))), 10_000, `every client of wave ${wave} is either served or cut`)));
    }
    const held = clients.filter((c) => c.outcome === 'held');
    const cut = clients.filter((c) => c.outcome === 'cut');
    expect(rxlb.child.exitCode).toBeNull();
    expect(held.length).toBe(Math.floor((limit - low) / 2));
    expect(cut.length).toBe(80 - held.length);

    // Release the load. The held connections' records come after every earlier one.
    for (const c of held) c.socket.destroy();
    await waitForCount(rxlb, (r) => r.msg === 'connection closed' && r.reason === 'client_closed', held.length);
    expect(await settledSocketCount(pid, baseline)).toBe(baseline);

    // Every connection rxlb accepted ended with one record; the cut ones it accepted say
    // why; the rest were cut by libuv's descriptor-exhaustion fallback before rxlb saw them.
    const opened = byClient(rxlb.records, 'connection opened');
    const closedBy = byClient(rxlb.records, 'connection closed');
    expect(closedRecords(rxlb)).toHaveLength(rxlb.records.filter((r) => r.msg === 'connection opened').length);
    // (by client address and port; a port can come round again, so "contains")
    for (const c of held) expect(closedBy.get(c.address)?.map((r) => r.reason)).toContain('client_closed');
    const cutSeen = cut.filter((c) => opened.has(c.address));
    for (const c of cutSeen) expect(closedBy.get(c.address)?.map((r) => r.reason)).toContain('connect_failed');
    const acceptFailed = rxlb.records.filter((r) => r.msg === 'accept failed');
    const connectFailed = rxlb.records.filter((r) => r.msg === 'connect failed');
    if (fails === 'connect') expect(cutSeen.length).toBeGreaterThan(0); // cut after accept, for want of a descriptor to connect with
    else expect(cut.length - cutSeen.length).toBeGreaterThan(0); // cut by libuv before rxlb saw them
    console.info(
      `descriptors, ${parity} free (limit ${limit}, ${low} in use idle): ${held.length} served, ${cutSeen.length} cut after accept (connect_failed, ` +
        `${connectFailed.length} connect failed records, reasons ${[...new Set(connectFailed.map((r) => String(r.reason)))].join(',')}), ` +
        `${cut.length - cutSeen.length} cut before rxlb saw them; accept failed records: ${acceptFailed.length}; ` +
        `backend state records: ${JSON.stringify(rxlb.records.filter((r) => r.msg === 'backend state').map((r) => `${String(r.backend)} ${String(r.from)}->${String(r.to)} ${String(r.cause)}`))}`,
    );

    // Served again, byte-exact, once the load is gone.
    const data = pattern(64 * KiB, 11);
    const client = await connect(port);
    const echoed = readAll(client);
    client.end(data);
    expect(sha256(await within(echoed, 5_000, 'a new connection is echoed'))).toBe(sha256(data));
    await waitForCount(rxlb, (r) => r.msg === 'connection closed' && r.reason === 'client_closed', held.length + 1);
    expect(await settledSocketCount(pid, baseline)).toBe(baseline);

    // rxlb's own counters agree with its records.
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    expect(await totalsByCounters(admin)).toEqual(totalsByRecords(rxlb.records));
    const metrics = await admin.metrics();
    expect(metricSum(metrics, 'rxlb_accept_errors_total', { listener: 'web' })).toBe(rxlb.records.filter((r) => r.msg === 'accept failed').length);
    // A connect that failed for want of a descriptor is rxlb's own failure: it says so
    // (`error`: EMFILE), is not retried, and is not counted against the backend.
    const own = connectFailed.filter((r) => r.error !== undefined);
    expect(new Set(own.map((r) => r.error))).toEqual(new Set(own.length > 0 ? ['EMFILE'] : []));
    expect(metricSum(metrics, 'rxlb_connect_failures_total')).toBe(connectFailed.length - own.length);
    // Running out of our own descriptors is no fault of the backends: passive checks must
    // not eject a healthy backend for it.
    expect(rxlb.records.filter((r) => r.msg === 'backend state')).toEqual([]);
  });

  it('started under a low `ulimit -n`: connections past what it allows are refused as `limit`, visibly, and it serves again', async () => {
    const backends = [await server(echo), await server(echo)];
    const { rxlb, port, admin, pid, baseline } = await startWatched(['-c', poolConfig({ backends: backends.map((b) => b.address), passiveFailures: 2 }), '-v'], ['prlimit', '--nofile=64:64', '--']);
    expect(await rxlb.waitFor((r) => r.msg === 'descriptor limit')).toMatchObject({ open_files: 64, max_connections: 16 });

    // 40 clients in waves of 10: the first 16 are served, the other 24 refused at once.
    const clients: Awaited<ReturnType<typeof probe>>[] = [];
    for (let wave = 0; wave < 4; wave += 1) {
      clients.push(...(await within(Promise.all(Array.from({ length: 10 }, () => probe(port))), 10_000, `every client of wave ${wave} is either served or cut`)));
    }
    const held = clients.filter((c) => c.outcome === 'held');
    expect(held).toHaveLength(16);
    await waitForCount(rxlb, (r) => r.msg === 'connection closed' && r.reason === 'limit', 24);
    expect(rxlb.records.filter((r) => r.msg === 'connection closed' && r.reason === 'limit')).toHaveLength(24);
    const metrics = await admin.metrics();
    expect(metricSum(metrics, 'rxlb_connections_rejected_total', { listener: 'web', reason: 'limit' })).toBe(24);
    expect(rxlb.records.filter((r) => r.msg === 'connect failed' || r.msg === 'accept failed' || r.msg === 'backend state')).toEqual([]);

    for (const c of held) c.socket.destroy();
    await waitForCount(rxlb, (r) => r.msg === 'connection closed' && r.reason === 'client_closed', 16);
    const data = pattern(64 * KiB, 12);
    const client = await connect(port);
    const echoed = readAll(client);
    client.end(data);
    expect(sha256(await within(echoed, 5_000, 'a new connection is echoed'))).toBe(sha256(data));
    await waitForCount(rxlb, (r) => r.msg === 'connection closed' && r.reason === 'client_closed', 17);
    expect(await settledSocketCount(pid, baseline)).toBe(baseline);
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
  });

  it('thousands of concurrent connections held open, then all closed: rxlb holds exactly two sockets each, then none', async () => {
    const backend = await children.echo();
    const { rxlb, port, admin, pid, baseline } = await startWatched([backend.address]);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    const limit = descriptorLimit(pid);
    // Each connection costs rxlb two descriptors, and the hard limit here is 20,000 (it
    // cannot be raised without CAP_SYS_RESOURCE), so 10,000 do not fit: hold as many as do.
    const count = Math.min(10_000, Math.floor((limit - fds - 16) / 2 / 100) * 100);
    expect(count).toBeGreaterThanOrEqual(9_000);

    const started = performance.now();
    const clients: { socket: net.Socket; address: string }[] = [];
    for (let i = 0; i < count; i += 500) {
      const batch = await within(
        Promise.all(
          Array.from({ length: Math.min(500, count - i) }, async () => {
            const c = await probe(port);
            if (c.outcome !== 'held') throw new Error(`connection ${clients.length} was cut`);
            return c;
          }),
        ),
        30_000,
        `connections ${i} to ${i + 500} are echoed`,
      );
      clients.push(...batch);
    }
    const openedIn = (performance.now() - started) / 1000;
    expect(clients).toHaveLength(count);
    const held = await settledSocketCount(pid, baseline + 2 * count);
    expect(held).toBe(baseline + 2 * count);
    // rxlb's own counters see them all.
    const holding = await openByCounters(admin);
    expect(holding).toEqual({ status_listeners_active: count, status_backends_active: count, rxlb_connections_active: count, rxlb_listener_connections_active: count });
    // The admin connection has closed again (the server closes it after answering).
    expect(await settledSocketCount(pid, baseline + 2 * count)).toBe(baseline + 2 * count);

    const closing = performance.now();
    for (const c of clients) c.socket.destroy();
    await waitForCount(rxlb, (r) => r.msg === 'connection closed', count, 30_000).catch(async (err: unknown) => {
      // Say which connections have no record, whether rxlb still holds their sockets,
      // and whether the records were only stuck in rxlb's log buffer.
      const ended = new Set(closedRecords(rxlb).map((r) => String(r.client)));
      const missing = clients.filter((c) => !ended.has(c.address));
      const sockets = socketCount(pid);
      const detail = missing.slice(0, 3).map((c) => `${c.address}: ${JSON.stringify(tcpSocketsOn(Number(c.address.split(':')[1])))}`);
      await logOneMore(rxlb, port);
      const endedLater = new Set(closedRecords(rxlb).map((r) => String(r.client)));
      throw new Error(
        `${String(err).slice(0, 120)}\n${missing.length} connections have no record while rxlb holds ${sockets} sockets (baseline ${baseline}); ` +
          `after one more connection was logged, ${missing.filter((c) => !endedLater.has(c.address)).length} still have none; e.g.\n${detail.join('\n')}`,
      );
    });
    const after = await settledSocketCount(pid, baseline);
    const closedIn = (performance.now() - closing) / 1000;
    expect(after).toBe(baseline);
    const reasons = new Map<string, number>();
    for (const r of closedRecords(rxlb)) reasons.set(String(r.reason), (reasons.get(String(r.reason)) ?? 0) + 1);
    expect(Object.fromEntries(reasons)).toEqual({ client_closed: count });
    expect(rxlb.child.exitCode).toBeNull();
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    expect(await totalsByCounters(admin)).toEqual({ connections: count, upstream: count, downstream: count });
    console.info(
      `${count} concurrent connections (descriptor limit ${limit}, ${fds} in use idle): opened in ${openedIn.toFixed(1)} s, ` +
        `rxlb sockets ${baseline} -> ${held} -> ${after}, all closed in ${closedIn.toFixed(1)} s`,
    );
  });
});
