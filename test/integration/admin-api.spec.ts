import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminBase, expectAgreement, parsePrometheus, rejected, post, request, samples, scrape, status, value, waitForCount } from './admin-harness.js';
import { type LogRecord, type Rxlb, connect, listeningPort, named, pattern, readLine, refusedPort, startRxlb, testServers, writeTemp } from './harness.js';
import { startUdpServer, udpEcho } from './udp-harness.js';

const server = testServers();

/** Client sockets a test leaves open are destroyed after it (rxlb and the servers are closed by testServers). */
const clients: net.Socket[] = [];
/** Each client's own address as rxlb logs it, taken at connect (a closed socket no longer knows it). */
const names = new WeakMap<net.Socket, string>();
afterEach(() => {
  for (const s of clients.splice(0)) s.destroy();
});

async function client(port: number): Promise<net.Socket> {
  const socket = await connect(port);
  clients.push(socket);
  names.set(socket, `127.0.0.1:${socket.localPort}`);
  return socket;
}

/**
 * Waits (at most 10 s) until rxlb has closed a client socket: its end is answered with
 * ours (the harness's sockets allow half-open), a reset is as good as a close.
 */
async function closedByRxlb(socket: net.Socket): Promise<void> {
  socket.on('error', () => undefined);
  socket.on('end', () => socket.end());
  socket.resume();
  await within(once(socket, 'close'), 'the client socket to close');
}

/** `promise`, or a rejection naming what did not happen within `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const closedRecord = (r: LogRecord): boolean => r.msg === 'connection closed';
const closedFor = (socket: net.Socket) => (r: LogRecord): boolean => closedRecord(r) && r.client === names.get(socket);

/**
 * A config: each listener (with extra lines) in front of the pool of its own name, each
 * pool round-robin over its backends, and an `[admin]` table when given its lines.
 */
function tcpConfig(options: { admin?: string; pools: Record<string, readonly string[]>; listeners?: Record<string, string> }): string {
  const lines: string[] = [];
  if (options.admin !== undefined) lines.push('[admin]', options.admin, '');
  const listeners = options.listeners ?? Object.fromEntries(Object.keys(options.pools).map((p) => [p, '']));
  for (const [name, extra] of Object.entries(listeners)) lines.push('[[listener]]', `name = "${name}"`, 'bind = "127.0.0.1:0"', `pool = "${name}"`, extra, '');
  for (const [pool, backends] of Object.entries(options.pools)) {
    lines.push(`[pool.${pool}]`, 'policy = "round-robin"', '');
    for (const b of backends) lines.push(`[[pool.${pool}.backend]]`, `address = "${b}"`, '');
  }
  return lines.join('\n');
}

/**
 * A backend that reads the client's bytes to their end, then answers with `size` bytes
 * starting with its name, and ends.
 */
const responder =
  (name: string, size: number) =>
  (socket: net.Socket): void => {
    socket.resume();
    socket.on('end', () => socket.end(Buffer.concat([Buffer.from(name), Buffer.alloc(size - name.length, 0x2e)])));
  };

/** Collects what a socket receives, so a test can wait for exactly `n` bytes. */
function collector(socket: net.Socket): { readonly bytes: () => Buffer; until(n: number): Promise<Buffer> } {
  let chunks: Buffer[] = [];
  let size = 0;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    wake?.();
  });
  socket.resume();
  return {
    bytes: () => Buffer.concat(chunks),
    until: (n) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (size < n) return;
          wake = undefined;
          const all = Buffer.concat(chunks);
          chunks = [all.subarray(n)];
          size -= n;
          resolve(all.subarray(0, n));
        };
        wake = check;
        socket.once('close', () => (size < n ? reject(new Error(`closed after ${size} of ${n} bytes`)) : undefined));
        check();
      }),
  };
}

/** The backend a new connection reaches (named backends say their name first); waits for its record. */
async function probe(rxlb: Rxlb, port: number): Promise<{ name: string; record: LogRecord }> {
  const socket = await client(port);
  const name = await readLine(socket);
  socket.end();
  socket.resume();
  const record = await rxlb.waitFor(closedFor(socket));
  return { name, record };
}

/** Waits for the `backend state` record of one change of one backend. */
async function stateRecord(rxlb: Rxlb, backend: string, from: string, to: string): Promise<LogRecord> {
  return rxlb.waitFor((r) => r.msg === 'backend state' && r.backend === backend && r.from === from && r.to === to);
}

describe('admin API: /metrics', () => {
  it('counts 25 TCP connections over 2 backends exactly: connections, bytes each way, active, rejections, backend up; process metrics present', async () => {
    const A = await server(responder('A', 1000));
    const B = await server(responder('B', 333));
    const rxlb = startRxlb(['-c', writeTemp(tcpConfig({ pools: { web: [A.address, B.address] } })), '--admin', '127.0.0.1:0']);
    const [port, base] = await Promise.all([listeningPort(rxlb, 'web'), adminBase(rxlb)]);

    const N = 25;
    const results = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const socket = await client(port);
        const sent = pattern(1 + i * 97, i + 1);
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.end(sent);
        await within(once(socket, 'close'), `connection ${i} to close`);
        const got = Buffer.concat(chunks);
        return { client: names.get(socket), sent: sent.length, got: got.length, backend: got.subarray(0, 1).toString() === 'A' ? A.address : B.address };
      }),
    );
    const closed = await waitForCount(rxlb, closedRecord, N);
    expect(closed).toHaveLength(N);

    const expected = new Map<string, { conns: number; up: number; down: number }>();
    for (const r of results) {
      const e = expected.get(r.backend) ?? { conns: 0, up: 0, down: 0 };
      expected.set(r.backend, { conns: e.conns + 1, up: e.up + r.sent, down: e.down + r.got });
      // the access log agrees with what the client saw, connection by connection
      expect(closed.find((c) => c.client === r.client)).toMatchObject({ listener: 'web', backend: r.backend, bytes_up: r.sent, bytes_down: r.got, reason: 'client_closed' });
    }
    expect([...expected.values()].map((e) => e.conns).sort()).toEqual([12, 13]);
    expect(expected.get(A.address)!.down).toBe(expected.get(A.address)!.conns * 1000);
    expect(expected.get(B.address)!.down).toBe(expected.get(B.address)!.conns * 333);

    const metrics = await scrape(base);
    for (const [backend, e] of expected) {
      const labels = { listener: 'web', pool: 'web', backend };
      expect(value(metrics, 'rxlb_connections_total', labels), `connections to ${backend}`).toBe(e.conns);
      expect(value(metrics, 'rxlb_connections_active', labels)).toBe(0);
      expect(value(metrics, 'rxlb_bytes_total', { ...labels, direction: 'upstream' }), `upstream to ${backend}`).toBe(e.up);
      expect(value(metrics, 'rxlb_bytes_total', { ...labels, direction: 'downstream' }), `downstream from ${backend}`).toBe(e.down);
      expect(value(metrics, 'rxlb_backend_up', { pool: 'web', backend })).toBe(1);
      for (const reason of ['refused', 'timeout', 'error']) expect(value(metrics, 'rxlb_connect_failures_total', { pool: 'web', backend, reason })).toBe(0);
    }
    // nothing else carried traffic
    expect(samples(metrics, 'rxlb_connections_total')).toHaveLength(2);
    expect(samples(metrics, 'rxlb_bytes_total')).toHaveLength(4);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'web', reason: 'no_backend' })).toBe(0);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'web', reason: 'limit' })).toBe(0);
    expect(value(metrics, 'rxlb_listener_connections_active', { listener: 'web' })).toBe(0);
    expect(value(metrics, 'rxlb_config_reloads_total', { result: 'success' })).toBe(0);
    expect(value(metrics, 'rxlb_config_reloads_total', { result: 'failure' })).toBe(0);
    for (const name of ['rxlb_connections_total', 'rxlb_bytes_total', 'rxlb_connect_failures_total', 'rxlb_connections_rejected_total', 'rxlb_config_reloads_total', 'rxlb_health_checks_total']) {
      expect(metrics.get(name)?.type, name).toBe('counter');
    }
    for (const name of ['rxlb_connections_active', 'rxlb_backend_up', 'rxlb_udp_sessions_active']) expect(metrics.get(name)?.type, name).toBe('gauge');

    // prom-client's default process metrics
    expect(value(metrics, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
    expect(metrics.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(value(metrics, 'nodejs_heap_size_used_bytes', {})).toBeGreaterThan(0);
    expect(samples(metrics, 'nodejs_version_info')).toHaveLength(1);
    expect([...metrics.keys()].filter((n) => n.startsWith('nodejs_')).length).toBeGreaterThan(5);

    // /status tells the same story
    const view = await status(base);
    expect(view.pools[0]!.backends.map((b) => [b.address, b.total, b.active])).toEqual([
      [A.address, expected.get(A.address)!.conns, 0],
      [B.address, expected.get(B.address)!.conns, 0],
    ]);
    expectAgreement(view, metrics);
  });

  it('counts connect failures (refused) and rejections (limit, no_backend), agreeing with /status', async () => {
    const dead = `127.0.0.1:${await refusedPort()}`;
    const A = await server(named('A'));
    const L = await server(named('L'));
    const M = await server(named('M'));
    const config = tcpConfig({
      pools: { dead: [dead], web: [A.address], lonely: [L.address], mixed: [dead, M.address] },
      listeners: { dead: '', web: 'max_connections = 1', lonely: '', mixed: '' },
    });
    const rxlb = startRxlb(['-c', writeTemp(config), '--admin', '127.0.0.1:0', '-v']);
    const base = await adminBase(rxlb);
    const [deadPort, webPort, lonelyPort, mixedPort] = await Promise.all(['dead', 'web', 'lonely', 'mixed'].map((l) => listeningPort(rxlb, l)));

    // three connections to a backend that refuses: each attempt fails, each connection ends
    for (let i = 0; i < 3; i += 1) {
      await closedByRxlb(await client(deadPort!));
    }
    const failed = await waitForCount(rxlb, (r) => closedRecord(r) && r.listener === 'dead', 3);
    for (const r of failed) expect(r).toMatchObject({ backend: dead, reason: 'connect_failed', bytes_up: 0, bytes_down: 0 }); // the backend tried last

    // a pool where one backend refuses: every connection is retried on the other and gets through
    for (let i = 0; i < 4; i += 1) expect((await probe(rxlb, mixedPort!)).name).toBe('M');
    const refusedInMixed = rxlb.records.filter((r) => r.msg === 'connect failed' && r.listener === 'mixed');
    expect(refusedInMixed.length).toBeGreaterThanOrEqual(1);
    for (const r of refusedInMixed) expect(r).toMatchObject({ backend: dead, reason: 'refused' });

    // over the listener's max_connections: closed at once
    const held = await client(webPort!);
    expect(await readLine(held)).toBe('A');
    const over = await client(webPort!);
    await closedByRxlb(over);
    expect(await rxlb.waitFor(closedFor(over))).toMatchObject({ listener: 'web', reason: 'limit' });

    // the only backend disabled: no backend
    expect((await post(base, `/pools/lonely/backends/${L.address}/disable`)).status).toBe(200);
    const orphan = await client(lonelyPort!);
    await closedByRxlb(orphan);
    expect(await rxlb.waitFor(closedFor(orphan))).toMatchObject({ listener: 'lonely', reason: 'no_backend' });

    const metrics = await scrape(base);
    expect(value(metrics, 'rxlb_connect_failures_total', { pool: 'dead', backend: dead, reason: 'refused' })).toBe(3);
    expect(value(metrics, 'rxlb_connect_failures_total', { pool: 'dead', backend: dead, reason: 'timeout' })).toBe(0);
    expect(value(metrics, 'rxlb_connect_failures_total', { pool: 'dead', backend: dead, reason: 'error' })).toBe(0);
    expect(value(metrics, 'rxlb_connect_failures_total', { pool: 'mixed', backend: dead, reason: 'refused' })).toBe(refusedInMixed.length);
    expect(value(metrics, 'rxlb_connections_total', { listener: 'mixed', pool: 'mixed', backend: M.address })).toBe(4);
    expect(value(metrics, 'rxlb_connections_total', { listener: 'dead', pool: 'dead', backend: dead }) ?? 0).toBe(0);
    expect(value(metrics, 'rxlb_connections_active', { listener: 'dead', pool: 'dead', backend: dead }) ?? 0).toBe(0);
    // a failed connect is not a rejection: rejections are turned away before any backend is tried
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'dead', reason: 'no_backend' })).toBe(0);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'dead', reason: 'limit' })).toBe(0);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'web', reason: 'limit' })).toBe(1);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'web', reason: 'no_backend' })).toBe(0);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'lonely', reason: 'no_backend' })).toBe(1);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener: 'lonely', reason: 'limit' })).toBe(0);
    expect(value(metrics, 'rxlb_connections_active', { listener: 'web', pool: 'web', backend: A.address })).toBe(1);
    expect(value(metrics, 'rxlb_listener_connections_active', { listener: 'web' })).toBe(1);
    expect(value(metrics, 'rxlb_backend_up', { pool: 'lonely', backend: L.address })).toBe(0);

    const view = await status(base);
    expect(view.pools.find((p) => p.name === 'dead')!.backends).toEqual([{ address: dead, state: 'up', weight: 1, active: 0, total: 0, failures: 3 }]);
    expect(view.pools.find((p) => p.name === 'lonely')!.backends).toEqual([{ address: L.address, state: 'disabled', weight: 1, active: 0, total: 0, failures: 0 }]);
    expectAgreement(view, metrics);
  });
});

describe('admin API: label values', () => {
  it('quotes and escapes names with a quote, a backslash, a newline and non-ASCII text, which parse back to the names', async () => {
    const A = await server(named('A'));
    const listener = 'we"b\\x\nnext é';
    const pool = 'p"o\\ol\n✓';
    const toml = (text: string): string => JSON.stringify(text); // a TOML basic string, for these characters
    const config = [
      '[[listener]]',
      `name = ${toml(listener)}`,
      'bind = "127.0.0.1:0"',
      `pool = ${toml(pool)}`,
      '',
      `[pool.${toml(pool)}]`,
      `[[pool.${toml(pool)}.backend]]`,
      `address = "${A.address}"`,
      '',
    ].join('\n');
    const rxlb = startRxlb(['-c', writeTemp(config), '--admin', '127.0.0.1:0']);
    const [port, base] = await Promise.all([listeningPort(rxlb, listener), adminBase(rxlb)]);
    expect((await probe(rxlb, port)).name).toBe('A');

    const metrics = await scrape(base);
    expect(value(metrics, 'rxlb_connections_total', { listener, pool, backend: A.address })).toBe(1);
    expect(value(metrics, 'rxlb_bytes_total', { listener, pool, backend: A.address, direction: 'downstream' })).toBe(2);
    expect(value(metrics, 'rxlb_backend_up', { pool, backend: A.address })).toBe(1);
    expect(value(metrics, 'rxlb_connections_rejected_total', { listener, reason: 'limit' })).toBe(0);
    const view = await status(base);
    expect(view.listeners.map((l) => [l.name, l.pool])).toEqual([[listener, pool]]);
    expect(view.pools.map((p) => p.name)).toEqual([pool]);
    expectAgreement(view, metrics);
  });
});

describe('admin API: /status', () => {
  it('lists every listener (real port) and pool with its backends, exactly as interface.md shapes them, and agrees with /metrics', async () => {
    const A = await server(named('A'));
    const B = await server(named('B'));
    const dns = await startUdpServer(udpEcho);
    try {
      const config = [
        '[[listener]]',
        'name = "web"',
        'bind = "127.0.0.1:0"',
        'pool = "web"',
        '',
        '[[listener]]',
        'name = "dns"',
        'bind = "127.0.0.1:0"',
        'protocol = "udp"',
        'pool = "resolvers"',
        '',
        '[pool.web]',
        'policy = "least-connections"',
        '[[pool.web.backend]]',
        `address = "${A.address}"`,
        'weight = 3',
        '[[pool.web.backend]]',
        `address = "${B.address}"`,
        '',
        '[pool.resolvers]',
        'policy = "first"',
        '[[pool.resolvers.backend]]',
        `address = "${dns.address}"`,
        '',
      ].join('\n');
      const rxlb = startRxlb(['-c', writeTemp(config), '--admin', '127.0.0.1:0']);
      const [webPort, dnsPort, base] = await Promise.all([listeningPort(rxlb, 'web'), listeningPort(rxlb, 'dns'), adminBase(rxlb)]);

      // one connection held open, one finished
      const held = await client(webPort);
      const heldName = await readLine(held);
      const done = await probe(rxlb, webPort);
      const heldAddress = heldName === 'A' ? A.address : B.address;
      const doneAddress = done.name === 'A' ? A.address : B.address;

      const view = await status(base);
      const count = (address: string, n: { held: number; done: number }): number => (address === heldAddress ? n.held : 0) + (address === doneAddress ? n.done : 0);
      expect(view).toStrictEqual({
        listeners: [
          { name: 'web', protocol: 'tcp', address: `127.0.0.1:${webPort}`, pool: 'web', active: 1, rejected: rejected() },
          { name: 'dns', protocol: 'udp', address: `127.0.0.1:${dnsPort}`, pool: 'resolvers', active: 0, rejected: rejected() },
        ],
        pools: [
          {
            name: 'web',
            policy: 'least-connections',
            backends: [
              { address: A.address, state: 'up', weight: 3, active: count(A.address, { held: 1, done: 0 }), total: count(A.address, { held: 1, done: 1 }), failures: 0 },
              { address: B.address, state: 'up', weight: 1, active: count(B.address, { held: 1, done: 0 }), total: count(B.address, { held: 1, done: 1 }), failures: 0 },
            ],
          },
          { name: 'resolvers', policy: 'first', backends: [{ address: dns.address, state: 'up', weight: 1, active: 0, total: 0, failures: 0 }] },
        ],
      });
      expectAgreement(view, await scrape(base));
    } finally {
      await dns.close();
    }
  });
});

describe('admin API: authorization and unknown names', () => {
  it('needs the token for POST (401 without it or with a wrong one, 200 with it), never for GET; answers 404 JSON for an unknown pool or backend', async () => {
    const A = await server(named('A'));
    const token = 's3cret-t0ken';
    const rxlb = startRxlb(['-c', writeTemp(tcpConfig({ admin: `listen = "127.0.0.1:0"\ntoken = "${token}"`, pools: { web: [A.address] } }))]);
    const base = await adminBase(rxlb);
    const drain = `/pools/web/backends/${A.address}/drain`;

    for (const path of [drain, '/reload']) {
      const none = await post(base, path);
      expect(none.status, `POST ${path} without a token`).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(none.body).toMatchObject({ error: { code: 'RXLB_ADMIN_UNAUTHORIZED' } });
      const wrong = await post(base, path, 'not-the-token');
      expect(wrong.status, `POST ${path} with a wrong token`).toBe(401);
      expect(wrong.body).toMatchObject({ error: { code: 'RXLB_ADMIN_UNAUTHORIZED' } });
      const prefix = await post(base, path, token.slice(0, -1));
      expect(prefix.status, `POST ${path} with a prefix of the token`).toBe(401);
    }
    // nothing was done by the refused requests
    expect((await status(base)).pools[0]!.backends[0]!.state).toBe('up');
    expect(rxlb.records.filter((r) => r.msg === 'backend state' || r.msg.startsWith('config reload'))).toEqual([]);

    for (const path of ['/healthz', '/status', '/metrics']) expect((await request(base, 'GET', path)).status, `GET ${path}`).toBe(200);
    expect((await request(base, 'GET', '/healthz')).body).toBe('ok\n');

    // the right token: a reload of the unchanged file is applied, with nothing to change
    const reloaded = await post(base, '/reload', token);
    expect(reloaded.status).toBe(200);
    expect(reloaded.body).toEqual({ result: 'reloaded', changes: [] });
    expect(value(await scrape(base), 'rxlb_config_reloads_total', { result: 'success' })).toBe(1);

    const ok = await post(base, drain, token);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ pool: 'web', backend: A.address, state: 'draining' });
    expect(await stateRecord(rxlb, A.address, 'up', 'draining')).toMatchObject({ pool: 'web', cause: 'admin' });

    const pool = await post(base, `/pools/nope/backends/${A.address}/enable`, token);
    expect(pool.status).toBe(404);
    expect(pool.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(pool.body).toEqual({ error: { code: 'RXLB_ADMIN_UNKNOWN_POOL', message: 'no pool named "nope"' } });
    const backend = await post(base, '/pools/web/backends/127.0.0.1:1/enable', token);
    expect(backend.status).toBe(404);
    expect(backend.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(backend.body).toMatchObject({ error: { code: 'RXLB_ADMIN_UNKNOWN_BACKEND' } });
    expect((backend.body as { error: { message: string } }).error.message).toContain('127.0.0.1:1');
    // neither touched the real backend
    expect((await status(base)).pools[0]!.backends[0]!.state).toBe('draining');
  });
});

describe('admin API: drain, disable, enable', () => {
  it('drains a backend: new connections go to the other, the held one carries on byte-exact and ends normally; enable and disable likewise', async () => {
    const A = await server(named('A'));
    const B = await server(named('B'));
    const address = { A: A.address, B: B.address } as const;
    const rxlb = startRxlb(['-c', writeTemp(tcpConfig({ pools: { web: [A.address, B.address] } })), '--admin', '127.0.0.1:0']);
    const [port, base] = await Promise.all([listeningPort(rxlb, 'web'), adminBase(rxlb)]);
    const backendOf = async (name: 'A' | 'B') => (await status(base)).pools[0]!.backends.find((b) => b.address === address[name])!;

    // a long-lived connection to X
    const held = await client(port);
    const X = (await readLine(held)) as 'A' | 'B';
    const Y = X === 'A' ? 'B' : 'A';
    const heldData = collector(held);

    const drained = await post(base, `/pools/web/backends/${address[X]}/drain`);
    expect(drained.status).toBe(200);
    expect(drained.body).toEqual({ pool: 'web', backend: address[X], state: 'draining' });
    expect(await stateRecord(rxlb, address[X], 'up', 'draining')).toMatchObject({ pool: 'web', cause: 'admin' });

    for (let i = 0; i < 6; i += 1) {
      const { name, record } = await probe(rxlb, port);
      expect(name, `connection ${i} after drain`).toBe(Y);
      expect(record.backend).toBe(address[Y]);
    }
    expect(await backendOf(X)).toMatchObject({ state: 'draining', active: 1, total: 1 });
    let metrics = await scrape(base);
    expect(value(metrics, 'rxlb_backend_up', { pool: 'web', backend: address[X] })).toBe(0);
    expect(value(metrics, 'rxlb_connections_active', { listener: 'web', pool: 'web', backend: address[X] })).toBe(1);

    // the held connection still works both ways
    const data = pattern(200_000, 7);
    held.write(data);
    expect((await within(heldData.until(data.length), 'the echo on the held connection')).equals(data)).toBe(true);
    held.end();
    await within(once(held, 'close'), 'the held connection to close');
    expect(heldData.bytes()).toHaveLength(0);
    expect(await rxlb.waitFor(closedFor(held))).toMatchObject({ backend: address[X], bytes_up: data.length, bytes_down: data.length + 2, reason: 'client_closed' });
    expect(await backendOf(X)).toMatchObject({ state: 'draining', active: 0, total: 1 });

    // enable: back in rotation
    const enabled = await post(base, `/pools/web/backends/${address[X]}/enable`);
    expect(enabled.body).toEqual({ pool: 'web', backend: address[X], state: 'up' });
    expect(await stateRecord(rxlb, address[X], 'draining', 'up')).toMatchObject({ pool: 'web', cause: 'admin' });
    const turns: string[] = [];
    for (let i = 0; i < 4; i += 1) turns.push((await probe(rxlb, port)).name);
    expect(turns.sort()).toEqual(['A', 'A', 'B', 'B']);

    // disable, with a connection open to it
    let held2: net.Socket | undefined;
    for (let i = 0; i < 2 && !held2; i += 1) {
      const socket = await client(port);
      if ((await readLine(socket)) === X) held2 = socket;
      else socket.end();
    }
    expect(held2, `a second connection to ${X}`).toBeDefined();
    const held2Data = collector(held2!);
    const disabled = await post(base, `/pools/web/backends/${address[X]}/disable`);
    expect(disabled.body).toEqual({ pool: 'web', backend: address[X], state: 'disabled' });
    expect(await stateRecord(rxlb, address[X], 'up', 'disabled')).toMatchObject({ pool: 'web', cause: 'admin' });
    for (let i = 0; i < 4; i += 1) expect((await probe(rxlb, port)).name, `connection ${i} after disable`).toBe(Y);
    expect(await backendOf(X)).toMatchObject({ state: 'disabled', active: 1 });
    metrics = await scrape(base);
    expect(value(metrics, 'rxlb_backend_up', { pool: 'web', backend: address[X] })).toBe(0);
    const more = pattern(50_000, 8);
    held2!.write(more);
    expect((await within(held2Data.until(more.length), 'the echo on the second held connection')).equals(more)).toBe(true);
    held2!.end();
    await within(once(held2!, 'close'), 'the second held connection to close');
    expect(await rxlb.waitFor(closedFor(held2!))).toMatchObject({ backend: address[X], bytes_up: more.length, bytes_down: more.length + 2, reason: 'client_closed' });

    // the address percent-encoded, as a client library may send it
    expect((await post(base, `/pools/web/backends/${encodeURIComponent(address[X])}/enable`)).body).toEqual({ pool: 'web', backend: address[X], state: 'up' });
    expect(await stateRecord(rxlb, address[X], 'disabled', 'up')).toMatchObject({ pool: 'web', cause: 'admin' });
    const back: string[] = [];
    for (let i = 0; i < 2; i += 1) back.push((await probe(rxlb, port)).name);
    expect(back.sort()).toEqual(['A', 'B']);

    const changes = rxlb.records.filter((r) => r.msg === 'backend state');
    expect(changes.map((r) => [r.backend, r.from, r.to, r.cause])).toEqual([
      [address[X], 'up', 'draining', 'admin'],
      [address[X], 'draining', 'up', 'admin'],
      [address[X], 'up', 'disabled', 'admin'],
      [address[X], 'disabled', 'up', 'admin'],
    ]);
    const view = await status(base);
    expectAgreement(view, await scrape(base));
  });
});

describe('admin API: POST /reload', () => {
  it('applies a valid edited file (200 with the changes), refuses an invalid one (400 naming file, line and key) and keeps serving the old config', async () => {
    const A = await server(named('A'));
    const B = await server(named('B'));
    const admin = 'listen = "127.0.0.1:0"';
    const file = writeTemp(tcpConfig({ admin, pools: { web: [A.address] } }));
    const rxlb = startRxlb(['-c', file]);
    const [port, base] = await Promise.all([listeningPort(rxlb, 'web'), adminBase(rxlb)]);
    expect((await probe(rxlb, port)).name).toBe('A');

    writeFileSync(file, tcpConfig({ admin, pools: { web: [A.address, B.address] } }));
    const applied = await post(base, '/reload');
    expect(applied.status).toBe(200);
    expect(applied.body).toEqual({ result: 'reloaded', changes: [`backend added: pool.web ${B.address}`] });
    expect(await rxlb.waitFor((r) => r.msg === 'config reloaded')).toMatchObject({ changes: [`backend added: pool.web ${B.address}`] });
    const before: string[] = [];
    for (let i = 0; i < 2; i += 1) before.push((await probe(rxlb, port)).name);
    expect(before.sort()).toEqual(['A', 'B']);

    // two mistakes: an unknown key and a zero weight
    const bad = [
      '[admin]',
      admin,
      '',
      '[[listener]]',
      'name = "web"',
      'bind = "127.0.0.1:0"',
      'pool = "web"',
      '',
      '[pool.web]',
      'polcy = "first"',
      '',
      '[[pool.web.backend]]',
      `address = "${A.address}"`,
      'weight = 0',
      '',
    ].join('\n');
    writeFileSync(file, bad);
    const refused = await post(base, '/reload');
    expect(refused.status).toBe(400);
    const body = refused.body as { error: { code: string; message: string; errors: string[] } };
    expect(body.error.code).toBe('RXLB_RELOAD_FAILED');
    expect(body.error.message).toBe('config reload failed with 2 errors');
    expect(body.error.errors).toHaveLength(2);
    expect(body.error.errors[0]).toMatch(new RegExp(`^${escape(file)}:10:1: pool\\.web\\.polcy: unknown key "polcy"; did you mean "policy"\\?$`, 'i'));
    expect(body.error.errors[1]).toMatch(new RegExp(`^${escape(file)}:14:1: pool\\.web\\.backend\\[0\\]\\.weight: `));
    expect(await rxlb.waitFor((r) => r.msg === 'config reload failed')).toMatchObject({ level: 'error', errors: body.error.errors });

    // the old config still serves: both backends, in turn
    const after: string[] = [];
    for (let i = 0; i < 2; i += 1) after.push((await probe(rxlb, port)).name);
    expect(after.sort()).toEqual(['A', 'B']);
    const view = await status(base);
    expect(view.pools).toEqual([{ name: 'web', policy: 'round-robin', backends: [expect.objectContaining({ address: A.address, state: 'up' }), expect.objectContaining({ address: B.address, state: 'up' })] }]);
    const metrics = await scrape(base);
    expect(value(metrics, 'rxlb_config_reloads_total', { result: 'success' })).toBe(1);
    expect(value(metrics, 'rxlb_config_reloads_total', { result: 'failure' })).toBe(1);
    expectAgreement(view, metrics);

    // SIGHUP is the same reload, counted in the same series
    writeFileSync(file, tcpConfig({ admin, pools: { web: [B.address] } }));
    rxlb.child.kill('SIGHUP');
    expect(await rxlb.waitFor((r) => r.msg === 'config reloaded' && rxlb.records.filter((x) => x.msg === 'config reloaded').length === 2)).toMatchObject({
      changes: [`backend removed: pool.web ${A.address}`],
    });
    expect((await probe(rxlb, port)).name).toBe('B');
    const hup = await scrape(base);
    expect(value(hup, 'rxlb_config_reloads_total', { result: 'success' })).toBe(2);
    expect(value(hup, 'rxlb_config_reloads_total', { result: 'failure' })).toBe(1);
  });
});

describe('the strict Prometheus parser itself', () => {
  it('accepts good text and rejects each kind of bad text', () => {
    const good = '# HELP a_total A \\\\ counter.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n",y="2"} 3\n\n# TYPE g gauge\n# HELP g G.\ng{k="a"} -Inf\ng{k="b"} Nan\ng{k="c"} 1.5e-3\n';
    const parsed = parsePrometheus(good);
    expect(parsed.get('g')!.samples.map((x) => x.value)).toEqual([-Infinity, Number.NaN, 0.0015]);
    expect(parsed.get('a_total')).toEqual({ name: 'a_total', type: 'counter', help: 'A \\ counter.', samples: [{ name: 'a_total', labels: { x: 'q"\\\n', y: '2' }, value: 3 }] });
    const bad = [
      '# TYPE a counter\na 1', // no final newline
      '# TYPE a counter\na 1\n', // no HELP
      '# HELP a A.\na 1\n', // no TYPE
      '# HELP a A.\n# TYPE a counter\na{x="1",x="2"} 1\n', // a label twice
      '# HELP a A.\n# TYPE a counter\na{x="1"} 1\na{x="1"} 2\n', // a series twice
      '# HELP a A.\n# TYPE a counter\na{x=1} 1\n', // unquoted
      '# HELP a A.\n# TYPE a counter\na{x="\\t"} 1\n', // bad escape
      '# HELP a A.\n# TYPE a counter\na{x="1} 1\n', // unterminated
      '# HELP a A.\n# TYPE a counter\na one\n', // not a number
      '# HELP a A.\n# TYPE a counter\na -1\n', // negative counter
      '# HELP a A.\n# TYPE a counter\nb 1\n', // sample of no declared family
      '# HELP a A.\n# TYPE a counter\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a A.\n', // a family comes back
      '# HELP a A.\n# TYPE a counter\n# a comment\na 1\n', // a free comment
    ];
    for (const text of bad) expect(() => parsePrometheus(text), JSON.stringify(text)).toThrow();
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
