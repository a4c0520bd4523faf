// The targets: the proxies under test, each started afresh in front of one backend for
// one measurement and pinned to the proxy CPU, and `direct` (the backend itself).
// rxlb runs as a new user would run it: quick mode, access log on, JSON to a file.
import fs from 'node:fs';
import path from 'node:path';
import { errorLog } from './backends.js';
import { freePort, waitForListen } from './ports.js';
import { describeExit, recordAffinity, startPinned, stderrTail } from './processes.js';

export const ALL_TARGETS = ['direct', 'raw', 'rxlb', 'haproxy', 'nginx'];
const START_TIMEOUT_S = 15;

/**
 * @typedef {object} Context
 * @property {string} root the repository
 * @property {Record<string, string>} tools full paths of the programs
 * @property {string} streamModule nginx's `load_module` line for `stream {}` ('' when built in)
 * @property {{ proxy: number, load: number }} cpus
 * @property {number} descriptors the descriptor limit children run with
 * @property {string} logDir where rxlb's, HAProxy's and nginx's logs go
 * @property {(name: string) => string} tempDir a fresh folder, removed at the end
 */
/**
 * @typedef {object} Target
 * @property {string} name
 * @property {string} address where clients connect
 * @property {import('./processes.js').Child} [child] the proxy process (none for direct)
 * @property {string} [log] rxlb's log file
 */

/**
 * Starts `name` in front of `backend`; `label` names its log file.
 * @param {string} name
 * @param {string} backend host:port
 * @param {Context} ctx
 * @param {string} label
 * @returns {Promise<Target>}
 */
export async function startTarget(name, backend, ctx, label) {
  let target;
  if (name === 'direct') return { name, address: backend };
  if (name === 'raw') target = await startRaw(backend, ctx);
  else if (name === 'rxlb') target = await startRxlb(backend, ctx, path.join(ctx.logDir, `rxlb-${label}.jsonl`));
  else if (name === 'haproxy') target = await startHaproxy(backend, ctx, path.join(ctx.logDir, `haproxy-${label}.log`));
  else if (name === 'nginx') target = await startNginxStream(backend, ctx, path.join(ctx.logDir, `nginx-${label}.log`));
  else throw new Error(`unknown target ${name}`);
  const cpus = target.child && recordAffinity(target.child);
  if (target.child && cpus !== String(ctx.cpus.proxy)) throw new Error(`${name} runs on CPUs ${cpus}, not ${ctx.cpus.proxy} alone`);
  return target;
}

/**
 * @param {string} backend
 * @param {Context} ctx
 */
async function startRaw(backend, ctx) {
  const child = startPinned('raw', ctx.cpus.proxy, process.execPath, [path.join(ctx.root, 'bench', 'raw-proxy.js'), backend]);
  const deadline = Date.now() + START_TIMEOUT_S * 1000;
  for (;;) {
    const port = /^(\d+)\n/.exec(child.stdout())?.[1];
    if (port) return { name: 'raw', address: `127.0.0.1:${port}`, child };
    const exit = child.exitInfo();
    if (exit) throw new Error(`raw proxy exited (${describeExit(exit)}) before printing its port${stderrTail(child)}`);
    if (Date.now() > deadline) throw new Error(`raw proxy printed no port within ${START_TIMEOUT_S} s${stderrTail(child)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `node dist/cli.js --log-format json <backend>`, stdout to `log`; the address is the one
 * its `listening` record gives.
 * @param {string} backend
 * @param {Context} ctx
 * @param {string} log
 */
async function startRxlb(backend, ctx, log) {
  const fd = fs.openSync(log, 'w');
  const child = startPinned('rxlb', ctx.cpus.proxy, process.execPath, [path.join(ctx.root, 'dist', 'cli.js'), '--log-format', 'json', backend], { stdout: fd });
  fs.closeSync(fd);
  const deadline = Date.now() + START_TIMEOUT_S * 1000;
  for (;;) {
    const listening = logRecords(log).find((r) => r.msg === 'listening');
    if (typeof listening?.address === 'string') return { name: 'rxlb', address: listening.address, child, log };
    const exit = child.exitInfo();
    if (exit) throw new Error(`rxlb exited (${describeExit(exit)}) before its "listening" record${stderrTail(child)}${fileTail(log)}`);
    if (Date.now() > deadline) throw new Error(`rxlb wrote no "listening" record to ${path.relative(ctx.root, log)} within ${START_TIMEOUT_S} s${stderrTail(child)}${fileTail(log)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The JSON records of an rxlb log file (lines that are not JSON are left out).
 * @param {string} file
 * @returns {Record<string, unknown>[]}
 */
export function logRecords(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

/** @param {string} file */
function fileTail(file) {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text ? `; ${path.basename(file)} ends:\n${text.slice(-1500)}` : '';
  } catch {
    return '';
  }
}

/**
 * HAProxy in `mode tcp`, one thread, a `tcplog` line per connection to `log`.
 * @param {string} backend
 * @param {Context} ctx
 * @param {string} log
 */
async function startHaproxy(backend, ctx, log) {
  const dir = ctx.tempDir('haproxy');
  const port = await freePort();
  const conf = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(
    conf,
    [
      'global',
      '  nbthread 1',
      `  maxconn ${Math.floor((ctx.descriptors - 100) / 2)}`,
      '  log stdout format raw local0',
      'defaults',
      '  mode tcp',
      '  log global',
      '  option tcplog',
      '  timeout connect 5s',
      '  timeout client 10m',
      '  timeout server 10m',
      'listen bench',
      `  bind 127.0.0.1:${port}`,
      `  server backend ${backend}`,
      '',
    ].join('\n'),
  );
  const fd = fs.openSync(log, 'w');
  const child = startPinned('haproxy', ctx.cpus.proxy, ctx.tools.haproxy ?? 'haproxy', ['-db', '-f', conf], { stdout: fd });
  fs.closeSync(fd);
  await waitForListen(port, child, START_TIMEOUT_S);
  return { name: 'haproxy', address: `127.0.0.1:${port}`, child };
}

/**
 * nginx `stream {}`, one process, an access-log line per connection to `log`.
 * @param {string} backend
 * @param {Context} ctx
 * @param {string} log
 */
async function startNginxStream(backend, ctx, log) {
  const dir = ctx.tempDir('nginx-stream');
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    [
      ctx.streamModule,
      'daemon off;',
      'master_process off;',
      `worker_rlimit_nofile ${ctx.descriptors};`,
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      `events { worker_connections ${ctx.descriptors - 32}; }`,
      'stream {',
      "  log_format basic '$remote_addr:$remote_port $upstream_addr $bytes_received $bytes_sent $session_time $status';",
      `  access_log ${log} basic;`,
      `  server { listen 127.0.0.1:${port} backlog=4096; proxy_pass ${backend}; proxy_timeout 10m; }`,
      '}',
      '',
    ].join('\n'),
  );
  const child = startPinned('nginx', ctx.cpus.proxy, ctx.tools.nginx ?? 'nginx', ['-p', dir, '-c', conf, '-e', `${dir}/error.log`]);
  await waitForListen(port, child, START_TIMEOUT_S, () => errorLog(dir));
  return { name: 'nginx', address: `127.0.0.1:${port}`, child };
}
