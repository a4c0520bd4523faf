// The programs the bench runs, found on PATH or in the sbin folders a non-root PATH
// lacks (Debian's nginx and haproxy are in /usr/sbin), and what else the machine must
// offer: two CPUs to pin to and enough descriptors for the idle connections.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SEARCH_PATH = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((d) => d !== '');

/** The Debian package that brings each program. */
export const PACKAGES = { iperf3: 'iperf3', wrk: 'wrk', nginx: 'nginx', taskset: 'util-linux', getconf: 'libc-bin', haproxy: 'haproxy' };

/**
 * The full path of an executable, or undefined.
 * @param {string} name
 */
export function which(name) {
  for (const dir of SEARCH_PATH) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The full path of each program in `names`; throws one error naming every missing one.
 * @param {string[]} names
 * @returns {Record<string, string>}
 */
export function requireTools(names) {
  /** @type {Record<string, string>} */
  const found = {};
  const missing = [];
  for (const name of names) {
    const file = which(name);
    if (file) found[name] = file;
    else missing.push(name);
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((m) => PACKAGES[/** @type {keyof PACKAGES} */ (m)] ?? m))];
    throw new Error(`missing ${missing.join(', ')} (apt-get install ${packages.join(' ')})`);
  }
  return found;
}

/**
 * The `load_module` line nginx needs for `stream {}`: '' when it is built in, undefined
 * when it is a dynamic module that is not installed (Debian: libnginx-mod-stream).
 * @param {string} nginx
 */
export function nginxStreamModule(nginx) {
  const flags = versionOf(nginx, ['-V']) ?? '';
  if (/--with-stream(\s|$)/m.test(flags)) return '';
  if (!/--with-stream=dynamic/.test(flags)) return undefined;
  const candidates = [path.resolve(path.dirname(nginx), '../lib/nginx/modules/ngx_stream_module.so'), '/usr/lib/nginx/modules/ngx_stream_module.so', '/usr/lib64/nginx/modules/ngx_stream_module.so', '/usr/share/nginx/modules/ngx_stream_module.so'];
  const module = candidates.find((c) => fs.existsSync(c));
  return module === undefined ? undefined : `load_module ${module};`;
}

/**
 * What `bin args` prints (stdout, else stderr: nginx writes its version there), or undefined.
 * @param {string} bin
 * @param {string[]} args
 */
export function versionOf(bin, args) {
  const run = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  return (run.stdout ?? '').trim() || (run.stderr ?? '').trim() || undefined;
}

/**
 * Clock ticks per second, the unit of /proc/<pid>/stat's CPU times.
 * @param {string} getconf
 */
export function clockTicks(getconf) {
  const ticks = Number(execFileSync(getconf, ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK printed ${ticks}, not a positive integer`);
  return ticks;
}

/** The hard descriptor limit children can raise their soft limit to (`ulimit -Hn`, capped by fs.nr_open). */
export function descriptorLimit() {
  const hard = execFileSync('/bin/sh', ['-c', 'ulimit -H -n'], { encoding: 'utf8' }).trim();
  const nrOpen = Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8').trim());
  return hard === 'unlimited' ? nrOpen : Math.min(Number(hard), nrOpen);
}

/**
 * Throws unless taskset can pin a process to each of `cpus`.
 * @param {string} taskset
 * @param {number[]} cpus
 */
export function checkCpus(taskset, cpus) {
  for (const cpu of cpus) {
    try {
      execFileSync(taskset, ['-c', String(cpu), 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = /** @type {{ stderr?: Buffer }} */ (err).stderr?.toString().trim();
      throw new Error(`cannot pin to CPU ${cpu} (taskset -c ${cpu}: ${stderr || 'failed'}); this machine lets the bench use CPUs ${allowedCpus(process.pid) ?? '?'}`);
    }
  }
}

/**
 * The CPUs a process may run on, as /proc/<pid>/status lists them ("1", "0-1").
 * @param {number} pid
 */
export function allowedCpus(pid) {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
