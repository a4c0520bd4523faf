import http from 'node:http';
import type net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { RESPONSE_503 } from '../../src/io/tcp-client.js';
import { type LogRecord, type Rxlb, connect, killAll, listeningPort, readAll, refusedPort, runRxlb, startRxlb, writeTemp } from './harness.js';

/**
 * A tiny HTTP backend: `GET /` answers its name, its health path answers
 * `healthStatus`, anything else 404. It can be stopped (gracefully: requests under way
 * finish) and started again on the same port.
 */
interface HttpBackend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  healthStatus: number;
  /** Requests for `/` answered so far. */
  served: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const backends: HttpBackend[] = [];

async function httpBackend(name: string, healthPath = '/healthz'): Promise<HttpBackend> {
  let server: http.Server | undefined;
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server = http.createServer((req, res) => {
        let status = 404;
        let body = 'not found\n';
        if (req.url === healthPath) [status, body] = [backend.healthStatus, `health ${backend.healthStatus}\n`];
        else if (req.url === '/') {
          backend.served += 1;
          [status, body] = [200, `${name}\n`];
        }
        res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server!.address() as net.AddressInfo).port));
    });
  const port = await listen(0);
  const backend: HttpBackend = {
    name,
    port,
    address: `127.0.0.1:${port}`,
    healthStatus: 200,
    served: 0,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server?.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
    start: async () => void (await listen(port)),
  };
  backends.push(backend);
  return backend;
}

/** GET / through rxlb on a fresh connection: the status and body. */
function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * Steady traffic: one request after another (a few ms apart), each on a new
 * connection. Records who answered and every failure; can pause between requests.
 */
class Traffic {
  readonly answeredBy: string[] = [];
  readonly failures: string[] = [];
  private current: Promise<void> = Promise.resolve();
  private paused = false;
  private stopped = false;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  private readonly done: Promise<void>;

  constructor(private readonly port: number) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.paused) {
        await this.gate;
        continue;
      }
      this.current = get(this.port).then(
        ({ status, body }) => void (status === 200 ? this.answeredBy.push(body.trim()) : this.failures.push(`status ${status}: ${body}`)),
        (err: unknown) => void this.failures.push(String(err)),
      );
      await this.current;
      for (const w of [...this.waiters]) {
        if (w.check()) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      await delay(5); // pacing, so the log stays readable: not waiting for anything
    }
  }

  /** Resolves once `check` holds after some response. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }

  /** The number of answers `n` more requests from now. */
  after(n: number): Promise<void> {
    const target = this.answeredBy.length + this.failures.length + n;
    return this.until(() => this.answeredBy.length + this.failures.length >= target);
  }

  /** Resolves once no request is under way and none will start until `resume`. */
  async pause(): Promise<void> {
    this.paused = true;
    this.gate = new Promise((resolve) => (this.open = resolve));
    await this.current;
  }

  resume(): void {
    this.paused = false;
    this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await this.done;
  }
}

const traffics: Traffic[] = [];
function traffic(port: number): Traffic {
  const t = new Traffic(port);
  traffics.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(traffics.splice(0).map((t) => t.stop()));
  await killAll();
  await Promise.all(backends.splice(0).map((b) => b.stop()));
});

const file = (text: string): string => writeTemp(text);

/** One listener `web` on a port rxlb picks, in front of these backends, checked over HTTP fast. */
function fastChecks(addresses: readonly string[]): string {
  return [
    '[[listener]]',
    'name = "web"',
    'bind = "127.0.0.1:0"',
    'pool = "web"',
    '',
    '[pool.web]',
    'on_no_backend = "http-503"',
    '',
    '[pool.web.health]',
    'kind = "http"',
    'path = "/healthz"',
    'interval = "100ms"',
    'timeout = "100ms"',
    'rise = 2',
    'fall = 2',
    ...addresses.flatMap((a) => ['', '[[pool.web.backend]]', `address = "${a}"`]),
    '',
  ].join('\n');
}

const stateRecord = (backend: HttpBackend, to: string) => (r: LogRecord) => r.msg === 'backend state' && r.backend === backend.address && r.to === to;

/** The trail records (`connecting`, at -vv) that sent a connection to `backend` after record `from`. */
function attemptsAfter(rxlb: Rxlb, from: LogRecord, backend: HttpBackend): LogRecord[] {
  return rxlb.records.slice(rxlb.records.indexOf(from) + 1).filter((r) => r.msg === 'connecting' && r.backend === backend.address);
}

/** Everything rxlb sends on a raw connection that asks GET / and then waits. */
async function rawAnswer(port: number): Promise<string> {
  const client = await connect(port);
  client.write('GET / HTTP/1.1\r\nHost: rxlb.test\r\n\r\n');
  return (await readAll(client)).toString();
}

describe('active health checks, through the CLI', () => {
  it('steers steady traffic around a stopped backend, takes it back after rise passes, and answers 503 once none is up', async () => {
    const a = await httpBackend('a');
    const b = await httpBackend('b');
    const rxlb = startRxlb(['-c', file(fastChecks([a.address, b.address])), '-vv']);
    const load = traffic(await listeningPort(rxlb, 'web'));
    await load.until(() => a.served > 0 && b.served > 0);

    // b goes away; until checks notice, connects to it are refused and retried on a
    await load.pause();
    await b.stop();
    const stopped = performance.now();
    load.resume();
    const down = await rxlb.waitFor(stateRecord(b, 'down'), 5_000);
    const noticedMs = performance.now() - stopped;
    expect(down).toMatchObject({ level: 'info', pool: 'web', from: 'up', to: 'down', cause: 'health', detail: 'connection refused' });
    expect(noticedMs).toBeLessThan(2_000); // fall 2 x interval 100ms + timeout 100ms, with room for a busy machine
    await load.after(20);
    expect(attemptsAfter(rxlb, down, b)).toEqual([]);
    expect(load.failures).toEqual([]);

    // back on the same port: up only after two passing checks in a row
    const servedBefore = b.served;
    await b.start();
    const restarted = performance.now();
    const up = await rxlb.waitFor(stateRecord(b, 'up'), 5_000);
    expect(performance.now() - restarted).toBeGreaterThanOrEqual(90); // two checks, 100ms apart
    expect(up).toMatchObject({ pool: 'web', from: 'down', to: 'up', cause: 'health', detail: 'status 200' });
    await load.until(() => b.served > servedBefore);
    await load.stop();
    expect(load.failures).toEqual([]);

    // nothing up: the minimal 503
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([rxlb.waitFor(stateRecord(a, 'down'), 5_000), rxlb.waitFor(stateRecord(b, 'down'), 5_000)]);
    expect(await rawAnswer(await listeningPort(rxlb, 'web'))).toBe(RESPONSE_503);
  });

  it('holds a backend down while its health check answers 500, though its port accepts', async () => {
    const a = await httpBackend('a');
    const sick = await httpBackend('sick');
    sick.healthStatus = 500;
    const rxlb = startRxlb(['-c', file(fastChecks([a.address, sick.address])), '-vv']);
    const port = await listeningPort(rxlb, 'web');
    const down = await rxlb.waitFor(stateRecord(sick, 'down'), 5_000);
    expect(down).toMatchObject({ from: 'up', to: 'down', cause: 'health', detail: 'status 500' });
    const servedBefore = sick.served;
    const answers = [];
    for (let i = 0; i < 10; i += 1) answers.push((await get(port)).body.trim());
    expect(answers).toEqual(Array(10).fill('a'));
    expect(sick.served).toBe(servedBefore);
    expect(attemptsAfter(rxlb, down, sick)).toEqual([]);
    // the port itself still accepts: only the check says no
    (await connect(sick.port)).destroy();
    // and the checks keep nothing alive after SIGTERM
    expect(await rxlb.stop()).toBe(0);
  });
});

describe('the targets layout', () => {
  it('checks each target on its own endpoint, answers 503 when none is healthy, and takes a target back at its first pass', async () => {
    const a = await httpBackend('a', '/healthz');
    const b = await httpBackend('b', '/status/health');
    b.healthStatus = 500;
    const listen = `127.0.0.1:${await refusedPort()}`;
    const path = file(
      [`[[targets]]`, `address = "${a.address}"`, `health_check_endpoint = "/healthz"`, '', `[[targets]]`, `address = "${b.address}"`, `health_check_endpoint = "/status/health"`, ''].join('\n'),
    );
    const check = await runRxlb(['check', '-c', path, '--listen', listen]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('on_no_backend http-503');
    expect(check.stdout).toContain("health: http GET each backend's health path expecting 2xx, every 5s, timeout 2s, rise 1, fall 1");
    expect(check.stdout).toContain(`backend ${b.address}: weight 1, max_connections unlimited, health path /status/health`);

    const rxlb = startRxlb(['-c', path, '--listen', listen]);
    const port = await listeningPort(rxlb, 'targets');
    // the first checks run within half a second (a tenth of the 5s interval): b fails its first
    expect(await rxlb.waitFor(stateRecord(b, 'down'), 3_000)).toMatchObject({ pool: 'targets', cause: 'health', detail: 'status 500' });
    expect((await get(port)).body).toBe('a\n');
    expect((await get(port)).body).toBe('a\n');

    // a goes away: out at its next check (at most 5s), and with nothing healthy, 503
    await a.stop();
    expect(await rxlb.waitFor(stateRecord(a, 'down'), 6_000)).toMatchObject({ cause: 'health', detail: 'connection refused' });
    expect(await rawAnswer(port)).toBe(RESPONSE_503);

    // b heals: back at its first pass
    b.healthStatus = 200;
    expect(await rxlb.waitFor(stateRecord(b, 'up'), 6_000)).toMatchObject({ from: 'down', to: 'up', cause: 'health', detail: 'status 200' });
    expect((await get(port)).body).toBe('b\n');
  }, 25_000);
});
