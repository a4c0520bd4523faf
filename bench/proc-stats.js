// What the kernel says a proxy process used: CPU time from /proc/<pid>/stat and resident
// memory from /proc/<pid>/status. Every thread counts (Node's GC and libuv threads too).
import fs from 'node:fs';

/**
 * User plus system CPU time of a process so far, in clock ticks (see `clockTicks`).
 * @param {number} pid
 */
export function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime and stime from /proc/${pid}/stat: ${stat}`);
  return utime + stime;
}

/**
 * Resident memory of a process now, in KiB (VmRSS).
 * @param {number} pid
 */
export function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

/**
 * The median of `count` RSS samples taken `gapMs` apart, and the samples.
 * @param {number} pid
 * @param {number} [count]
 * @param {number} [gapMs]
 */
export async function rssMedian(pid, count = 5, gapMs = 100) {
  const samples = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    samples.push(rssKiB(pid));
  }
  return { median: median(samples), samples };
}

/**
 * The median of a non-empty list (the mean of the middle two for an even count).
 * @param {number[]} values
 */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? /** @type {number} */ (sorted[mid]) : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2;
}
