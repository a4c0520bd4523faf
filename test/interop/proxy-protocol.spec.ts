import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Rxlb, connect, echo, listeningPort, readAll, startRxlb, startServer as startTcpServer, type TestServer, writeTemp } from '../integration/harness.js';
import { cleanUp, freePort, requireBinaries, scratchDir, type Server, startServer, waitForPort, which } from './servers.js';

/**
 * The `load_module` line nginx needs for `stream {}`: '' when it is built in, undefined
 * when it is a dynamic module that is not installed (Debian: libnginx-mod-stream).
 */
function streamModule(nginx: string): string | undefined {
  const run = spawnSync(nginx, ['-V'], { encoding: 'utf8' });
  const flags = `${run.stdout}${run.stderr}`;
  if (/--with-stream(\s|$)/m.test(flags)) return '';
  const module = ['/usr/lib/nginx/modules/ngx_stream_module.so', '/usr/lib64/nginx/modules/ngx_stream_module.so', '/usr/share/nginx/modules/ngx_stream_module.so'].find((m) => existsSync(m));
  return /--with-stream=dynamic/.test(flags) && module !== undefined ? `load_module ${module};` : undefined;
}

/** An nginx `stream` server that reads a PROXY header and answers with the client it names, then closes. */
async function startNginxStream(nginx: string, module: string, root: string): Promise<{ address: string; server: Server }> {
  const dir = join(root, 'nginx');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      module,
      'daemon off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 64; }',
      'stream {',
      '  server {',
      `    listen 127.0.0.1:${port} proxy_protocol;`,
      '    return "$proxy_protocol_addr:$proxy_protocol_port\\n";',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const server = startServer(nginx, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`]);
  await waitForPort(port, 10_000, server);
  return { address: `127.0.0.1:${port}`, server };
}

/** HAProxy in `mode tcp` with one `listen` section per entry: its port, and the `server` line's options towards `to`. */
async function startHaproxy(haproxy: string, root: string, to: string, sends: readonly string[]): Promise<{ ports: number[]; server: Server }> {
  const dir = join(root, 'haproxy');
  mkdirSync(dir, { recursive: true });
  const ports: number[] = [];
  for (let i = 0; i < sends.length; i += 1) ports.push(await freePort());
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    [
      'global',
      '  nbthread 1',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      ...sends.flatMap((send, i) => [`listen front${i}`, `  bind 127.0.0.1:${ports[i]}`, `  server rxlb ${to} ${send}`]),
      '',
    ].join('\n'),
  );
  const server = startServer(haproxy, ['-db', '-f', conf]);
  for (const port of ports) await waitForPort(port, 10_000, server);
  return { ports, server };
}

/** Connects to `port`, sends `text` and ends, and reads the answer; `from` is the client's own port. */
async function ask(port: number, text: string): Promise<{ answer: string; from: number }> {
  const socket: net.Socket = await connect(port);
  const from = socket.localPort ?? 0;
  const answer = readAll(socket);
  socket.end(text);
  return { answer: (await answer).toString(), from };
}

function rxlbWith(lines: readonly string[]): Rxlb {
  return startRxlb(['-c', writeTemp(lines.join('\n'))]);
}

const closedFrom = (rxlb: Rxlb, client: string) => rxlb.waitFor((r) => r.msg === 'connection closed' && r.client === client);

describe('PROXY protocol with nginx and HAProxy', { timeout: 60_000 }, () => {
  if (!requireBinaries('nginx or haproxy', ['nginx', 'haproxy'], 'nginx haproxy')) return;
  const nginx = which('nginx') ?? 'nginx';
  const haproxy = which('haproxy') ?? 'haproxy';
  const module = streamModule(nginx);
  if (module === undefined) {
    it('is skipped: nginx has no stream module', () => {
      const reason = 'interop: nginx stream module not installed (apt-get install libnginx-mod-stream): skipped';
      console.warn(reason);
      if (process.env.CI === 'true') expect.fail(`${reason}, but CI=true and npm test (scripts/test-deps.sh) should have installed it`);
    });
    return;
  }
  cleanUp();
  const root = scratchDir('proxy');
  // nginx workers run as an unprivileged user when nginx is started as root
  chmodSync(root, 0o755);
  const echoes: TestServer[] = [];

  it('nginx `listen ... proxy_protocol` behind rxlb reports the real client, from a v1 and from a v2 header', async () => {
    const stream = await startNginxStream(nginx, module, root);
    try {
      for (const version of ['v1', 'v2']) {
        const rxlb = rxlbWith(['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "nginx"', '[pool.nginx]', `proxy_protocol = "${version}"`, '[[pool.nginx.backend]]', `address = "${stream.address}"`]);
        const port = await listeningPort(rxlb, 'edge');
        const { answer, from } = await ask(port, '');
        expect(answer, version).toBe(`127.0.0.1:${from}\n`);
        expect(await closedFrom(rxlb, `127.0.0.1:${from}`)).toMatchObject({ backend: stream.address, bytes_down: answer.length });
        await rxlb.stop();
      }
    } finally {
      await stream.server.stop();
    }
  });

  it("HAProxy with send-proxy and send-proxy-v2 in front of rxlb: rxlb's record names the first client, and the bytes pass", async () => {
    const backend = await startTcpServer(echo);
    echoes.push(backend);
    const rxlb = rxlbWith(['[[listener]]', 'name = "edge"', 'bind = "127.0.0.1:0"', 'pool = "app"', 'proxy_protocol = "accept"', '[[pool.app.backend]]', `address = "${backend.address}"`]);
    const port = await listeningPort(rxlb, 'edge');
    const front = await startHaproxy(haproxy, root, `127.0.0.1:${port}`, ['send-proxy', 'send-proxy-v2']);
    try {
      for (const [i, haproxyPort] of front.ports.entries()) {
        const { answer, from } = await ask(haproxyPort, `hello ${i}`);
        expect(answer).toBe(`hello ${i}`);
        const record = await closedFrom(rxlb, `127.0.0.1:${from}`);
        // the peer is HAProxy's own connection to rxlb
        expect(record).toMatchObject({ listener: 'edge', backend: backend.address, bytes_up: answer.length, bytes_down: answer.length });
        expect(record.peer).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(record.peer).not.toBe(`127.0.0.1:${from}`);
      }
    } finally {
      await front.server.stop();
      await Promise.all(echoes.splice(0).map((s) => s.close()));
    }
  });

  it('HAProxy -> rxlb -> nginx carries the first client end to end', async () => {
    const stream = await startNginxStream(nginx, module, root);
    const rxlb = rxlbWith([
      '[[listener]]',
      'name = "middle"',
      'bind = "127.0.0.1:0"',
      'pool = "nginx"',
      'proxy_protocol = "accept"',
      'proxy_trusted = ["127.0.0.1"]',
      '[pool.nginx]',
      'proxy_protocol = "v2"',
      '[[pool.nginx.backend]]',
      `address = "${stream.address}"`,
    ]);
    const port = await listeningPort(rxlb, 'middle');
    const front = await startHaproxy(haproxy, root, `127.0.0.1:${port}`, ['send-proxy-v2']);
    try {
      const { answer, from } = await ask(front.ports[0]!, '');
      // nginx names the client of HAProxy, two hops away
      expect(answer).toBe(`127.0.0.1:${from}\n`);
      expect(await closedFrom(rxlb, `127.0.0.1:${from}`)).toMatchObject({ listener: 'middle', backend: stream.address });
    } finally {
      await front.server.stop();
      await stream.server.stop();
    }
  });
});
