// rxlb's benchmark: rxlb against a raw Node proxy (and HAProxy, nginx `stream` and a
// direct connection where present) under the same load, in alternating rounds, with
// every proxy pinned to one CPU and the clients, backends and the bench to the other.
//
//   npm run bench -- [--quick] [--rounds N] [--duration S] [--only ...] [--scenarios ...]
//
// See bench/README.md. Prints a table of medians, spreads and ratios; writes JSON to
// <results>/<time>.json and <results>/latest.json. Exit 0 when every figure was measured,
// 1 when anything is missing or fails (naming it), 2 for a bad command line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BODY, startIperfServer, startNginxBackend } from './backends.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import { configure, describeExit, killAll, started, stop } from './processes.js';
import { FIGURES, formatNumber, renderTable, summarise } from './report.js';
import { SCENARIOS } from './scenarios.js';
import { ALL_TARGETS, logRecords, startTarget } from './targets.js';
import { allowedCpus, checkCpus, clockTicks, descriptorLimit, nginxStreamModule, requireTools, versionOf, which } from './tools.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);

/** @type {string[]} */
const tempDirs = [];
/** What is known so far, written as JSON even when the run fails. */
/** @type {Record<string, unknown>} */
const report = {};
/** @type {{ dir: string, stamp: string } | undefined} */
let output;

/**
 * @param {string} name
 * @returns {string}
 */
function tempDir(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rxlb-bench-${name}-`));
  tempDirs.push(dir);
  return dir;
}

/** @param {string} text */
const say = (text) => process.stdout.write(`${text}\n`);

/**
 * The targets to run and the programs they and the scenarios need; every problem found at once.
 * @param {import('./options.js').Options} options
 * @param {typeof SCENARIOS} scenarios
 */
function preflight(options, scenarios) {
  const problems = [];
  const needs = new Set(['taskset', 'getconf']);
  if (scenarios.some((s) => s.backend === 'iperf3')) needs.add('iperf3');
  if (scenarios.some((s) => s.backend === 'nginx')) needs.add('nginx');
  if (scenarios.some((s) => s.key === 'keep-alive' || s.key === 'close')) needs.add('wrk');
  for (const t of options.only ?? []) if (t === 'haproxy' || t === 'nginx') needs.add(t);
  /** @type {Record<string, string>} */
  let tools = {};
  try {
    tools = requireTools([...needs]);
  } catch (err) {
    problems.push(/** @type {Error} */ (err).message);
  }
  const haproxy = which('haproxy');
  if (haproxy) tools.haproxy = haproxy;
  const nginx = tools.nginx ?? which('nginx');
  const streamModule = nginx === undefined ? undefined : nginxStreamModule(nginx);
  /** @type {string[]} */
  const notes = [];
  let targets = options.only;
  if (targets === undefined) {
    targets = ['direct', 'raw', 'rxlb'];
    if (haproxy) targets.push('haproxy');
    else notes.push('haproxy: not installed, left out (apt-get install haproxy)');
    if (streamModule !== undefined) targets.push('nginx');
    else notes.push(`nginx stream: ${nginx ? "nginx's stream module is not installed" : 'nginx is not installed'}, left out (apt-get install ${nginx ? 'libnginx-mod-stream' : 'nginx libnginx-mod-stream'})`);
  } else if (targets.includes('nginx') && nginx && streamModule === undefined) {
    problems.push("nginx: its stream module is not installed (apt-get install libnginx-mod-stream), so it cannot be a target");
  }
  targets = ALL_TARGETS.filter((t) => targets?.includes(t));
  if (targets.includes('rxlb') && !fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) problems.push('dist/cli.js not found: build rxlb first (npm run build; npm run bench builds it)');
  if (tools.taskset) {
    try {
      checkCpus(tools.taskset, [options.proxyCpu, options.loadCpu]);
    } catch (err) {
      problems.push(/** @type {Error} */ (err).message);
    }
  }
  const hardLimit = descriptorLimit();
  // a proxy holds two descriptors per idle connection
  const needed = 2 * options.idleCount + 200;
  if (scenarios.some((s) => s.key === 'idle') && hardLimit < needed) {
    problems.push(`--idle-count ${options.idleCount} needs ${needed} descriptors per proxy, but the hard limit (ulimit -Hn) is ${hardLimit}: lower --idle-count or raise the limit`);
  }
  // no more than needed, where the hard limit is huge: nginx and HAProxy size their tables by it
  const descriptors = Math.min(hardLimit, Math.max(needed, 20_000));
  return { problems, notes, tools, targets, streamModule: streamModule ?? '', descriptors };
}

/**
 * One line on what a run measured.
 * @param {string} scenario
 * @param {Record<string, any>} r // any: a run's fields differ by scenario
 */
function summary(scenario, r) {
  const cpu = (/** @type {string} */ field, /** @type {string} */ unit) => (r[field] === undefined ? '' : `, proxy CPU ${formatNumber(r[field])} ${unit}`);
  if (scenario.startsWith('bulk')) return `${formatNumber(r.gbit_s)} Gbit/s${cpu('cpu_ms_per_gib', 'ms/GiB')}`;
  if (scenario === 'idle') return `${formatNumber(r.kib_per_connection)} KiB per idle connection (RSS ${formatNumber(r.rss_before_kib / 1024)} -> ${formatNumber(r.rss_held_kib / 1024)} MiB)`;
  return `${formatNumber(r.req_s)} req/s, p99 ${formatNumber(r.latency_p99_us)} µs${cpu('cpu_us_per_request', 'µs/request')}`;
}

/**
 * Checks that rxlb logged one `connection closed` record per connection the run made.
 * @param {string} file
 * @param {string} scenario
 * @param {Record<string, any>} result // any: a run's fields differ by scenario
 */
function checkRxlbLog(file, scenario, result) {
  const closed = logRecords(file).filter((r) => r.msg === 'connection closed').length;
  const min = result.connections;
  const max = result.connections_max ?? min;
  const expected = min === max ? `${min}` : `${min} to ${max}`;
  if (closed < min || closed > max) {
    throw new Error(`rxlb's log ${path.relative(ROOT, file)} has ${closed} "connection closed" records, but ${scenario} made ${expected} connections through it`);
  }
  return { scenario, file: path.relative(ROOT, file), connection_closed: closed, connections: min === max ? min : [min, max], exact: min === max };
}

/** @param {import('./options.js').Options} options */
async function bench(options) {
  const scenarios = SCENARIOS.filter((s) => options.scenarios.includes(s.key));
  const { problems, notes, tools, targets, streamModule, descriptors } = preflight(options, scenarios);
  if (problems.length > 0) throw new Error(`cannot run:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  const ticks = clockTicks(tools.getconf ?? 'getconf');
  // the bench itself samples /proc and waits: it belongs with the load, off the proxy CPU
  execFileSync(tools.taskset ?? 'taskset', ['-a', '-p', '-c', String(options.loadCpu), String(process.pid)], { stdio: 'ignore' });
  configure({ descriptors, taskset: tools.taskset ?? 'taskset' });

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  output = { dir: options.results, stamp };
  const logDir = path.join(options.results, stamp);
  fs.mkdirSync(logDir, { recursive: true });
  Object.assign(report, {
    date: startedAt.toISOString(),
    machine: { node: process.version, cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, kernel: `${os.type()} ${os.release()} ${os.arch()}`, loadavg_start: os.loadavg() },
    options: { quick: options.quick, rounds: options.rounds, duration_s: options.duration, scenarios: options.scenarios, idle_count: options.idleCount, warm_up: !options.quick },
    pinning: { proxy_cpu: options.proxyCpu, load_cpu: options.loadCpu, bench_cpus: allowedCpus(process.pid), descriptor_limit: descriptors },
    tools: Object.fromEntries(Object.entries(tools).map(([name, file]) => [name, { path: file, version: toolVersion(name, file) }])),
    targets,
    notes,
    logs: path.relative(ROOT, logDir),
  });

  say(`rxlb bench: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  say(`proxies pinned to CPU ${options.proxyCpu}; clients, backends and the bench to CPU ${options.loadCpu}; descriptor limit ${descriptors}`);
  say(`${options.rounds} round(s) of ${scenarios.map((s) => s.key).join(', ')} against ${targets.join(', ')}; ${options.duration} s runs${options.quick ? '' : ' after a 1 s wrk warm-up'}; ${options.idleCount} idle connections`);
  for (const note of notes) say(note);

  /** @type {Record<string, import('./targets.js').Target['address']>} */
  const backends = {};
  if (scenarios.some((s) => s.backend === 'iperf3')) backends.iperf3 = (await startIperfServer(tools.iperf3 ?? 'iperf3', options.loadCpu)).address;
  if (scenarios.some((s) => s.backend === 'nginx')) backends.nginx = (await startNginxBackend(tools.nginx ?? 'nginx', options.loadCpu, tempDir('backend'), descriptors)).address;
  say(`backends: ${Object.entries(backends).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  report.backends = { ...backends, nginx_body: BODY };

  /** @type {import('./targets.js').Context} */
  const ctx = { root: ROOT, tools, streamModule, cpus: { proxy: options.proxyCpu, load: options.loadCpu }, descriptors, logDir, tempDir };
  /** @type {import('./scenarios.js').Options} */
  const o = { duration: options.duration, warmUp: !options.quick, idleCount: options.idleCount, settleMs: options.quick ? 300 : 1000, clockTicks: ticks };
  /** @type {Record<string, Record<string, Record<string, any>[]>>} */ // any: a run's fields differ by scenario
  const runs = {};
  /** @type {ReturnType<typeof checkRxlbLog>[]} */
  const logChecks = [];
  report.runs = runs;
  report.rxlb_log_checks = logChecks;

  for (let round = 1; round <= options.rounds; round++) {
    // ABBA: every other round runs the targets in reverse, so drift hits them alike
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const scenario of scenarios) {
      for (const name of order) {
        if (scenario.proxyOnly && name === 'direct') continue;
        const backend = backends[scenario.backend];
        if (backend === undefined) throw new Error(`no ${scenario.backend} backend`);
        const target = await startTarget(name, backend, ctx, `${scenario.key}-r${round}`);
        const result = await scenario.run(ctx, target, o).catch((err) => {
          const exit = target.child?.exitInfo();
          throw new Error(`${scenario.key} through ${name}: ${err.message}${exit ? ` (${name} had exited: ${describeExit(exit)})` : ''}`);
        });
        if (target.child) {
          const exit = target.child.exitInfo();
          if (exit) throw new Error(`${name} exited during ${scenario.key} (${describeExit(exit)})`);
          const stopped = await stop(target.child);
          if (name === 'rxlb' && stopped.code !== 0) throw new Error(`rxlb exited with ${describeExit(stopped)} on SIGTERM after ${scenario.key}`);
        }
        if (name === 'rxlb' && target.log) logChecks.push(checkRxlbLog(target.log, scenario.key, result));
        ((runs[scenario.key] ??= {})[name] ??= []).push({ round, ...result });
        say(`[${round}/${options.rounds}] ${scenario.key.padEnd(11)} ${name.padEnd(7)} ${summary(scenario.key, result)}`);
      }
    }
  }
  await killAll(); // the backends

  const figures = summarise(runs, targets);
  const measured = (/** @type {number | undefined} */ v) => v !== undefined && Number.isFinite(v) && v > 0;
  const missing = figures.flatMap((f) => {
    const proxyOnly = FIGURES.find((x) => x.key === f.key)?.proxyOnly;
    return targets.filter((t) => !(proxyOnly && t === 'direct') && !measured(f.values[t]?.median)).map((t) => `${f.label} for ${t}`);
  });
  report.figures = figures;
  say('');
  say(renderTable(figures, targets));
  say('');
  say('Medians over the rounds, [min-max] when there is more than one. "higher": a rate, so rxlb/X below 1 means rxlb is');
  say('that fraction of X\'s speed. "lower": a cost, so rxlb/X above 1 means rxlb costs that many times more.');
  if (targets.includes('rxlb')) {
    say(`rxlb logged one "connection closed" record per connection in all ${logChecks.length} of its runs (${logChecks.filter((c) => c.exact).length} exact counts); logs in ${path.relative(ROOT, logDir)}/`);
  }
  if (missing.length > 0) throw new Error(`not measured (no finite positive value): ${missing.join('; ')}`);
}

/**
 * The first line a program prints about its version, if any.
 * @param {string} name
 * @param {string} file
 */
function toolVersion(name, file) {
  return ['iperf3', 'wrk', 'nginx', 'haproxy'].includes(name) ? versionOf(file, ['-v'])?.split('\n')[0] : undefined;
}

/** Writes the report to <results>/<time>.json and latest.json; says where. */
function writeReport() {
  if (!output) return;
  report.finished = new Date().toISOString();
  report.processes = started;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const file = path.join(output.dir, `${output.stamp}.json`);
  fs.writeFileSync(file, json);
  fs.writeFileSync(path.join(output.dir, 'latest.json'), json);
  say(`results: ${path.relative(process.cwd(), file)} and latest.json beside it`);
}

/** Ends every child process and removes the temporary folders. */
async function cleanUp() {
  await killAll();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

let interrupted = false;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}: stopping every process it started\n`);
    report.error = `interrupted by ${signal}`;
    void cleanUp().then(() => {
      writeReport();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  });
}

let code = 0;
try {
  const options = parseOptions(process.argv.slice(2), path.join(BENCH_DIR, 'results'));
  if (options.help) say(USAGE);
  else await bench(options);
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    code = 2;
  } else if (!interrupted) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`bench: ${message}\n`);
    report.error = message;
    code = 1;
  }
}
// once interrupted, the signal's handler cleans up and exits
if (!interrupted) {
  await cleanUp();
  writeReport();
  process.exit(code);
}
