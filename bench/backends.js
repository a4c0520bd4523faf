// The backends every target forwards to, started once for the whole run on the load
// CPU: an iperf3 server for the bulk scenarios, and an nginx answering `200` with a small
// body for the request scenarios and the idle connections.
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitForListen } from './ports.js';
import { describeExit, recordAffinity, startPinned, stderrTail } from './processes.js';

/** The body nginx answers every request with. */
export const BODY = 'rxlb bench\n';

/**
 * `iperf3 -s` on 127.0.0.1, ready once it says it listens.
 * @param {string} iperf3
 * @param {number} cpu
 * @returns {Promise<{ address: string, child: import('./processes.js').Child }>}
 */
export async function startIperfServer(iperf3, cpu) {
  const port = await freePort();
  const child = startPinned('iperf3 server', cpu, iperf3, ['-s', '-B', '127.0.0.1', '-p', String(port), '--forceflush']);
  // a probe connection would count as a client for iperf3: wait for its banner instead
  const deadline = Date.now() + 10_000;
  while (!/Server listening on/.test(child.stdout())) {
    const exit = child.exitInfo();
    if (exit) throw new Error(`iperf3 server exited (${describeExit(exit)}) before listening${stderrTail(child)}`);
    if (Date.now() > deadline) throw new Error(`iperf3 server did not say it listens within 10 s${stderrTail(child)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  recordAffinity(child);
  return { address: `127.0.0.1:${port}`, child };
}

/**
 * One nginx process (no master) answering every GET with `BODY`, keeping connections
 * open for 10 minutes and for any number of requests.
 * @param {string} nginx
 * @param {number} cpu
 * @param {string} dir a fresh folder for its config, pid and error log
 * @param {number} descriptors the descriptor limit it runs with
 * @returns {Promise<{ address: string, child: import('./processes.js').Child }>}
 */
export async function startNginxBackend(nginx, cpu, dir, descriptors) {
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`);
  fs.writeFileSync(
    conf,
    [
      'daemon off;',
      'master_process off;',
      `worker_rlimit_nofile ${descriptors};`,
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      `events { worker_connections ${descriptors - 32}; }`,
      'http {',
      '  access_log off;',
      ...temp,
      '  keepalive_timeout 10m;',
      '  keepalive_requests 1000000;',
      '  server {',
      `    listen 127.0.0.1:${port} backlog=4096;`,
      `    location / { default_type text/plain; return 200 "${BODY.replace('\n', '\\n')}"; }`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const child = startPinned('nginx backend', cpu, nginx, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`]);
  await waitForListen(port, child, 10, () => errorLog(dir));
  recordAffinity(child);
  return { address: `127.0.0.1:${port}`, child };
}

/**
 * "; error.log: ..." from an nginx folder, or ''.
 * @param {string} dir
 */
export function errorLog(dir) {
  try {
    const text = fs.readFileSync(path.join(dir, 'error.log'), 'utf8').trim();
    return text ? `; its error.log ends:\n${text.slice(-1500)}` : '';
  } catch {
    return '';
  }
}
