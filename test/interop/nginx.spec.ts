import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listeningPort, type Rxlb, sha256, startRxlb, writeTemp } from '../integration/harness.js';
import { cleanUp, closedRecords, freePort, requireBinaries, run, rxlbConfig, scratchDir, type Server, startServer, waitForPort, which } from './servers.js';

const MiB = 1024 * 1024;
const WRK_CONNECTIONS = 32;

/** One nginx serving `/whoami` (its name) and the files in `www`, on 127.0.0.1:port. */
interface Nginx {
  readonly name: string;
  readonly address: string;
  readonly server: Server;
  /** Its access log so far, one `status request_length bytes_sent` line per request. */
  readonly accessLog: () => string[];
}

async function startNginx(binary: string, root: string, name: string, www: string): Promise<Nginx> {
  const dir = join(root, name);
  mkdirSync(join(dir, 'temp'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  default_type application/octet-stream;',
      "  log_format interop '$status $request_length $bytes_sent';",
      `  access_log ${dir}/access.log interop;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/temp/${t};`),
      '  sendfile on;',
      // one connection carries all of a wrk connection's requests, so rxlb logs exactly as many
      '  keepalive_requests 1000000;',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      `    root ${www};`,
      `    location = /whoami { default_type text/plain; return 200 "${name}\\n"; }`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const server = startServer(binary, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`]);
  try {
    await waitForPort(port, 10_000, server);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nerror.log: ${readText(join(dir, 'error.log'))}`);
  }
  return {
    name,
    address: `127.0.0.1:${port}`,
    server,
    accessLog: () => readText(join(dir, 'access.log')).split('\n').filter((l) => l !== ''),
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** wrk's summary: requests done, socket errors by kind, and non-2xx/3xx responses (lines wrk prints only when nonzero). */
function parseWrk(output: string): { requests: number; perSecond: number; errors: { connect: number; read: number; write: number; timeout: number }; non2xx: number } {
  const requests = /^\s*(\d+) requests in /m.exec(output);
  const perSecond = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!requests || !perSecond) throw new Error(`cannot read wrk's output:\n${output}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requests: Number(requests[1]),
    perSecond: Number(perSecond[1]),
    errors: { connect: Number(errors?.[1] ?? 0), read: Number(errors?.[2] ?? 0), write: Number(errors?.[3] ?? 0), timeout: Number(errors?.[4] ?? 0) },
    non2xx: Number(non2xx?.[1] ?? 0),
  };
}

cleanUp();

describe('nginx behind rxlb, driven by curl and wrk', { timeout: 60_000 }, () => {
  if (!requireBinaries('nginx, curl or wrk', ['nginx', 'curl', 'wrk'], 'nginx curl wrk')) return;
  const nginx = which('nginx') ?? 'nginx';
  const curl = which('curl') ?? 'curl';
  const wrk = which('wrk') ?? 'wrk';
  const root = scratchDir('nginx');
  const www = join(root, 'www');
  const big = randomBytes(8 * MiB);
  let backends: Nginx[] = [];

  beforeAll(async () => {
    // nginx workers run as an unprivileged user when nginx is started as root
    chmodSync(root, 0o755);
    mkdirSync(www, { mode: 0o755 });
    writeFileSync(join(www, 'big.bin'), big, { mode: 0o644 });
    backends = await Promise.all(['nginx-a', 'nginx-b'].map((name) => startNginx(nginx, root, name, www)));
  });

  async function rxlbInFront(): Promise<{ rxlb: Rxlb; url: string }> {
    const rxlb = startRxlb(['-c', writeTemp(rxlbConfig('web', '127.0.0.1:0', backends.map((b) => b.address)))]);
    return { rxlb, url: `http://127.0.0.1:${await listeningPort(rxlb, 'web')}` };
  }

  it('alternates the two backends exactly, one curl connection each', async () => {
    const { rxlb, url } = await rxlbInFront();
    const bodies: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const result = await run(curl, ['-sS', '--max-time', '10', `${url}/whoami`]);
      expect(result, result.stderr).toMatchObject({ code: 0 });
      bodies.push(result.stdout.trim());
    }
    expect(bodies).toEqual(['nginx-a', 'nginx-b', 'nginx-a', 'nginx-b', 'nginx-a', 'nginx-b']);
    await rxlb.waitFor(() => closedRecords(rxlb.records).length === 6);
    expect(closedRecords(rxlb.records).map((c) => c.backend)).toEqual(bodies.map((_, i) => backends[i % 2]?.address));
  });

  it('downloads an 8 MiB file through rxlb, the same sha256 as written', async () => {
    const { rxlb, url } = await rxlbInFront();
    const target = join(root, 'download.bin');
    const result = await run(curl, ['-sS', '--max-time', '30', '-o', target, '-w', '%{http_code} %{size_download}', `${url}/big.bin`]);
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: `200 ${8 * MiB}` });
    expect(sha256(readFileSync(target))).toBe(sha256(big));
    // rxlb delivered exactly what the nginx that served it logged sending: headers and file
    const [closed] = closedRecords([await rxlb.waitFor((r) => r.msg === 'connection closed')]);
    const served = backends.find((b) => b.address === closed?.backend);
    const [status, requestBytes, sentBytes] = (served?.accessLog().at(-1) ?? '').split(' ').map(Number);
    expect(status).toBe(200);
    expect(closed).toMatchObject({ bytesUp: requestBytes, bytesDown: sentBytes });
    expect(sentBytes).toBeGreaterThan(8 * MiB);
  });

  it(`serves wrk -t2 -c${WRK_CONNECTIONS} -d5s with no socket error and no non-2xx response`, async () => {
    const { rxlb, url } = await rxlbInFront();
    const logged = backends.map((b) => b.accessLog().length);
    const result = await run(wrk, ['-t2', `-c${WRK_CONNECTIONS}`, '-d5s', '--timeout', '5s', `${url}/whoami`], { timeoutMs: 30_000 });
    expect(result, result.stderr).toMatchObject({ code: 0 });
    const summary = parseWrk(result.stdout);
    console.log(`interop: wrk through rxlb: ${summary.requests} requests, ${summary.perSecond} req/s`);
    expect(summary.errors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(summary.non2xx).toBe(0);
    expect(summary.requests).toBeGreaterThan(0);

    // wrk connects once to check the address, then opens its connections: each one ends
    // in one record with its backend, and round robin gives half of them to each backend
    await rxlb.waitFor(() => closedRecords(rxlb.records).length >= WRK_CONNECTIONS + 1, 15_000);
    const closed = closedRecords(rxlb.records);
    expect(closed).toHaveLength(WRK_CONNECTIONS + 1);
    expect(closed.every((c) => c.backend !== null && backends.some((b) => b.address === c.backend))).toBe(true);
    expect(closed.filter((c) => c.reason !== 'client_closed' && c.reason !== 'backend_closed')).toEqual([]);
    const carried = closed.filter((c) => c.bytesUp > 0);
    expect(carried).toHaveLength(WRK_CONNECTIONS);
    for (const b of backends) expect(carried.filter((c) => c.backend === b.address)).toHaveLength(WRK_CONNECTIONS / 2);

    // nginx answered every request wrk counted (and at most one more per connection, in
    // flight when wrk stopped), and rxlb carried exactly the bytes nginx logged, both ways
    const requests = backends.flatMap((b, i) => b.accessLog().slice(logged[i])).map((line) => line.split(' ').map(Number));
    expect(requests.every(([status]) => status === 200)).toBe(true);
    expect(requests.length).toBeGreaterThanOrEqual(summary.requests);
    expect(requests.length).toBeLessThanOrEqual(summary.requests + WRK_CONNECTIONS);
    const sum = (values: number[]): number => values.reduce((a, v) => a + v, 0);
    expect(sum(carried.map((c) => c.bytesUp))).toBe(sum(requests.map((r) => r[1] ?? 0)));
    expect(sum(carried.map((c) => c.bytesDown))).toBe(sum(requests.map((r) => r[2] ?? 0)));
  });
});
