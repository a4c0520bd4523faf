import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';
import { type LogRecord, type Rxlb, listeningPort, startRxlb, writeTemp } from '../integration/harness.js';

/*
 * Shared tools of the fault suite: what rxlb holds (sockets and memory, read from /proc),
 * backends that misbehave on purpose, and bounded waits that fail with a message saying
 * what did not happen.
 */

export const KiB = 1024;
export const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// What a process holds, from /proc

/** Sockets a process holds: links in /proc/<pid>/fd that point at `socket:[inode]`. */
export function socketCount(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets += 1;
    } catch {
      // closed between the listing and the look: not held any more
    }
  }
  return sockets;
}

/**
 * Polls a process's socket count until it equals `expected` or `timeoutMs` passes, and
 * returns the last count, for the caller to assert. The kernel offers no event for "a
 * descriptor was closed", so this is a bounded poll; callers first await the records
 * that say the connections ended, so it normally returns at the first look.
 */
export async function settledSocketCount(pid: number, expected: number, timeoutMs = 3_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = socketCount(pid);
  while (count !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = socketCount(pid);
  }
  return count;
}

/** A `VmRSS` or `VmHWM` line of /proc/<pid>/status, in KiB. */
export function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(line.split(/\s+/)[1]);
}

export interface RssSamples {
  readonly peakKiB: number;
  readonly samples: number;
}

/** Samples a process's resident set every `everyMs` until `stop()`, which returns the peak seen. */
export function sampleRss(pid: number, everyMs = 25): { stop(): RssSamples } {
  let peakKiB = memoryKiB(pid, 'VmRSS');
  let samples = 1;
  const timer = setInterval(() => {
    try {
      peakKiB = Math.max(peakKiB, memoryKiB(pid, 'VmRSS'));
      samples += 1;
    } catch {
      // the process is gone; the test will say so
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakKiB, samples };
    },
  };
}

/** Sets a running process's descriptor limit, soft and hard (lowering needs no privilege). */
export function limitDescriptors(pid: number, limit: number): void {
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
}

/** The process's descriptor limit (soft), from /proc/<pid>/limits. */
export function descriptorLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  if (line === undefined) throw new Error(`no descriptor limit in /proc/${pid}/limits`);
  return Number(line.replace('Max open files', '').trim().split(/\s+/)[0]);
}

// ---------------------------------------------------------------------------------------
// Bounded waits

/** Resolves as `promise` does, or rejects after `ms` with "`what` within ms". */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (err: unknown) => (clearTimeout(timer), reject(err instanceof Error ? err : new Error(String(err)))),
    );
  });
}

/** Resolves at a socket's 'close' (whatever error came before it), with the time it came. */
export function closed(socket: net.Socket): Promise<number> {
  if (socket.closed) return Promise.resolve(performance.now());
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(performance.now()));
  });
}

/**
 * Resolves at the first sign that the peer is gone: 'end' (an orderly FIN) or 'close'
 * (a reset, or both sides done), with the time it came. A peer's reset can arrive as
 * either: libuv reports a reset as an end of stream when its last read was short and
 * the kernel also says POLLHUP (libuv issue 2319, reworked upstream in libuv PR 4997,
 * not yet in the libuv of Node 20), so an orderly end is what rxlb often sees of a
 * reset, and what it then passes on.
 */
export function gone(socket: net.Socket): Promise<number> {
  if (socket.closed || socket.readableEnded) return Promise.resolve(performance.now());
  return new Promise((resolve) => {
    const at = (): void => resolve(performance.now());
    socket.on('error', () => undefined);
    socket.once('end', at).once('close', at);
  });
}

/** Resolves when `n` records matching `match` have been logged (counting those already seen). */
export function waitForCount(rxlb: Rxlb, match: (r: LogRecord) => boolean, n: number, timeoutMs = 10_000): Promise<LogRecord> {
  let seen = 0;
  // waitFor hands every record to the predicate exactly once: first the ones already
  // logged, then each new one, until it matches.
  return rxlb.waitFor((r) => match(r) && (seen += 1) === n, timeoutMs).catch((err: unknown) => {
    throw new Error(`${seen} of ${n} matching records: ${err instanceof Error ? err.message : String(err)}`);
  });
}

export const closedRecords = (rxlb: Rxlb): LogRecord[] => rxlb.records.filter((r) => r.msg === 'connection closed');

// ---------------------------------------------------------------------------------------
// Data

/**
 * A deterministic byte stream, generated 1 MiB at a time (AES-128-CTR over zeros, which
 * is fast enough for hundreds of MiB): `next(n)` gives the next n bytes, and `digest()`
 * the hash of all given so far.
 */
export function byteStream(seed: number): { next(n: number): Buffer; digest(): string } {
  const key = createHash('sha256').update(`rxlb-fault-${seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const hash = createHash('sha256');
  return {
    next: (n) => {
      const chunk = cipher.update(Buffer.alloc(n));
      hash.update(chunk);
      return chunk;
    },
    digest: () => hash.digest('hex'),
  };
}

/** Collects what a socket reads, with a running hash, without ending or pausing it. */
export function tally(socket: net.Socket): { bytes(): number; data(): Buffer } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bytes += chunk.length;
  });
  return { bytes: () => bytes, data: () => Buffer.concat(chunks) };
}

/** Resolves once a socket has read at least `n` bytes in total (counted by `tally`). */
export function readAtLeast(socket: net.Socket, counted: { bytes(): number }, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (counted.bytes() >= n) {
        socket.off('data', check);
        resolve();
      }
    };
    socket.on('data', check);
    socket.once('close', () => (counted.bytes() >= n ? resolve() : reject(new Error(`closed after ${counted.bytes()} of ${n} bytes`))));
    check();
  });
}

// ---------------------------------------------------------------------------------------
// Configs

export interface PoolOptions {
  readonly backends: readonly string[];
  readonly policy?: string;
  readonly connectTimeout?: string;
  readonly idleTimeout?: string;
  readonly retries?: number;
  readonly onNoBackend?: 'close' | 'http-503';
  /** Adds `[pool.web.passive]` with this `consecutive_failures`. */
  readonly passiveFailures?: number;
}

/** A config file: one listener `web` on 127.0.0.1:0 in front of pool `web`. */
export function poolConfig(options: PoolOptions): string {
  const lines = ['[[listener]]', 'name = "web"', 'bind = "127.0.0.1:0"', 'pool = "web"', '[pool.web]'];
  if (options.policy !== undefined) lines.push(`policy = "${options.policy}"`);
  if (options.connectTimeout !== undefined) lines.push(`connect_timeout = "${options.connectTimeout}"`);
  if (options.idleTimeout !== undefined) lines.push(`idle_timeout = "${options.idleTimeout}"`);
  if (options.retries !== undefined) lines.push(`retries = ${options.retries}`);
  if (options.onNoBackend !== undefined) lines.push(`on_no_backend = "${options.onNoBackend}"`);
  if (options.passiveFailures !== undefined) lines.push('[pool.web.passive]', `consecutive_failures = ${options.passiveFailures}`);
  for (const address of options.backends) lines.push('[[pool.web.backend]]', `address = "${address}"`);
  return writeTemp(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------
// Backends in child processes

/** A backend in its own process, so its sockets count against its own descriptors. */
export interface ChildBackend {
  readonly port: number;
  readonly address: string;
  readonly child: ChildProcess;
}

const started: { child: ChildProcess; extra: net.Socket[] }[] = [];

/**
 * Child-process backends for one spec file: each is killed (and its fillers closed)
 * after each test.
 */
export function childBackends(): { echo(): Promise<ChildBackend>; blackhole(): Promise<ChildBackend>; held(options: HeldOptions): Promise<HeldBackend> } {
  afterEach(async () => {
    await Promise.all(
      started.splice(0).map(async ({ child, extra }) => {
        for (const s of extra) s.destroy();
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      }),
    );
  });
  return { echo: echoChild, blackhole: blackholeChild, held: heldChild };
}

// Exits when the test process goes away (its stdin closes), so none is ever left behind.
const ECHO_CHILD = `
const net = require('node:net');
process.stdin.on('end', () => process.exit(0)).resume();
const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
  socket.on('error', () => {});
  socket.pipe(socket);
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => process.stdout.write(server.address().port + '\\n'));
`;

/** The blackhole's listen backlog: Linux queues one more than this, then drops SYNs. */
export const BLACKHOLE_BACKLOG = 1;

// Listens with a small backlog, says its port, then blocks its event loop, so it never
// calls accept(): the kernel completes handshakes into the accept queue until it is full,
// and from then on drops SYNs, which leaves a client's connect() pending. It gives up
// after two minutes, so it cannot outlive a crashed test for long.
const BLACKHOLE_CHILD = `
const net = require('node:net');
const server = net.createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: ${BLACKHOLE_BACKLOG} }, () => {
  // Synchronously: the loop must not run again, or it would accept the fillers.
  require('node:fs').writeSync(1, server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);
  process.exit(0);
});
`;

async function spawnChild(code: string): Promise<{ child: ChildProcess; port: number; extra: net.Socket[] }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const entry = { child, extra: [] as net.Socket[] };
  started.push(entry);
  const [line] = (await within(once(child.stdout!, 'data'), 10_000, 'child backend says its port')) as [Buffer];
  return { ...entry, port: Number(line.toString().trim()) };
}

async function echoChild(): Promise<ChildBackend> {
  const { child, port } = await spawnChild(ECHO_CHILD);
  return { child, port, address: `127.0.0.1:${port}` };
}

/** Connections waiting in the accept queue of a listening socket on 127.0.0.1 (its rx_queue in /proc/net/tcp). */
export function acceptQueue(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return parseInt((f[4] ?? '0:0').split(':')[1] ?? '0', 16);
  }
  throw new Error(`no listening socket on 127.0.0.1:${port}`);
}

/**
 * A backend that never accepts: its accept queue is filled (by sockets this helper
 * holds) until the kernel reports it full, so every further connect() to it stays
 * pending, its SYNs dropped, until the connecting side gives up.
 */
async function blackholeChild(): Promise<ChildBackend> {
  const entry = await spawnChild(BLACKHOLE_CHILD);
  const { port } = entry;
  for (let fillers = 1; ; fillers += 1) {
    if (fillers > 8) throw new Error(`the accept queue of 127.0.0.1:${port} never filled: ${acceptQueue(port)} queued`);
    const filler = net.connect({ host: '127.0.0.1', port });
    filler.on('error', () => undefined);
    entry.extra.push(filler);
    await within(once(filler, 'connect'), 2_000, `filler ${fillers} connects to the blackhole`);
    // The server side queues the connection when it sees the final ACK; wait for it.
    const deadline = Date.now() + 1_000;
    while (acceptQueue(port) < fillers && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    if (acceptQueue(port) > BLACKHOLE_BACKLOG) break; // full: the kernel drops SYNs from here on
  }
  return { child: entry.child, port, address: `127.0.0.1:${port}` };
}

export interface HeldOptions {
  /** Its listen backlog: its queue holds one more, and must hold every connect that is to wait for the release. */
  readonly backlog: number;
  /** What it answers after each request, as `answerAtEnd` does. */
  readonly body: Buffer;
}

/** A backend that accepts nothing until released, then answers as `answerAtEnd` does. */
export interface HeldBackend extends ChildBackend {
  /** The local ports of the connections that fill its accept queue (this process holds them). */
  readonly fillers: readonly number[];
  /** The remote ports of the connections it has accepted, in the order it accepted them. */
  readonly accepted: readonly number[];
  /** Lets it accept: resolves once its event loop runs again. */
  release(): Promise<void>;
  /** Resolves once it has accepted the connection from `port`. */
  acceptedFrom(port: number, timeoutMs?: number): Promise<void>;
}

// Listens, says its port, then blocks its event loop in a read of its stdin until the
// test writes a byte there (or goes away), so until then it accepts nothing and its
// queue fills. Then it accepts everything queued and serves each connection as
// answerAtEnd does, saying the remote port of each one it accepts.
const HELD_CHILD = `
const net = require('node:net');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const body = fs.readFileSync(process.argv[1]);
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  fs.writeSync(1, 'accepted ' + socket.remotePort + '\\n');
  socket.on('error', () => {});
  const hash = createHash('sha256');
  socket.on('data', (chunk) => hash.update(chunk));
  socket.on('end', () => socket.end(Buffer.concat([Buffer.from(hash.digest('hex') + '\\n'), body])));
});
server.listen({ host: '127.0.0.1', port: 0, backlog: Number(process.argv[2]) }, () => {
  fs.writeSync(1, 'port ' + server.address().port + '\\n');
  const one = Buffer.alloc(1);
  for (;;) {
    try {
      fs.readSync(0, one, 0, 1, null);
      break;
    } catch (err) {
      if (err.code !== 'EAGAIN') break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  fs.writeSync(1, 'released\\n');
  process.stdin.on('end', () => process.exit(0)).resume();
});
`;

/**
 * A backend whose connects hang until the test says otherwise: its accept queue is
 * filled as the blackhole's is, then `release()` lets it accept, and the connects whose
 * SYNs were dropped complete at their next retransmission (Linux sends a dropped SYN
 * again after 1 s, then 2 s later, and so on). Closing the fillers would not do: Linux
 * keeps a closed connection in the accept queue until it is accepted.
 */
async function heldChild(options: HeldOptions): Promise<HeldBackend> {
  const bodyFile = writeTemp('', `held-${(held += 1)}.bin`);
  writeFileSync(bodyFile, options.body);
  const child = spawn(process.execPath, ['-e', HELD_CHILD, bodyFile, String(options.backlog)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const entry = { child, extra: [] as net.Socket[] };
  started.push(entry);
  const accepted: number[] = [];
  const waiters = new Map<string, () => void>();
  const heard = (line: string): void => {
    const [what, value] = line.split(' ');
    if (what === 'accepted') accepted.push(Number(value));
    waiters.get(line)?.();
    waiters.delete(line);
  };
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', heard);
  const hear = (line: string, timeoutMs: number, what: string): Promise<void> =>
    within(new Promise<void>((resolve) => waiters.set(line, resolve)), timeoutMs, what);
  const [first] = (await within(once(lines, 'line'), 10_000, 'the held backend says its port')) as [string];
  const port = Number(first.split(' ')[1]);
  // Every filler at once: the queue takes up to backlog + 1, all completed handshakes.
  const fillers = await Promise.all(
    Array.from({ length: options.backlog + 1 }, async () => {
      const filler = net.connect({ host: '127.0.0.1', port });
      filler.on('error', () => undefined);
      entry.extra.push(filler);
      await within(once(filler, 'connect'), 2_000, 'a filler connects to the held backend');
      return filler.localPort!;
    }),
  );
  const deadline = Date.now() + 2_000;
  while (acceptQueue(port) <= options.backlog && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  if (acceptQueue(port) <= options.backlog) throw new Error(`the accept queue of 127.0.0.1:${port} never filled: ${acceptQueue(port)} queued`);
  return {
    child,
    port,
    address: `127.0.0.1:${port}`,
    fillers,
    accepted,
    release: () => {
      const released = hear('released', 5_000, 'the held backend is released');
      child.stdin!.write('x');
      return released;
    },
    acceptedFrom: (from, timeoutMs = 10_000) => (accepted.includes(from) ? Promise.resolve() : hear(`accepted ${from}`, timeoutMs, `the held backend accepts the connection from port ${from}`)),
  };
}
let held = 0;

/**
 * Serves each connection by reading to the client's FIN, then answering `answerTo` its
 * request and closing: a client that half-closes gets its whole answer, and the answer
 * says whether every byte of the request arrived.
 */
export function answerAtEnd(body: Buffer): (socket: net.Socket) => void {
  return (socket) => {
    const hash = createHash('sha256');
    socket.on('data', (chunk: Buffer) => hash.update(chunk));
    socket.on('end', () => socket.end(Buffer.concat([Buffer.from(`${hash.digest('hex')}\n`), body])));
  };
}

/** What `answerAtEnd` (and a released held backend) answers to `request`. */
export function answerTo(request: Buffer, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${createHash('sha256').update(request).digest('hex')}\n`), body]);
}

const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'];

/**
 * The kernel's view of the TCP sockets on 127.0.0.1 that have `port` at either end:
 * "local -> remote STATE send-queue/receive-queue", for failure messages.
 */
export function tcpSocketsOn(port: number): string[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const text = (h: string): string => `${parseInt(h.split(':')[1] ?? '0', 16)}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hex}`) === true || f[2]?.endsWith(`:${hex}`) === true)
    .map((f) => {
      const [tx, rx] = (f[4] ?? '0:0').split(':').map((h) => parseInt(h, 16));
      return `${text(f[1] ?? '')} -> ${text(f[2] ?? '')} ${TCP_STATES[parseInt(f[3] ?? '0', 16)] ?? f[3] ?? '?'} ${tx ?? 0}/${rx ?? 0}`;
    });
}

/**
 * Opens and closes one more connection and waits for its `connection closed` record.
 * rxlb writes its log in order, so once that record is out, every earlier one is too:
 * a failure message can tell records that were never made from records still waiting
 * in rxlb's log buffer.
 */
export async function logOneMore(rxlb: Rxlb, port: number): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const address = `127.0.0.1:${socket.localPort}`;
  socket.destroy();
  await rxlb.waitFor((r) => r.msg === 'connection closed' && r.client === address, 5_000).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------
// rxlb's own counters, through its admin API (started with `--admin 127.0.0.1:0`)

export interface AdminStatus {
  readonly listeners: readonly { name: string; protocol: string; address: string; pool: string; active: number }[];
  readonly pools: readonly {
    name: string;
    policy: string;
    backends: readonly { address: string; state: string; weight: number; active: number; total: number; failures: number }[];
  }[];
}

export interface Admin {
  readonly address: string;
  status(): Promise<AdminStatus>;
  metrics(): Promise<string>;
  /** A POST (a backend action), answered 200 with this body. */
  post(path: string): Promise<string>;
}

/** One request on a fresh connection that the server closes after answering, so no socket is left behind. */
function request(address: string, method: 'GET' | 'POST', path: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (t: string) => (body += t));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${method} ${path}: ${res.statusCode ?? '?'} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The admin API of a running rxlb, at the address its `admin listening` record gives. */
export async function adminOf(rxlb: Rxlb): Promise<Admin> {
  const { address } = await rxlb.waitFor((r) => r.msg === 'admin listening');
  const at = String(address);
  return {
    address: at,
    status: async () => JSON.parse(await request(at, 'GET', '/status')) as AdminStatus,
    metrics: () => request(at, 'GET', '/metrics'),
    post: (path) => request(at, 'POST', path),
  };
}

/**
 * The sum of a metric's samples in Prometheus text whose labels include `labels`
 * (`name{a="b",...} value` lines; a metric with no sample sums to 0).
 */
export function metricSum(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[3] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(match[4]);
  }
  return sum;
}

/** What rxlb's own counters say is open now: every one of them must be 0 once the clients are gone. */
export async function openByCounters(admin: Admin): Promise<Record<string, number>> {
  const [status, metrics] = [await admin.status(), await admin.metrics()];
  return {
    status_listeners_active: status.listeners.reduce((n, l) => n + l.active, 0),
    status_backends_active: status.pools.reduce((n, p) => n + p.backends.reduce((m, b) => m + b.active, 0), 0),
    rxlb_connections_active: metricSum(metrics, 'rxlb_connections_active'),
    rxlb_listener_connections_active: metricSum(metrics, 'rxlb_listener_connections_active'),
  };
}

export const NOTHING_OPEN = {
  status_listeners_active: 0,
  status_backends_active: 0,
  rxlb_connections_active: 0,
  rxlb_listener_connections_active: 0,
} as const;

export interface Totals {
  readonly connections: number;
  readonly upstream: number;
  readonly downstream: number;
}

/** Connections that reached a backend, and bytes each way, as rxlb's metrics count them. */
export async function totalsByCounters(admin: Admin): Promise<Totals> {
  const metrics = await admin.metrics();
  return {
    connections: metricSum(metrics, 'rxlb_connections_total'),
    upstream: metricSum(metrics, 'rxlb_bytes_total', { direction: 'upstream' }),
    downstream: metricSum(metrics, 'rxlb_bytes_total', { direction: 'downstream' }),
  };
}

/**
 * The same, as the `connection closed` records of the connections that reached a backend
 * add up. A record of one that never connected still names the backend it tried (after
 * `connect_failed`, or a client that went during the connect), and its counters count
 * nothing: with -v the `backend connected` records say which connected; without, a
 * record that names a backend and is not `connect_failed` is taken to have.
 */
export function totalsByRecords(records: readonly LogRecord[]): Totals {
  const trailLogged = records.some((r) => r.msg === 'connection opened');
  const connected = new Set(records.filter((r) => r.msg === 'backend connected').map((r) => r.client));
  const reached = records.filter(
    (r) => r.msg === 'connection closed' && (trailLogged ? connected.has(r.client) : r.backend !== null && r.backend !== undefined && r.reason !== 'connect_failed'),
  );
  return {
    connections: reached.length,
    upstream: reached.reduce((n, r) => n + Number(r.bytes_up), 0),
    downstream: reached.reduce((n, r) => n + Number(r.bytes_down), 0),
  };
}

/** rxlb started for a fault case: with the admin API, bound, and its sockets at rest counted. */
export interface Watched {
  readonly rxlb: Rxlb;
  readonly port: number;
  readonly admin: Admin;
  readonly pid: number;
  /** Its sockets before any traffic: every case ends with this many again. */
  readonly baseline: number;
}

/** Starts rxlb with `args` and the admin API on a free loopback port (`prefix` as startRxlb's). */
export async function startWatched(args: readonly string[], prefix: readonly string[] = []): Promise<Watched> {
  const rxlb = startRxlb([...args, '--admin', '127.0.0.1:0'], prefix);
  const port = await listeningPort(rxlb);
  const admin = await adminOf(rxlb);
  const pid = rxlb.child.pid!;
  return { rxlb, port, admin, pid, baseline: socketCount(pid) };
}
