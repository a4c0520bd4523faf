import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBinaries, scratchDir } from './servers.js';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const RUN = join(ROOT, 'bench', 'run.js');

/** Every figure the bench reports, in its order; the `lower` ones (costs of a proxy) have no value for `direct`. */
const FIGURES = [
  'bulk_up_1',
  'bulk_down_1',
  'bulk_up_8',
  'bulk_down_8',
  'keep_alive_rate',
  'close_rate',
  'cpu_per_gib_up_1',
  'cpu_per_gib_down_1',
  'cpu_per_gib_up_8',
  'cpu_per_gib_down_8',
  'cpu_per_request',
  'cpu_per_connection',
  'memory_per_idle_connection',
];
const SCENARIOS = ['bulk-up-1', 'bulk-down-1', 'bulk-up-8', 'bulk-down-8', 'keep-alive', 'close', 'idle'];
const PROXIES = ['raw', 'rxlb', 'haproxy', 'nginx'];

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}
interface Report {
  readonly error?: string;
  readonly targets: readonly string[];
  readonly figures: readonly { readonly key: string; readonly better: string; readonly values: Readonly<Record<string, Spread>>; readonly ratios: Readonly<Record<string, number>> }[];
  readonly rxlb_log_checks: readonly { readonly scenario: string; readonly connection_closed: number; readonly connections: number | readonly [number, number]; readonly exact: boolean }[];
  readonly processes: readonly { readonly name: string; readonly pid: number; readonly cpu: number; readonly cpus_allowed?: string }[];
}

/** Every running process whose environment holds `mark`: the bench and all it started carry it. */
function marked(mark: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(`RXLB_BENCH_MARK=${mark}\0`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

let marks = 0;
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `node bench/run.js args` with a mark of its own in its environment. */
function startBench(args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; mark: string; output: () => { stdout: string; stderr: string }; exited: Promise<number | null> } {
  const mark = `${process.pid}-${(marks += 1)}`;
  const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, env: { ...process.env, ...env, RXLB_BENCH_MARK: mark }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = once(child, 'exit').then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return { child, mark, output: () => ({ stdout, stderr }), exited };
}

describe('the bench (npm run bench -- --quick)', { timeout: 300_000 }, () => {
  if (!requireBinaries('the bench tools', ['iperf3', 'wrk', 'nginx', 'taskset'], 'iperf3 wrk nginx util-linux')) return;
  const results = scratchDir('bench');

  it('measures every figure for every target that ran, checks rxlb logged every connection, and leaves no process behind', async () => {
    const bench = startBench(['--quick', '--results', results]);
    const code = await bench.exited;
    const { stdout, stderr } = bench.output();
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(join(results, 'latest.json'), 'utf8')) as Report;
    expect(report.error).toBeUndefined();

    // direct, raw and rxlb always; haproxy and nginx where installed
    expect(report.targets.slice(0, 3)).toEqual(['direct', 'raw', 'rxlb']);
    expect(report.figures.map((f) => f.key)).toEqual(FIGURES);
    for (const figure of report.figures) {
      for (const target of report.targets) {
        const value = figure.values[target];
        if (figure.better === 'lower' && target === 'direct') {
          expect(value, `${figure.key} for direct`).toBeUndefined();
          continue;
        }
        expect(value?.samples, `${figure.key} for ${target}`).toHaveLength(1);
        expect(Number.isFinite(value?.median) && (value?.median ?? 0) > 0, `${figure.key} for ${target}: ${value?.median}`).toBe(true);
      }
      for (const other of report.targets.filter((t) => t !== 'direct' && t !== 'rxlb')) {
        const ratio = figure.ratios[`rxlb/${other}`] ?? Number.NaN;
        expect(Number.isFinite(ratio) && ratio > 0, `${figure.key}: rxlb/${other} ${ratio}`).toBe(true);
      }
    }
    expect(stdout).toMatch(/^figure +unit +better +direct +raw +rxlb +rxlb\/raw/m);

    // one rxlb log check per scenario; all but `close` exact
    expect(report.rxlb_log_checks.map((c) => c.scenario)).toEqual(SCENARIOS);
    for (const check of report.rxlb_log_checks) {
      if (check.scenario === 'close') {
        expect(check.exact).toBe(false);
        const [min, max] = check.connections as readonly [number, number];
        expect(check.connection_closed).toBeGreaterThanOrEqual(min);
        expect(check.connection_closed).toBeLessThanOrEqual(max);
      } else {
        expect(check).toMatchObject({ exact: true, connection_closed: check.connections });
      }
    }
    const checked = Object.fromEntries(report.rxlb_log_checks.map((c) => [c.scenario, c.connection_closed]));
    // iperf3: its control connection and the streams; wrk: its address check and 50; idle: 200 warm-up and 500 held
    expect(checked).toMatchObject({ 'bulk-up-1': 2, 'bulk-down-1': 2, 'bulk-up-8': 9, 'bulk-down-8': 9, 'keep-alive': 51, idle: 700 });

    // the proxies ran on CPU 1 alone, the backends on CPU 0
    const proxies = report.processes.filter((p) => PROXIES.includes(p.name));
    expect(proxies).toHaveLength(report.targets.filter((t) => t !== 'direct').length * SCENARIOS.length); // one per run
    for (const p of proxies) expect(p, p.name).toMatchObject({ cpu: 1, cpus_allowed: '1' });
    for (const p of report.processes.filter((x) => x.name.endsWith('backend') || x.name === 'iperf3 server')) expect(p).toMatchObject({ cpu: 0, cpus_allowed: '0' });

    expect(marked(bench.mark)).toEqual([]);
  });

  it('exits 1 naming every missing tool, before it starts anything', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'rxlb-bench-path-'));
    try {
      const bench = startBench(['--quick', '--results', join(results, 'none')], { PATH: emptyPath });
      expect(await bench.exited).toBe(1);
      // nginx is found in /usr/sbin, where a non-root PATH may not look
      expect(bench.output().stderr).toBe('bench: cannot run:\n  - missing taskset, getconf, iperf3, wrk (apt-get install util-linux libc-bin iperf3 wrk)\n');
      expect(readdirSync(results)).not.toContain('none');
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });

  it('on SIGTERM stops every process it started and exits 143', async () => {
    const bench = startBench(['--quick', '--only', 'raw,rxlb', '--results', join(results, 'interrupted')]);
    // wait until the backends run and a first measurement is under way
    for (let waited = 0; !/\n\[1\/1\] bulk-up-1 /.test(bench.output().stdout); waited += 50) {
      if (waited > 60_000) throw new Error(`no measurement within 60 s: ${JSON.stringify(bench.output())}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const before = marked(bench.mark);
    expect(before.length).toBeGreaterThanOrEqual(3); // the bench, iperf3 -s and nginx at least
    bench.child.kill('SIGTERM');
    expect(await bench.exited).toBe(143);
    expect(bench.output().stderr).toContain('bench: SIGTERM: stopping every process it started');
    expect(marked(bench.mark)).toEqual([]);
    const report = JSON.parse(readFileSync(join(results, 'interrupted', 'latest.json'), 'utf8')) as Report;
    expect(report.error).toBe('interrupted by SIGTERM');
  });
});
