// The figures the bench reports, their medians and spreads over the rounds, the ratios
// of rxlb's medians to the other targets', and the table printed at the end.
import { median } from './proc-stats.js';

/**
 * @typedef {object} Figure
 * @property {string} key
 * @property {string} scenario the scenario whose runs give it
 * @property {string} label
 * @property {string} unit
 * @property {'higher' | 'lower'} better
 * @property {boolean} proxyOnly no value for `direct`
 * @property {(run: Record<string, any>) => number | undefined} value from one run's result // any: a run's fields differ by scenario
 */

/**
 * @param {string} key
 * @param {string} scenario
 * @param {string} label
 * @param {string} unit
 * @param {'higher' | 'lower'} better
 * @param {string} field the run result's field
 * @returns {Figure}
 */
const figure = (key, scenario, label, unit, better, field) => ({
  key,
  scenario,
  label,
  unit,
  better,
  proxyOnly: better === 'lower',
  value: (run) => run[field],
});

/** @type {Figure[]} */
export const FIGURES = [
  figure('bulk_up_1', 'bulk-up-1', 'bulk upload, 1 stream', 'Gbit/s', 'higher', 'gbit_s'),
  figure('bulk_down_1', 'bulk-down-1', 'bulk download, 1 stream', 'Gbit/s', 'higher', 'gbit_s'),
  figure('bulk_up_8', 'bulk-up-8', 'bulk upload, 8 streams', 'Gbit/s', 'higher', 'gbit_s'),
  figure('bulk_down_8', 'bulk-down-8', 'bulk download, 8 streams', 'Gbit/s', 'higher', 'gbit_s'),
  figure('keep_alive_rate', 'keep-alive', 'keep-alive requests, 50 conns', 'req/s', 'higher', 'req_s'),
  figure('close_rate', 'close', 'Connection: close requests, 50 conns', 'req/s', 'higher', 'req_s'),
  figure('cpu_per_gib_up_1', 'bulk-up-1', 'proxy CPU per GiB, upload 1 stream', 'ms', 'lower', 'cpu_ms_per_gib'),
  figure('cpu_per_gib_down_1', 'bulk-down-1', 'proxy CPU per GiB, download 1 stream', 'ms', 'lower', 'cpu_ms_per_gib'),
  figure('cpu_per_gib_up_8', 'bulk-up-8', 'proxy CPU per GiB, upload 8 streams', 'ms', 'lower', 'cpu_ms_per_gib'),
  figure('cpu_per_gib_down_8', 'bulk-down-8', 'proxy CPU per GiB, download 8 streams', 'ms', 'lower', 'cpu_ms_per_gib'),
  figure('cpu_per_request', 'keep-alive', 'proxy CPU per request, keep-alive', 'µs', 'lower', 'cpu_us_per_request'),
  figure('cpu_per_connection', 'close', 'proxy CPU per connection (Connection: close)', 'µs', 'lower', 'cpu_us_per_request'),
  figure('memory_per_idle_connection', 'idle', 'memory per idle connection', 'KiB', 'lower', 'kib_per_connection'),
];

/**
 * @typedef {{ median: number, min: number, max: number, samples: number[] }} Spread
 * @typedef {{ key: string, label: string, unit: string, better: string, values: Record<string, Spread>, ratios: Record<string, number> }} FigureResult
 */

/**
 * Each figure's spread per target, and rxlb's median over each other proxy's.
 * @param {Record<string, Record<string, Record<string, any>[]>>} runs scenario -> target -> run results // any: fields differ by scenario
 * @param {string[]} targets
 * @returns {FigureResult[]}
 */
export function summarise(runs, targets) {
  return FIGURES.filter((f) => runs[f.scenario] !== undefined).map((f) => {
    /** @type {Record<string, Spread>} */
    const values = {};
    for (const target of targets) {
      if (f.proxyOnly && target === 'direct') continue;
      const samples = (runs[f.scenario]?.[target] ?? []).map(f.value).filter((v) => typeof v === 'number');
      if (samples.length > 0) values[target] = { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
    }
    /** @type {Record<string, number>} */
    const ratios = {};
    const rxlb = values.rxlb?.median;
    for (const other of ['raw', 'haproxy', 'nginx']) {
      const base = values[other]?.median;
      if (rxlb !== undefined && base !== undefined && base !== 0) ratios[`rxlb/${other}`] = rxlb / base;
    }
    return { key: f.key, label: f.label, unit: f.unit, better: f.better, values, ratios };
  });
}

/**
 * A number in about three significant digits, its size judged after rounding (999.7 is
 * "1,000", 99.97 is "100").
 * @param {number} v
 */
export function formatNumber(v) {
  if (Math.abs(Math.round(v)) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(Number(v.toFixed(1))) >= 100) return v.toFixed(0);
  if (Math.abs(Number(v.toFixed(2))) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** @param {Spread | undefined} s */
const cell = (s) => (s === undefined ? '-' : s.samples.length === 1 ? formatNumber(s.median) : `${formatNumber(s.median)} [${formatNumber(s.min)}-${formatNumber(s.max)}]`);

/**
 * The table: one row per figure; per target its median [min-max], and rxlb's ratio to
 * raw after rxlb's own column, to haproxy and nginx after theirs.
 * @param {FigureResult[]} figures
 * @param {string[]} targets in the order to show
 */
export function renderTable(figures, targets) {
  const hasRxlb = targets.includes('rxlb');
  /** @type {{ title: string, show: (f: FigureResult) => string }[]} */
  const columns = [
    { title: 'figure', show: (f) => f.label },
    { title: 'unit', show: (f) => f.unit },
    { title: 'better', show: (f) => f.better },
  ];
  const ratio = (/** @type {string} */ other) => ({ title: `rxlb/${other}`, show: (/** @type {FigureResult} */ f) => f.ratios[`rxlb/${other}`]?.toFixed(2) ?? '-' });
  for (const t of targets) {
    columns.push({ title: t, show: (f) => cell(f.values[t]) });
    if (t === 'rxlb' && targets.includes('raw')) columns.push(ratio('raw'));
    if ((t === 'haproxy' || t === 'nginx') && hasRxlb) columns.push(ratio(t));
  }
  const rows = [columns.map((c) => c.title), ...figures.map((f) => columns.map((c) => c.show(f)))];
  const widths = columns.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (/** @type {string[]} */ cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const [header = [], ...body] = rows;
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
