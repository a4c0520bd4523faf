// rxlb benchmark harness: compares rxlb with a direct connection, a raw Node proxy and,
// where installed, HAProxy and nginx (stream), against the same backends, in one run.
//
//   node bench/run.js [--quick] [--only direct,raw,rxlb,haproxy,nginx]
//                     [--scenarios idle,bulk-up-1,...] [--repeat N] [--idle-count N]
//
// Processes: the backends (bench/backends.js), each proxy under test, and one load
// generator per measurement (bench/load.js) each run in a process of their own. Every
// child is killed at the end, on failure and on SIGINT/SIGTERM.
// Results: a table on stdout, and JSON in bench/results/<timestamp>.json and latest.json.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const NODE = process.execPath;
const ALL_TARGETS = ['direct', 'raw', 'rxlb', 'haproxy', 'nginx'];
const PROXY_START_TIMEOUT_S = 15;
const STOP_GRACE_MS = 5000;

// ---------------------------------------------------------------- options

const USAGE = `usage: node bench/run.js [options]
  --quick                 short durations and 1,000 idle connections (a smoke test)
  --only <list>           targets, comma separated: ${ALL_TARGETS.join(',')} (default: all)
  --scenarios <list>      scenarios, comma separated (default: all): SCENARIOS
  --repeat <n>            run every measurement n times, interleaved; report medians (default 1)
  --idle-count <n>        idle connections for the memory scenario (default 5000; quick 1000)
  --duration <s>          measured seconds per scenario and target (default 3; quick 1)
  -h, --help              this text
environment: RXLB_BENCH_HAPROXY, RXLB_BENCH_NGINX: binaries to use instead of PATH lookup`;

function parseArgs(argv) {
  const o = { quick: false, only: ALL_TARGETS, scenarios: null, repeat: 1, idleCount: null, duration: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const [flag, inline] = a.split('=', 2);
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) die(`${flag} needs a value`);
      return argv[++i];
    };
    const flag = a.split('=')[0];
    if (flag === '--quick') o.quick = true;
    else if (flag === '--only') o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '--scenarios') o.scenarios = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '--repeat') o.repeat = positiveInt(value(), '--repeat');
    else if (flag === '--idle-count') o.idleCount = positiveInt(value(), '--idle-count');
    else if (flag === '--duration') {
      o.duration = Number(value());
      if (!(o.duration > 0)) die('--duration must be a positive number of seconds');
    } else if (flag === '-h' || flag === '--help') {
      process.stdout.write(`${USAGE.replace('SCENARIOS', SCENARIOS.map((s) => s.key).join(','))}\n`);
      process.exit(0);
    } else die(`unknown argument ${a}\n${USAGE.replace('SCENARIOS', SCENARIOS.map((s) => s.key).join(','))}`);
  }
  for (const t of o.only) if (!ALL_TARGETS.includes(t)) die(`--only: unknown target ${t} (known: ${ALL_TARGETS.join(', ')})`);
  if (o.scenarios) {
    for (const s of o.scenarios) if (!SCENARIOS.some((x) => x.key === s)) die(`--scenarios: unknown scenario ${s}`);
  }
  return o;
}

function positiveInt(v, flag) {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) die(`${flag} must be a positive integer`);
  return n;
}

function die(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  cleanup();
  process.exit(2);
}

// ---------------------------------------------------------------- scenarios and rows

/** Each scenario is one load.js run per target. */
const SCENARIOS = [
  { key: 'idle', title: 'memory per idle connection', proxyOnly: true },
  { key: 'bulk-up-1', title: 'bulk upload, 1 stream', spec: { scenario: 'bulk-up', streams: 1 } },
  { key: 'bulk-up-8', title: 'bulk upload, 8 streams', spec: { scenario: 'bulk-up', streams: 8 } },
  { key: 'bulk-down-1', title: 'bulk download, 1 stream', spec: { scenario: 'bulk-down', streams: 1 } },
  { key: 'bulk-down-8', title: 'bulk download, 8 streams', spec: { scenario: 'bulk-down', streams: 8 } },
  { key: 'rr', title: 'keep-alive request/response, 32 connections', spec: { scenario: 'rr', conns: 32 } },
  { key: 'connrate', title: 'new connections, 32 in flight', spec: { scenario: 'connrate', concurrency: 32 } },
];

/**
 * Table rows. `value` takes one successful result of `scenario` for one target.
 * better: 'higher' or 'lower'; proxyOnly: no value for `direct`.
 */
const ROWS = [
  { scenario: 'bulk-up-1', label: 'bulk upload 1 stream', unit: 'MiB/s', better: 'higher', value: (r) => r.mib_per_s },
  { scenario: 'bulk-up-8', label: 'bulk upload 8 streams', unit: 'MiB/s', better: 'higher', value: (r) => r.mib_per_s },
  { scenario: 'bulk-down-1', label: 'bulk download 1 stream', unit: 'MiB/s', better: 'higher', value: (r) => r.mib_per_s },
  { scenario: 'bulk-down-8', label: 'bulk download 8 streams', unit: 'MiB/s', better: 'higher', value: (r) => r.mib_per_s },
  { scenario: 'rr', label: 'keep-alive 32 conns', unit: 'req/s', better: 'higher', value: (r) => r.req_per_s },
  { scenario: 'rr', label: 'keep-alive p50 latency', unit: 'µs', better: 'lower', value: (r) => r.p50_us },
  { scenario: 'rr', label: 'keep-alive p99 latency', unit: 'µs', better: 'lower', value: (r) => r.p99_us },
  { scenario: 'connrate', label: 'new connections', unit: 'conn/s', better: 'higher', value: (r) => r.conn_per_s },
  { scenario: 'connrate', label: 'new connection p99', unit: 'µs', better: 'lower', value: (r) => r.p99_us },
  { scenario: 'idle', label: 'memory per idle conn', unit: 'KiB', better: 'lower', proxyOnly: true, value: (r) => r.per_conn_kib },
  { scenario: 'idle', label: 'proxy RSS, no conns', unit: 'MiB', better: 'lower', proxyOnly: true, value: (r) => r.rss_before_kib / 1024 },
  { scenario: 'rr', label: 'proxy CPU per request', unit: 'µs', better: 'lower', proxyOnly: true, value: (r) => (r.proxy_cpu_s === undefined ? undefined : (r.proxy_cpu_s * 1e6) / r.requests) },
  { scenario: 'connrate', label: 'proxy CPU per new conn', unit: 'µs', better: 'lower', proxyOnly: true, value: (r) => (r.proxy_cpu_s === undefined ? undefined : (r.proxy_cpu_s * 1e6) / r.connections) },
  { scenario: 'bulk-down-8', label: 'proxy CPU per GiB down', unit: 'ms', better: 'lower', proxyOnly: true, value: (r) => (r.proxy_cpu_s === undefined ? undefined : (r.proxy_cpu_s * 1e3) / (r.bytes / 2 ** 30)) },
];

// ---------------------------------------------------------------- child processes

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
/** @type {string[]} */
const tempDirs = [];

/**
 * @param {string} name
 * @param {string} cmd
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} options
 */
function start(name, cmd, args, options = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], ...options });
  child.benchName = name;
  child.stderrTail = '';
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      child.exitInfo = { code, signal };
      resolve(child.exitInfo);
    });
  });
  child.on('error', (err) => {
    child.spawnError = err;
    children.delete(child);
  });
  children.add(child);
  child.stderr?.on('data', (d) => {
    child.stderrTail = (child.stderrTail + d).slice(-4000);
  });
  child.stdin?.on('error', () => {});
  return child;
}

/** Stops a child: SIGTERM, then SIGKILL after a grace period. */
async function stop(child, graceMs = STOP_GRACE_MS) {
  if (!child || child.spawnError) return undefined;
  if (child.exitInfo) return { ...child.exitInfo, already_exited: true };
  const t0 = Date.now();
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    child.killedHard = true;
    child.kill('SIGKILL');
  }, graceMs);
  const info = await child.exited;
  clearTimeout(timer);
  return { ...info, ms: Date.now() - t0, killed: Boolean(child.killedHard) };
}

function cleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}, stopping every child process\n`);
    cleanup();
    process.exit(130);
  });
}
process.on('exit', cleanup);
process.on('uncaughtException', (err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  cleanup();
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`bench: unhandled ${err?.stack ?? err}\n`);
  cleanup();
  process.exit(1);
});

/**
 * Resolves with the first stdout line of `child` that `match` accepts (returning a value).
 * @template T
 * @param {import('node:child_process').ChildProcess} child
 * @param {(line: string) => T | undefined} match
 * @param {number} timeoutS
 * @returns {Promise<T>}
 */
function waitForLine(child, match, timeoutS) {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    const done = (fn, v) => {
      clearTimeout(timer);
      rl.removeAllListeners('line');
      child.stdout.resume(); // keep draining: a full pipe must never block the child
      fn(v);
    };
    const timer = setTimeout(() => done(reject, new Error(`${child.benchName}: nothing usable on stdout within ${timeoutS} s${tail(child)}`)), timeoutS * 1000);
    rl.on('line', (line) => {
      const v = match(line);
      if (v !== undefined) done(resolve, v);
    });
    child.exited.then((info) => done(reject, new Error(`${child.benchName}: exited (${fmtExit(info)}) before it was ready${tail(child)}`)));
    child.on('error', (err) => done(reject, new Error(`${child.benchName}: ${err.message}`)));
  });
}

const tail = (child) => (child.stderrTail ? `; stderr:\n${child.stderrTail.trim()}` : '');
const fmtExit = (info) => (info.signal ? `signal ${info.signal}` : `code ${info.code}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- /proc sampling

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100
}

/** The pid and all its descendants. */
function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of fs.readdirSync(`/proc/${out[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU seconds (user + system) used so far by pid and its descendants. */
function cpuSeconds(pid) {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone
    }
  }
  return ticks / CLK_TCK;
}

/** Resident set size in KiB of pid and its descendants. */
function rssKiB(pid) {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kib;
}

async function rssMedian(pid, samples = 5, gapMs = 200) {
  const v = [];
  for (let i = 0; i < samples; i++) {
    if (i) await sleep(gapMs);
    v.push(rssKiB(pid));
  }
  return { median: median(v), min: Math.min(...v), samples: v };
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ---------------------------------------------------------------- targets

function findBinary(name, envVar) {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port, child, timeoutS) {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    if (child.exitInfo) throw new Error(`${child.benchName}: exited (${fmtExit(child.exitInfo)}) before it listened${tail(child)}`);
    if (child.spawnError) throw new Error(`${child.benchName}: ${child.spawnError.message}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${child.benchName}: not listening on 127.0.0.1:${port} within ${timeoutS} s${tail(child)}`);
    await sleep(100);
  }
}

function tempDir(name) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `rxlb-bench-${name}-`));
  tempDirs.push(d);
  return d;
}

/** @typedef {{ name: string, addrs: string[], pid?: number, child?: any, info?: object }} Target */

async function startRaw(backends) {
  const child = start('raw', NODE, [path.join(BENCH_DIR, 'raw-proxy.js'), ...backends]);
  const port = await waitForLine(child, (l) => (/^\d+$/.test(l.trim()) ? Number(l) : undefined), PROXY_START_TIMEOUT_S);
  return { name: 'raw', addrs: [`127.0.0.1:${port}`], pid: child.pid, child };
}

async function startRxlb(backends, logFile) {
  const cli = path.join(ROOT, 'dist', 'cli.js');
  if (!fs.existsSync(cli)) throw new Error(`${path.relative(ROOT, cli)} not found (did \`npm run build\` succeed?)`);
  const fd = fs.openSync(logFile, 'w');
  const args = [cli, '--log-format', 'json', '--listen', '127.0.0.1:0', ...backends];
  // stdout goes straight to a file: access logging is on and really written, and no pipe can fill up
  const child = start('rxlb', NODE, args, { stdio: ['ignore', fd, 'pipe'] });
  fs.closeSync(fd);
  const deadline = Date.now() + PROXY_START_TIMEOUT_S * 1000;
  let offset = 0;
  let partial = '';
  for (;;) {
    if (child.spawnError) throw new Error(`rxlb: ${child.spawnError.message}`);
    if (child.exitInfo) throw new Error(`rxlb: exited (${fmtExit(child.exitInfo)}) before its "listening" record${tail(child)}${logTail(logFile)}`);
    const buf = readFrom(logFile, offset);
    offset += buf.length;
    partial += buf.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      if ((rec.msg ?? rec.message) === 'listening' && typeof rec.address === 'string') {
        const port = Number(rec.address.slice(rec.address.lastIndexOf(':') + 1));
        const host = rec.address.slice(0, rec.address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
        return { name: 'rxlb', addrs: [`${host}:${port}`], pid: child.pid, child, info: { log_file: path.relative(ROOT, logFile), listening: rec } };
      }
    }
    if (Date.now() > deadline) throw new Error(`rxlb: no JSON record with "msg":"listening" in ${path.relative(ROOT, logFile)} within ${PROXY_START_TIMEOUT_S} s${tail(child)}${logTail(logFile)}`);
    await sleep(50);
  }
}

function readFrom(file, offset) {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

function logTail(file) {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text ? `; its stdout (${path.relative(ROOT, file)}) ends:\n${text.slice(-1500)}` : `; its stdout (${path.relative(ROOT, file)}) is empty`;
  } catch {
    return '';
  }
}

async function startHaproxy(bin, backends) {
  const dir = tempDir('haproxy');
  const port = await freePort();
  const cfg = [
    'global',
    '  nbthread 1',
    '  maxconn 9000', // each proxied connection takes 2 fds: stays under ulimit -n 20000
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 10m',
    '  timeout server 10m',
    'listen bench',
    `  bind 127.0.0.1:${port}`,
    '  balance roundrobin',
    ...backends.map((b, i) => `  server b${i + 1} ${b}`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
  const child = start('haproxy', bin, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  await waitForPort(port, child, PROXY_START_TIMEOUT_S);
  return { name: 'haproxy', addrs: [`127.0.0.1:${port}`], pid: child.pid, child, info: { version: versionOf(bin, ['-v']), config: cfg } };
}

async function startNginx(bin, backends) {
  const dir = tempDir('nginx');
  const port = await freePort();
  const v = versionOf(bin, ['-V']) ?? '';
  // Debian and others build the stream module as a dynamic module
  let loadModule = '';
  if (/--with-stream=dynamic/.test(v) || !/--with-stream\b/.test(v)) {
    const candidates = [path.resolve(path.dirname(bin), '../lib/nginx/modules/ngx_stream_module.so'), '/usr/lib/nginx/modules/ngx_stream_module.so', '/usr/lib64/nginx/modules/ngx_stream_module.so', '/usr/share/nginx/modules/ngx_stream_module.so', '/etc/nginx/modules/ngx_stream_module.so'];
    const mod = candidates.find((c) => fs.existsSync(c));
    if (mod) loadModule = `load_module ${mod};`;
  }
  const cfg = [
    loadModule,
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    'worker_rlimit_nofile 20000;',
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${path.join(dir, 'error.log')} warn;`,
    'events { worker_connections 16384; }',
    'stream {',
    `  upstream backends { ${backends.map((b) => `server ${b};`).join(' ')} }`,
    `  server { listen 127.0.0.1:${port}; proxy_pass backends; proxy_timeout 10m; }`,
    '}',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), cfg);
  const child = start('nginx', bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  try {
    await waitForPort(port, child, PROXY_START_TIMEOUT_S);
  } catch (err) {
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'error.log'), 'utf8').trim().slice(-1500);
    } catch {
      // none
    }
    throw new Error(`${err.message}${log ? `; error.log:\n${log}` : ''}`);
  }
  return { name: 'nginx', addrs: [`127.0.0.1:${port}`], pid: child.pid, child, info: { version: v.split('\n')[0], config: cfg } };
}

function versionOf(bin, args) {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }).trim() || null;
  } catch (err) {
    // nginx -V prints on stderr
    return (err.stderr ?? '').toString().trim() || null;
  }
}

// ---------------------------------------------------------------- load runs

/**
 * Runs bench/load.js once. `onEvent(evt, child)` sees every JSON line before the result.
 * @returns {Promise<object>} the result record
 */
function runLoad(spec, timeoutS, onEvent = async () => {}) {
  return new Promise((resolve, reject) => {
    const child = start(`load ${spec.scenario}`, NODE, [path.join(BENCH_DIR, 'load.js'), JSON.stringify({ ...spec, timeout: timeoutS })]);
    let result;
    let failed;
    const fail = (err) => {
      if (failed || result) return;
      failed = err;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`load generator (${spec.scenario}) still running after ${timeoutS + 5} s, killed${tail(child)}`)), (timeoutS + 5) * 1000);
    const rl = readline.createInterface({ input: child.stdout });
    let chain = Promise.resolve();
    rl.on('line', (line) => {
      let evt;
      try {
        evt = JSON.parse(line);
      } catch {
        return;
      }
      if (evt.event === 'result') result = evt;
      else chain = chain.then(() => onEvent(evt, child)).catch(fail);
    });
    child.exited.then(async (info) => {
      clearTimeout(timer);
      await chain;
      if (failed) return;
      if (result && info.code === 0) {
        const { event: _e, ...rest } = result;
        resolve(rest);
      } else fail(new Error(`load generator (${spec.scenario}) exited (${fmtExit(info)}) without a result${tail(child)}`));
    });
    child.on('error', (err) => fail(err));
  });
}

/** A measurement with proxy CPU sampled over the measured window. */
async function measure(target, spec, timeoutS) {
  let cpu0;
  let cpu1;
  const r = await runLoad(spec, timeoutS, async (evt) => {
    if (!target.pid) return;
    if (evt.event === 'measure') cpu0 = cpuSeconds(target.pid);
    else if (evt.event === 'measured') cpu1 = cpuSeconds(target.pid);
  });
  if (target.child?.exitInfo) throw new Error(`${target.name} exited during the measurement (${fmtExit(target.child.exitInfo)})${tail(target.child)}`);
  if (cpu0 !== undefined && cpu1 !== undefined && cpu1 >= cpu0) {
    r.proxy_cpu_s = cpu1 - cpu0;
    r.proxy_cpu_pct = (100 * r.proxy_cpu_s) / r.seconds;
  }
  return r;
}

/** Memory per idle connection: RSS of the proxy before and with `count` idle connections. */
async function measureIdle(target, count, settleMs) {
  const pid = target.pid;
  const addrs = target.addrs;
  const openAndClose = (n, onReady) =>
    runLoad({ scenario: 'idle', addrs, count: n, concurrency: 200 }, 120, async (evt, child) => {
      if (evt.event !== 'ready') return;
      if (evt.established === 0) throw new Error(`idle: no connection established (${evt.first_error ?? 'no error'})`);
      if (onReady) await onReady(evt);
      child.stdin.write('close\n');
    });
  // warm-up: lazy initialisation in the proxy is not per-connection memory
  await openAndClose(Math.min(200, count));
  await sleep(settleMs);
  const before = await rssMedian(pid);
  let after;
  let ready;
  const r = await openAndClose(count, async (evt) => {
    ready = evt;
    await sleep(settleMs);
    after = await rssMedian(pid);
  });
  await sleep(settleMs);
  const afterClose = await rssMedian(pid);
  if (target.child?.exitInfo) throw new Error(`${target.name} exited during the measurement (${fmtExit(target.child.exitInfo)})${tail(target.child)}`);
  const established = ready.established;
  return {
    ...r,
    seconds: r.open_seconds,
    rss_before_kib: before.median,
    rss_with_conns_kib: after.median,
    rss_after_close_kib: afterClose.median,
    rss_samples_kib: { before: before.samples, with_conns: after.samples, after_close: afterClose.samples },
    per_conn_kib: (after.median - before.median) / established,
    per_conn_bytes: Math.round(((after.median - before.median) * 1024) / established),
  };
}

// ---------------------------------------------------------------- table

function fmt(v, unit) {
  if (v === undefined || v === null || Number.isNaN(v)) return '-';
  if (typeof v === 'string') return v;
  if (unit === 'KiB') return v.toFixed(2);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function ratio(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(2)}`;
}

function renderTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const warmup = opts.quick ? 0.3 : 1;
  const duration = opts.duration ?? (opts.quick ? 1 : 3);
  const idleCount = opts.idleCount ?? (opts.quick ? 1000 : 5000);
  const settleMs = opts.quick ? 700 : 1500;
  const scenarios = SCENARIOS.filter((s) => !opts.scenarios || opts.scenarios.includes(s.key));
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const notes = [];
  const note = (msg) => {
    notes.push(msg);
    process.stdout.write(`${msg}\n`);
  };

  process.stdout.write(`rxlb bench: node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`${opts.quick ? 'quick mode: ' : ''}warm-up ${warmup} s, measured ${duration} s per scenario and target, ${idleCount} idle connections, repeat ${opts.repeat}\n`);

  // backends
  const backendsChild = start('backends', NODE, [path.join(BENCH_DIR, 'backends.js')]);
  const backends = await waitForLine(backendsChild, (l) => {
    try {
      return JSON.parse(l).backends;
    } catch {
      return undefined;
    }
  }, 10);
  process.stdout.write(`backends: ${backends.join(' ')} (pid ${backendsChild.pid})\n`);

  // targets
  /** @type {Target[]} */
  const targets = [];
  /** @type {Record<string, object>} */
  const targetInfo = {};
  const rxlbLog = path.join(RESULTS_DIR, `rxlb-${stamp}.jsonl`);
  for (const name of opts.only) {
    try {
      let t;
      if (name === 'direct') t = { name, addrs: backends };
      else if (name === 'raw') t = await startRaw(backends);
      else if (name === 'rxlb') t = await startRxlb(backends, rxlbLog);
      else {
        const bin = findBinary(name, name === 'haproxy' ? 'RXLB_BENCH_HAPROXY' : 'RXLB_BENCH_NGINX');
        if (!bin) {
          note(`${name}: not installed, skipped`);
          targetInfo[name] = { status: 'not installed' };
          continue;
        }
        t = name === 'haproxy' ? await startHaproxy(bin, backends) : await startNginx(bin, backends);
      }
      targets.push(t);
      targetInfo[name] = { status: 'ok', address: t.addrs.join(' '), pid: t.pid, ...t.info };
      process.stdout.write(`${name}: ${t.addrs.join(' ')}${t.pid ? ` (pid ${t.pid})` : ''}\n`);
    } catch (err) {
      note(`${name}: failed to start: ${err.message}`);
      targetInfo[name] = { status: 'failed to start', error: err.message };
    }
  }
  if (targets.length === 0) throw new Error('no target started');

  // measurements, interleaved: each scenario runs against every target in turn
  /** @type {Record<string, Record<string, object[]>>} */
  const results = {};
  for (let round = 1; round <= opts.repeat; round++) {
    for (const sc of scenarios) {
      results[sc.key] ??= {};
      for (const t of targets) {
        if (sc.proxyOnly && !t.pid) continue;
        const cell = (results[sc.key][t.name] ??= []);
        const label = `[${round}/${opts.repeat}] ${sc.key.padEnd(11)} ${t.name.padEnd(7)}`;
        const t0 = Date.now();
        if (t.child?.exitInfo) {
          cell.push({ ok: false, error: `${t.name} is no longer running (${fmtExit(t.child.exitInfo)})${tail(t.child)}` });
          process.stdout.write(`${label} skipped: ${t.name} is no longer running\n`);
          continue;
        }
        try {
          const r = sc.key === 'idle'
            ? await measureIdle(t, idleCount, settleMs)
            : await measure(t, { ...sc.spec, addrs: t.addrs, warmup, duration }, warmup + duration + 30);
          cell.push({ ok: true, ...r });
          process.stdout.write(`${label} ${summary(sc.key, r)} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
          if (r.errors) note(`${sc.key} via ${t.name}: ${r.errors} error(s), first: ${r.first_error}`);
        } catch (err) {
          if (t.child?.exitInfo && !err.message.includes('exited during')) err.message += `; ${t.name} itself exited (${fmtExit(t.child.exitInfo)})${tail(t.child)}`;
          cell.push({ ok: false, error: err.message });
          process.stdout.write(`${label} FAILED: ${err.message}\n`);
          notes.push(`${sc.key} via ${t.name} failed: ${err.message}`);
        }
      }
    }
  }

  // stop the proxies; rxlb should drain and exit 0 quickly with no connection open
  for (const t of targets) {
    if (!t.child) continue;
    const info = await stop(t.child);
    if (info) targetInfo[t.name].exit = info;
    if (t.name === 'rxlb' && info?.already_exited) note(`rxlb: had exited by itself before the end (${fmtExit(info)})`);
    else if (t.name === 'rxlb' && info && (info.code !== 0 || info.killed)) {
      note(`rxlb: on SIGTERM with no open connection it ${info.killed ? `did not exit within ${STOP_GRACE_MS} ms and was killed` : `exited with ${fmtExit(info)} after ${info.ms} ms`}`);
    }
  }
  await stop(backendsChild);
  if (targetInfo.rxlb?.status === 'ok') targetInfo.rxlb.log = summariseRxlbLog(rxlbLog, note);

  // table
  const shown = targets.map((t) => t.name);
  const header = ['metric', 'unit', ...shown, 'rxlb/raw', 'rxlb/direct'];
  const rows = [];
  const jsonRows = [];
  for (const row of ROWS) {
    if (!results[row.scenario]) continue;
    const values = {};
    for (const name of shown) {
      if (row.proxyOnly && name === 'direct') {
        values[name] = null;
        continue;
      }
      const cells = results[row.scenario][name] ?? [];
      const ok = cells.filter((c) => c.ok);
      values[name] = ok.length ? median(ok.map(row.value)) ?? null : cells.length ? 'ERR' : null;
    }
    const arrow = row.better === 'higher' ? '↑' : '↓';
    const r1 = ratio(values.rxlb, values.raw);
    const r2 = row.proxyOnly ? '-' : ratio(values.rxlb, values.direct);
    rows.push([`${row.label} ${arrow}`, row.unit, ...shown.map((n) => fmt(values[n], row.unit)), r1, r2]);
    jsonRows.push({ metric: row.label, scenario: row.scenario, unit: row.unit, better: row.better, values, rxlb_over_raw: r1 === '-' ? null : Number(r1), rxlb_over_direct: r2 === '-' ? null : Number(r2) });
  }
  const table = renderTable(header, rows);
  process.stdout.write(`\n${table}\n`);
  process.stdout.write('↑ higher is better: a ratio below 1 means rxlb is slower.  ↓ lower is better: a ratio above 1 means rxlb costs more.\n');
  process.stdout.write(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

  const report = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg_start: null,
    loadavg_end: os.loadavg(),
    options: { quick: opts.quick, only: opts.only, scenarios: scenarios.map((s) => s.key), repeat: opts.repeat, warmup_s: warmup, duration_s: duration, idle_count: idleCount },
    backends,
    targets: targetInfo,
    table: jsonRows,
    results,
    notes,
  };
  report.loadavg_start = loadStart;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const file = path.join(RESULTS_DIR, `${stamp}.json`);
  fs.writeFileSync(file, json);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), json);
  process.stdout.write(`results: ${path.relative(ROOT, file)} and bench/results/latest.json\n`);
  const failures = Object.values(results).flatMap((byTarget) => Object.values(byTarget).flat()).filter((c) => !c.ok).length;
  const startFailures = Object.values(targetInfo).filter((t) => t.status === 'failed to start').length;
  return failures || startFailures ? 1 : 0;
}

const loadStart = os.loadavg();

function summary(key, r) {
  if (key === 'idle') return `${r.established}/${r.count} idle conns, RSS ${(r.rss_before_kib / 1024).toFixed(1)} -> ${(r.rss_with_conns_kib / 1024).toFixed(1)} -> ${(r.rss_after_close_kib / 1024).toFixed(1)} MiB, ${r.per_conn_kib.toFixed(2)} KiB/conn`;
  const cpu = r.proxy_cpu_pct === undefined ? '' : `, proxy CPU ${r.proxy_cpu_pct.toFixed(0)}%`;
  if (key.startsWith('bulk')) return `${r.mib_per_s.toFixed(1)} MiB/s${cpu}`;
  if (key === 'rr') return `${Math.round(r.req_per_s)} req/s, p50 ${r.p50_us} µs, p99 ${r.p99_us} µs${cpu}`;
  if (key === 'connrate') return `${Math.round(r.conn_per_s)} conn/s, p50 ${r.p50_us} µs, p99 ${r.p99_us} µs${cpu}`;
  return '';
}

/** Counts rxlb's log records, to show that access logging was on and what it said. */
function summariseRxlbLog(file, note) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const byMsg = {};
  const reasons = {};
  let unparsable = 0;
  let lines = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    lines++;
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      unparsable++;
      continue;
    }
    const msg = rec.msg ?? rec.message ?? '?';
    byMsg[msg] = (byMsg[msg] ?? 0) + 1;
    if (msg === 'connection closed') reasons[rec.reason] = (reasons[rec.reason] ?? 0) + 1;
  }
  const s = { file: path.relative(ROOT, file), bytes: Buffer.byteLength(text), records: lines, unparsable, by_msg: byMsg, closed_reasons: reasons };
  note(`rxlb log: ${lines} records (${(s.bytes / 1048576).toFixed(1)} MiB) in ${s.file}; connection closed: ${byMsg['connection closed'] ?? 0} ${JSON.stringify(reasons)}${unparsable ? `; ${unparsable} lines not JSON` : ''}`);
  return s;
}

const watchdog = setTimeout(() => {
  process.stderr.write('bench: still running after 20 minutes, giving up\n');
  cleanup();
  process.exit(1);
}, 20 * 60 * 1000);
watchdog.unref();

try {
  const code = await main();
  cleanup();
  process.exit(code);
} catch (err) {
  process.stderr.write(`bench: ${err.message}\n`);
  cleanup();
  process.exitCode = 1;
}
