// The scenarios: each drives one target with a real client on the load CPU and samples
// the proxy's CPU time over exactly the client's run.
//   bulk-*      iperf3 -c through the target to `iperf3 -s` (-P 8 for 8 streams, -R to download)
//   keep-alive  wrk -t1 -c50 to nginx, 50 connections for the whole run
//   close       the same with `Connection: close`: one connection per request
//   idle        bench/idle-clients.js holds `idleCount` connections open; proxy RSS before and while
import path from 'node:path';
import { cpuTicks, rssMedian } from './proc-stats.js';
import { describeExit, runPinned, startPinned, stderrTail, stop } from './processes.js';

const WRK_CONNECTIONS = 50;
/** Connections opened and closed before the baseline RSS, so that memory a proxy allocates once is not counted per connection. */
const IDLE_WARM_UP = 200;

/**
 * @typedef {object} Options
 * @property {number} duration measured seconds of each iperf3 and wrk run
 * @property {boolean} warmUp a 1 s wrk run before each measured one
 * @property {number} idleCount
 * @property {number} settleMs wait before sampling RSS
 * @property {number} clockTicks
 */
/**
 * @typedef {object} Scenario
 * @property {string} key
 * @property {'iperf3' | 'nginx'} backend
 * @property {boolean} proxyOnly no figure for `direct`
 * @property {(ctx: import('./targets.js').Context, target: import('./targets.js').Target, o: Options) => Promise<Record<string, unknown>>} run
 *   resolves with the run's figures and, in `connections`, how many connections it made
 *   through the target (`connections_max` too when only a range is known)
 */

/** @type {Scenario[]} */
export const SCENARIOS = [
  { key: 'bulk-up-1', backend: 'iperf3', proxyOnly: false, run: (ctx, t, o) => bulk(ctx, t, o, 1, false) },
  { key: 'bulk-down-1', backend: 'iperf3', proxyOnly: false, run: (ctx, t, o) => bulk(ctx, t, o, 1, true) },
  { key: 'bulk-up-8', backend: 'iperf3', proxyOnly: false, run: (ctx, t, o) => bulk(ctx, t, o, 8, false) },
  { key: 'bulk-down-8', backend: 'iperf3', proxyOnly: false, run: (ctx, t, o) => bulk(ctx, t, o, 8, true) },
  { key: 'keep-alive', backend: 'nginx', proxyOnly: false, run: (ctx, t, o) => requests(ctx, t, o, false) },
  { key: 'close', backend: 'nginx', proxyOnly: false, run: (ctx, t, o) => requests(ctx, t, o, true) },
  { key: 'idle', backend: 'nginx', proxyOnly: true, run: idle },
];

/**
 * CPU seconds a target's proxy used while `work` ran (undefined for `direct`).
 * @template T
 * @param {import('./targets.js').Target} target
 * @param {Options} o
 * @param {() => Promise<T>} work
 * @returns {Promise<{ result: T, cpu_s: number | undefined }>}
 */
async function withCpu(target, o, work) {
  const pid = target.child?.pid;
  const before = pid === undefined ? 0 : cpuTicks(pid);
  const result = await work();
  const after = pid === undefined ? 0 : cpuTicks(pid);
  return { result, cpu_s: pid === undefined ? undefined : (after - before) / o.clockTicks };
}

/**
 * @param {string} address
 * @returns {[string, string]}
 */
const hostPort = (address) => [address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, ''), address.slice(address.lastIndexOf(':') + 1)];

/**
 * iperf3 through the target: throughput as iperf3's receiver counted it, and proxy CPU per GiB received.
 * @param {import('./targets.js').Context} ctx
 * @param {import('./targets.js').Target} target
 * @param {Options} o
 * @param {number} streams
 * @param {boolean} reverse
 */
async function bulk(ctx, target, o, streams, reverse) {
  const [host, port] = hostPort(target.address);
  const args = ['-c', host, '-p', port, '-t', String(o.duration), '-J', ...(streams > 1 ? ['-P', String(streams)] : []), ...(reverse ? ['-R'] : [])];
  const { result: run, cpu_s } = await withCpu(target, o, () => runPinned('iperf3 client', ctx.cpus.load, ctx.tools.iperf3 ?? 'iperf3', args, o.duration + 30));
  /** @type {{ error?: string, end?: { sum_received?: { bytes: number, seconds: number, bits_per_second: number } } }} */
  let report;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`iperf3 ${args.join(' ')} printed no JSON report (${describeExit(run)}): ${(run.stdout + run.stderr).trim().slice(-1500)}`);
  }
  if (report.error !== undefined || run.code !== 0) throw new Error(`iperf3 ${args.join(' ')} failed (${describeExit(run)}): ${report.error ?? run.stderr.trim()}`);
  const received = report.end?.sum_received;
  if (!received || !(received.bytes > 0)) throw new Error(`iperf3 ${args.join(' ')} received nothing: ${JSON.stringify(report.end)}`);
  return {
    gbit_s: received.bits_per_second / 1e9,
    bytes: received.bytes,
    seconds: received.seconds,
    proxy_cpu_s: cpu_s,
    cpu_ms_per_gib: cpu_s === undefined ? undefined : (cpu_s * 1000) / (received.bytes / 2 ** 30),
    connections: 1 + streams, // the control connection and the data streams
  };
}

/**
 * wrk through the target to nginx: requests per second, proxy CPU per request.
 * @param {import('./targets.js').Context} ctx
 * @param {import('./targets.js').Target} target
 * @param {Options} o
 * @param {boolean} close
 */
async function requests(ctx, target, o, close) {
  const url = `http://${target.address}/`;
  const base = ['-t1', `-c${WRK_CONNECTIONS}`, '-s', path.join(ctx.root, 'bench', 'wrk-report.lua'), ...(close ? ['-H', 'Connection: close'] : [])];
  const wrk = async (/** @type {number} */ seconds) => {
    const args = [...base, '-d', `${seconds}s`, url];
    const run = await runPinned('wrk', ctx.cpus.load, ctx.tools.wrk ?? 'wrk', args, seconds + 30);
    const line = run.stdout.split('\n').find((l) => l.startsWith('{"requests"'));
    if (run.code !== 0 || line === undefined) throw new Error(`wrk ${args.join(' ')} failed (${describeExit(run)}): ${(run.stdout + run.stderr).trim().slice(-1500)}`);
    /** @type {{ requests: number, duration_us: number, errors: Record<string, number>, latency_p50_us: number, latency_p99_us: number }} */
    const summary = JSON.parse(line);
    const { status, ...socket } = summary.errors;
    const socketErrors = Object.values(socket).reduce((a, b) => a + b, 0);
    if (status !== 0) throw new Error(`wrk ${args.join(' ')}: ${status} answers were not 2xx or 3xx`);
    if (summary.requests === 0) throw new Error(`wrk ${args.join(' ')}: no request completed (${JSON.stringify(summary.errors)})`);
    // a connection reset now and then on a loaded machine; more means a broken target
    if (socketErrors > summary.requests / 1000) throw new Error(`wrk ${args.join(' ')}: ${socketErrors} socket errors for ${summary.requests} requests (${JSON.stringify(socket)})`);
    return { ...summary, socket_errors: socketErrors };
  };
  const warmUp = o.warmUp ? await wrk(1) : undefined;
  const { result: summary, cpu_s } = await withCpu(target, o, () => wrk(o.duration));
  const runs = warmUp ? [warmUp, summary] : [summary];
  const errors = runs.reduce((sum, r) => sum + r.socket_errors, 0);
  const requestCount = runs.reduce((sum, r) => sum + r.requests, 0);
  return {
    req_s: summary.requests / (summary.duration_us / 1e6),
    requests: summary.requests,
    seconds: summary.duration_us / 1e6,
    latency_p50_us: summary.latency_p50_us,
    latency_p99_us: summary.latency_p99_us,
    socket_errors: summary.socket_errors,
    proxy_cpu_s: cpu_s,
    // Connection: close: one connection per request
    cpu_us_per_request: cpu_s === undefined ? undefined : (cpu_s * 1e6) / summary.requests,
    // Each wrk run first connects once to check the address, then keeps its connections
    // open for the whole run (keep-alive) or makes one per request (close), plus those
    // still waiting when it stopped; a connection that fails is replaced by a new one.
    connections: runs.length + (close ? requestCount : runs.length * WRK_CONNECTIONS - errors),
    connections_max: runs.length * (1 + WRK_CONNECTIONS) + errors + (close ? requestCount : 0),
  };
}

/**
 * Memory per idle connection: the proxy's RSS before and while holding `idleCount`
 * connections that each carried one request and its answer, divided by the count.
 * @param {import('./targets.js').Context} ctx
 * @param {import('./targets.js').Target} target
 * @param {Options} o
 */
async function idle(ctx, target, o) {
  const pid = target.child?.pid;
  if (pid === undefined) throw new Error('idle: needs a proxy process');
  const warm = Math.min(IDLE_WARM_UP, o.idleCount);
  await holdIdle(ctx, target, warm, async () => {});
  await sleep(o.settleMs);
  const before = await rssMedian(pid);
  /** @type {{ median: number, samples: number[] } | undefined} */
  let held;
  await holdIdle(ctx, target, o.idleCount, async () => {
    await sleep(o.settleMs);
    held = await rssMedian(pid);
  });
  if (!held) throw new Error('idle: no RSS sample');
  return {
    kib_per_connection: (held.median - before.median) / o.idleCount,
    rss_before_kib: before.median,
    rss_held_kib: held.median,
    rss_samples_kib: { before: before.samples, held: held.samples },
    idle_connections: o.idleCount,
    connections: warm + o.idleCount,
  };
}

/**
 * Opens `count` idle connections through the target, runs `during`, then closes them.
 * @param {import('./targets.js').Context} ctx
 * @param {import('./targets.js').Target} target
 * @param {number} count
 * @param {() => Promise<void>} during
 */
async function holdIdle(ctx, target, count, during) {
  const child = startPinned('idle clients', ctx.cpus.load, process.execPath, [path.join(ctx.root, 'bench', 'idle-clients.js'), target.address, String(count)]);
  try {
    const ready = await lineFrom(child, 'ready', 120);
    if (ready.ready !== count) throw new Error(`idle clients: ${ready.ready} of ${count} connections open`);
    await during();
    child.process.stdin?.write('close\n');
    const closed = await lineFrom(child, 'closed', 60);
    if (closed.dropped !== 0) throw new Error(`idle: ${closed.dropped} of ${count} idle connections were closed by ${target.name} while held`);
  } finally {
    await stop(child);
  }
}

/**
 * The JSON line with `key` the child prints; rejects when it exits first or after `timeoutS`.
 * @param {import('./processes.js').Child} child
 * @param {string} key
 * @param {number} timeoutS
 * @returns {Promise<Record<string, number>>}
 */
async function lineFrom(child, key, timeoutS) {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const line = child.stdout().split('\n').find((l) => l.startsWith(`{"${key}"`));
    if (line) return JSON.parse(line);
    const exit = child.exitInfo();
    if (exit) throw new Error(`${child.name} exited (${describeExit(exit)}) before "${key}"${stderrTail(child)}`);
    if (Date.now() > deadline) throw new Error(`${child.name}: no "${key}" within ${timeoutS} s${stderrTail(child)}`);
    await sleep(20);
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
