// The bench's child processes. Each runs pinned to one CPU (`taskset -c`) with its soft
// descriptor limit raised to the hard one, through `sh -c 'ulimit ...; exec taskset ...'`:
// both exec, so the pid Node sees is the program's own. Every child is tracked, so that
// `killAll` can end them at the end, on failure and on SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import { allowedCpus } from './tools.js';

/** @typedef {{ code: number | null, signal: NodeJS.Signals | null }} ExitInfo */
/**
 * @typedef {object} Child
 * @property {string} name
 * @property {number} pid
 * @property {number} cpu
 * @property {import('node:child_process').ChildProcess} process
 * @property {() => string} stdout what it printed so far (when stdout is a pipe)
 * @property {() => string} stderr the last 8 KiB it printed on stderr
 * @property {() => ExitInfo | undefined} exitInfo
 * @property {Promise<ExitInfo>} exited
 */

/** @type {Set<Child>} */
const running = new Set();
/** Every process started, for the report: what it was, its pid and the CPUs it was allowed. */
/** @type {{ name: string, pid: number, cpu: number, cpus_allowed?: string }[]} */
export const started = [];

let descriptors = 1024;
let taskset = 'taskset';

/**
 * How every later child is started: with this soft descriptor limit, pinned by this taskset.
 * @param {{ descriptors: number, taskset: string }} settings
 */
export function configure(settings) {
  ({ descriptors, taskset } = settings);
}

/**
 * Starts `command args` pinned to `cpu`.
 * @param {string} name what the bench calls it in messages
 * @param {number} cpu
 * @param {string} command
 * @param {string[]} args
 * @param {{ stdout?: 'pipe' | number, cwd?: string }} [options] stdout may be a file descriptor
 * @returns {Child}
 */
export function startPinned(name, cpu, command, args, options = {}) {
  const script = 'ulimit -S -n "$1" || { echo "cannot raise the descriptor limit to $1" >&2; exit 1; }; shift; exec "$@"';
  const child = spawn('/bin/sh', ['-c', script, 'sh', String(descriptors), taskset, '-c', String(cpu), command, ...args], {
    stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  let out = '';
  let err = '';
  /** @type {ExitInfo | undefined} */
  let exit;
  child.stdout?.setEncoding('utf8').on('data', (text) => (out += text));
  child.stderr?.setEncoding('utf8').on('data', (text) => (err = (err + text).slice(-8192)));
  child.stdin?.on('error', () => {}); // a child that exits early closes its end
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      running.delete(handle);
      resolve(exit);
    });
    child.once('error', (error) => {
      err += `${error.message}\n`;
      exit ??= { code: null, signal: null };
      running.delete(handle);
      resolve(exit);
    });
  });
  /** @type {Child} */
  const handle = { name, pid: child.pid ?? 0, cpu, process: child, stdout: () => out, stderr: () => err, exitInfo: () => exit, exited };
  running.add(handle);
  started.push({ name, pid: handle.pid, cpu });
  return handle;
}

/**
 * Notes the CPUs a long-running child is allowed, once it runs the program itself.
 * @param {Child} child
 */
export function recordAffinity(child) {
  const entry = started.find((s) => s.pid === child.pid);
  if (entry) entry.cpus_allowed = allowedCpus(child.pid);
  return entry?.cpus_allowed;
}

/**
 * Runs a client to completion; rejects naming it when it runs past `timeoutS` (then killed).
 * @param {string} name
 * @param {number} cpu
 * @param {string} command
 * @param {string[]} args
 * @param {number} timeoutS
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>}
 */
export async function runPinned(name, cpu, command, args, timeoutS) {
  const child = startPinned(name, cpu, command, args);
  child.process.stdin?.end();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.process.kill('SIGKILL');
  }, timeoutS * 1000);
  const info = await child.exited;
  clearTimeout(timer);
  if (timedOut) throw new Error(`${name} still running after ${timeoutS} s, killed${stderrTail(child)}`);
  return { ...info, stdout: child.stdout(), stderr: child.stderr() };
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited.
 * @param {Child} child
 * @param {number} [graceMs]
 */
export async function stop(child, graceMs = 5000) {
  const done = child.exitInfo();
  if (done) return done;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  const info = await child.exited;
  clearTimeout(timer);
  return info;
}

/** SIGKILLs every child still running and waits (up to 5 s) until each has been reaped. */
export async function killAll() {
  const all = [...running];
  for (const child of all) child.process.kill('SIGKILL');
  await Promise.race([Promise.all(all.map((c) => c.exited)), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
}

/**
 * "; stderr: ..." with what a child last printed there, or ''.
 * @param {Child} child
 */
export function stderrTail(child) {
  const text = child.stderr().trim();
  return text ? `; its stderr ends:\n${text.slice(-2000)}` : '';
}

/**
 * How a child exited, in words.
 * @param {ExitInfo} info
 */
export const describeExit = (info) => (info.signal ? `signal ${info.signal}` : `code ${info.code}`);
