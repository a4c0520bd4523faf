import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface LogRecord {
  readonly msg: string;
  readonly level: string;
  readonly [field: string]: unknown;
}

/** A running `rxlb` process with its JSON log parsed line by line. */
export interface Rxlb {
  readonly child: ChildProcess;
  readonly records: LogRecord[];
  readonly stderr: () => string;
  /** Resolves with the first record (already seen or still to come) that matches. */
  waitFor(match: (r: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/**
 * Starts `node dist/cli.js ...args --log-format json`; `prefix` runs it through another
 * command (`['prlimit', '--nofile=64:64', '--']`), in `cwd` when given.
 */
export function startRxlb(args: readonly string[], prefix: readonly string[] = [], cwd?: string): Rxlb {
  const command = [...prefix, process.execPath, CLI, ...args, '--log-format', 'json'];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  running.add(child);
  const records: LogRecord[] = [];
  const waiters: { match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      record = { msg: line, level: 'raw' };
    }
    records.push(record);
    for (const w of [...waiters]) {
      if (w.match(record)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(record);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  return {
    child,
    records,
    stderr: () => stderr,
    exited,
    waitFor(match, timeoutMs = 10_000) {
      const seen = records.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log record within ${timeoutMs} ms; stderr: ${stderr}; records: ${JSON.stringify(records.slice(-5))}`)), timeoutMs);
        waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
        void exited.then((code) => reject(new Error(`rxlb exited with ${code} before the record came; stderr: ${stderr}`)));
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Kills whatever a test left running (called from afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }),
  );
}

/** Runs rxlb to completion: exit code, stdout and stderr (for check and start-up failures). */
export async function runRxlb(args: readonly string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The port rxlb printed for a listener. */
export async function listeningPort(rxlb: Rxlb, listener?: string): Promise<number> {
  const record = await rxlb.waitFor((r) => r.msg === 'listening' && (listener === undefined || r.listener === listener));
  return Number(String(record.address).split(':').pop());
}

export interface TestServer {
  readonly port: number;
  readonly address: string;
  /** Sockets accepted so far. */
  readonly accepted: () => number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 running `handle` per connection; `close` destroys every socket. */
export async function startServer(handle: (socket: net.Socket) => void, options: net.ServerOpts = { allowHalfOpen: true }): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer(options, (socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    handle(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echoes everything back, and ends its side when the client ends. */
export const echo = (socket: net.Socket): void => void socket.pipe(socket);

/** Says its name on connect, then echoes. */
export const named =
  (name: string) =>
  (socket: net.Socket): void => {
    socket.write(`${name}\n`);
    socket.pipe(socket);
  };

/** A port that refuses connections: bound once, then closed. */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Deterministic pseudo-random bytes (xorshift), so both ends can hash the same stream. */
export function pattern(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  for (let i = size - (size % 4); i < size; i += 1) buf[i] = i & 0xff;
  return buf;
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Connects, and collects everything the server sends until it ends. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Reads a socket to its end and returns all bytes. Only the read side: unlike
 * `for await`, this leaves the socket open for writing (half-close).
 */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Reads until at least one full line has arrived; returns it without the newline. */
export function readLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        socket.off('data', onData);
        socket.pause();
        resolve(text.slice(0, nl));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('end', () => (text.includes('\n') ? undefined : reject(new Error(`ended before a line: ${JSON.stringify(text)}`))));
  });
}

let scratch: string | undefined;
let written = 0;
/** Writes a file into this test run's temporary folder and returns its path. */
export function writeTemp(text: string, name = `config-${(written += 1)}.toml`): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'rxlb-test-'));
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/**
 * Test servers for one spec file: `server(handle)` starts one, and after each test every
 * server started (and every rxlb process) is closed.
 */
export function testServers(): (handle: (socket: net.Socket) => void) => Promise<TestServer> {
  const started: TestServer[] = [];
  afterEach(async () => {
    await killAll();
    await Promise.all(started.splice(0).map((s) => s.close()));
  });
  return async (handle) => {
    const s = await startServer(handle);
    started.push(s);
    return s;
  };
}
