/**
 * Real servers and clients from Debian packages (nginx, redis, iperf3, wrk, curl), run as
 * child processes on 127.0.0.1 with their own config in a temporary folder. `npm test`
 * installs them (scripts/test-deps.sh, as root); where one is missing, its spec registers
 * one test that says so (and fails under CI, where it should have been installed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { killAll, refusedPort } from '../integration/harness.js';

/** Where binaries are looked for: PATH, then the sbin folders a non-root PATH may lack (nginx is in /usr/sbin). */
const SEARCH_PATH = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((d) => d !== '');

/** The full path of an executable, or undefined when it is not installed. */
export function which(name: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * Checks that every binary a spec needs is installed. When some are missing, registers a
 * single test that prints why the spec is skipped, and that fails when `CI=true`, since
 * `npm test` installs them there (scripts/test-deps.sh). Call it at the top of a
 * `describe` and return when it is false.
 */
export function requireBinaries(what: string, binaries: readonly string[], packages: string): boolean {
  const missing = binaries.filter((b) => which(b) === undefined);
  if (missing.length === 0) return true;
  const reason = `interop: ${what} not installed (missing ${missing.join(', ')}; apt-get install ${packages}): skipped`;
  it(`is skipped: ${missing.join(', ')} not installed`, () => {
    console.warn(reason);
    if (process.env.CI === 'true') expect.fail(`${reason}, but CI=true and npm test (scripts/test-deps.sh) should have installed them`);
  });
  return false;
}

/** A fresh folder for one server's config, logs and data, removed after the spec file. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rxlb-interop-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port free on 127.0.0.1 now: one that refuses connections until a server takes it. */
export const freePort = refusedPort;

/** A port free on 127.0.0.1 for both TCP and UDP now (iperf3 -u uses both on one port). */
export async function freeTcpUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await freePort();
    const socket = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (bound) return port;
  }
  throw new Error('no port free for both TCP and UDP on 127.0.0.1 in 20 tries');
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds; polls every 25 ms, up to `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000, server?: Server): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (server && server.exitCode() !== undefined) throw new Error(`${server.name} exited (${server.exitCode()}) before listening on ${port}: ${server.output()}`);
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms${server ? `: ${server.output()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A long-running server started by `startServer`. */
export interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** The exit code (or signal name) once exited, else undefined. */
  exitCode(): number | string | undefined;
  /** Resolves once `match` is found in the output, or rejects when the server exits or after `timeoutMs`. */
  waitForOutput(match: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const started = new Set<Server>();
// Should the test process end without its teardown, take the servers along.
process.once('exit', () => {
  for (const s of started) if (s.exitCode() === undefined) s.child.kill('SIGTERM');
});

/** Spawns a server process; every one still running is stopped after each test file. */
export function startServer(command: string, args: readonly string[], options: { cwd?: string } = {}): Server {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd });
  let output = '';
  let exit: number | string | undefined;
  const listeners = new Set<() => void>();
  const append = (text: string): void => {
    output += text;
    for (const l of [...listeners]) l();
  };
  child.stdout.setEncoding('utf8').on('data', append);
  child.stderr.setEncoding('utf8').on('data', append);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      for (const l of [...listeners]) l();
      resolve();
    }),
  );
  child.once('error', (err) => append(`spawn error: ${err.message}\n`));
  const name = command.split('/').pop() ?? command;
  const server: Server = {
    name,
    child,
    output: () => output,
    exitCode: () => exit,
    waitForOutput(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${name}: no output matching ${match} within ${timeoutMs} ms: ${output}`)), timeoutMs);
        const check = (): void => {
          if (match.test(output)) done();
          else if (exit !== undefined) done(new Error(`${name} exited (${exit}) before printing ${match}: ${output}`));
        };
        const done = (err?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 5_000) {
      if (exit === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      started.delete(server);
    },
  };
  started.add(server);
  return server;
}

/** Stops every server still running and every rxlb process; registered once per spec file by `cleanUp`. */
async function stopAll(): Promise<void> {
  await killAll();
  await Promise.all([...started].map((s) => s.stop()));
}

/** Registers the teardown: rxlb processes after each test, servers after the file. */
export function cleanUp(): void {
  afterEach(killAll);
  afterAll(stopAll);
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a client to completion, killing it after `timeoutMs`; never rejects on a non-zero exit. */
export async function run(command: string, args: readonly string[], options: { timeoutMs?: number; input?: Buffer } = {}): Promise<RunResult> {
  const child = spawn(command, args, { stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  if (options.input) child.stdin?.end(options.input);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const failed = once(child, 'error').then(([err]) => Promise.reject(err instanceof Error ? err : new Error(String(err))));
  failed.catch(() => undefined); // an error after the exit is not unhandled
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  try {
    const [code, signal] = await Promise.race([exited, failed]);
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** The `connection closed` records of one rxlb, as typed numbers. */
export interface Closed {
  readonly client: string;
  readonly backend: string | null;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly reason: string;
}

export function closedRecords(records: readonly { readonly msg: string; readonly [field: string]: unknown }[]): Closed[] {
  return records
    .filter((r) => r.msg === 'connection closed')
    .map((r) => ({
      client: String(r.client),
      backend: typeof r.backend === 'string' ? r.backend : null,
      bytesUp: Number(r.bytes_up),
      bytesDown: Number(r.bytes_down),
      reason: String(r.reason),
    }));
}

/** A TOML config with one listener named `name` (with `settings`, TOML lines) and one round-robin pool of `backends`. */
export function rxlbConfig(name: string, bind: string, backends: readonly string[], protocol: 'tcp' | 'udp' = 'tcp', settings: readonly string[] = []): string {
  return [
    '[[listener]]',
    `name = "${name}"`,
    `bind = "${bind}"`,
    `protocol = "${protocol}"`,
    `pool = "${name}"`,
    ...settings,
    '',
    `[pool.${name}]`,
    'policy = "round-robin"',
    '',
    ...backends.flatMap((address) => [`[[pool.${name}.backend]]`, `address = "${address}"`, '']),
  ].join('\n');
}
