// The bench's command line.
import path from 'node:path';
import { SCENARIOS } from './scenarios.js';
import { ALL_TARGETS } from './targets.js';

export const USAGE = `usage: npm run bench -- [options]       (node bench/run.js [options] once built)
  --quick              1 round, 1 s runs, 500 idle connections, no warm-up: a smoke test
  --rounds <n>         rounds, each running every scenario against every target (default 5)
  --duration <s>       seconds of each measured iperf3 and wrk run (default 5)
  --only <list>        targets: ${ALL_TARGETS.join(',')} (default: every one installed)
  --scenarios <list>   ${SCENARIOS.map((s) => s.key).join(',')} (default: all)
  --idle-count <n>     idle connections held for the memory figure (default 5000)
  --proxy-cpu <n>      the CPU every proxy is pinned to (default 1)
  --load-cpu <n>       the CPU of the clients, the backends and the bench itself (default 0)
  --results <dir>      where the JSON report and the proxies' logs go (default bench/results)
  -h, --help           this text`;

/** A mistake on the command line. */
export class UsageError extends Error {}

/**
 * @typedef {object} Options
 * @property {boolean} quick
 * @property {number} rounds
 * @property {number} duration
 * @property {string[] | undefined} only undefined: every target that is installed
 * @property {string[]} scenarios
 * @property {number} idleCount
 * @property {number} proxyCpu
 * @property {number} loadCpu
 * @property {string} results
 * @property {boolean} help
 */

/**
 * @param {string[]} argv
 * @param {string} defaultResults
 * @returns {Options}
 */
export function parseOptions(argv, defaultResults) {
  /** @type {Record<string, string>} */
  const given = {};
  let quick = false;
  let help = false;
  const valued = ['--rounds', '--duration', '--only', '--scenarios', '--idle-count', '--proxy-cpu', '--load-cpu', '--results'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === '--quick') quick = true;
    else if (flag === '-h' || flag === '--help') help = true;
    else if (valued.includes(flag)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
      given[flag] = value;
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  const list = (/** @type {string} */ flag, /** @type {string[]} */ known) => {
    const value = given[flag];
    if (value === undefined) return undefined;
    const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const unknown = items.filter((s) => !known.includes(s));
    if (unknown.length > 0) throw new UsageError(`${flag}: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
    if (items.length === 0) throw new UsageError(`${flag} names nothing`);
    return items;
  };
  const integer = (/** @type {string} */ flag, /** @type {number} */ fallback, /** @type {number} */ min) => {
    const value = given[flag];
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    return n;
  };
  const options = {
    quick,
    help,
    rounds: integer('--rounds', quick ? 1 : 5, 1),
    // iperf3 -t and wrk -d take whole seconds
    duration: integer('--duration', quick ? 1 : 5, 1),
    only: list('--only', ALL_TARGETS),
    scenarios: list('--scenarios', SCENARIOS.map((s) => s.key)) ?? SCENARIOS.map((s) => s.key),
    idleCount: integer('--idle-count', quick ? 500 : 5000, 1),
    proxyCpu: integer('--proxy-cpu', 1, 0),
    loadCpu: integer('--load-cpu', 0, 0),
    results: path.resolve(given['--results'] ?? defaultResults),
  };
  if (options.proxyCpu === options.loadCpu) throw new UsageError(`--proxy-cpu and --load-cpu must differ (both ${options.proxyCpu})`);
  return options;
}
