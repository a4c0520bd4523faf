import type net from 'node:net';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBE_READ_LIMIT, healthProbe$ } from '../../src/io/health-probe.js';
import type { ProbeTarget } from '../../src/streams/ports.js';
import { type TestServer, refusedPort, startServer } from './harness.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handle: (socket: net.Socket) => void): Promise<TestServer> {
  const s = await startServer(handle);
  servers.push(s);
  return s;
}

function target(port: number, extra: Partial<ProbeTarget> = {}): ProbeTarget {
  return { kind: 'http', host: '127.0.0.1', port, path: '/healthz', hostHeader: `app.test:${port}`, expectStatus: [[200, 299]], ...extra };
}

/** Answers every request with this raw text once the request head has arrived; records the heads. */
function answering(raw: string, heads: string[] = []) {
  return (socket: net.Socket): void => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        heads.push(head);
        socket.end(raw);
      }
    });
  };
}

describe('healthProbe$', () => {
  it('tcp with send_proxy v2: sends the 16 bytes of a v2 LOCAL header, then passes and closes', async () => {
    const received: Buffer[] = [];
    let ended!: () => void;
    const end = new Promise<void>((resolve) => (ended = resolve));
    const s = await server((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)).on('end', ended));
    expect(await firstValueFrom(healthProbe$(target(s.port, { kind: 'tcp', sendProxy: 'v2' })))).toEqual({ pass: true, detail: 'connected' });
    await end;
    expect(Buffer.concat(received).toString('hex')).toBe('0d0a0d0a000d0a515549540a' + '20' + '00' + '0000');
  });

  it("http with send_proxy v1: sends a PROXY TCP4 line naming the check's own connection, then the request, in one write", async () => {
    const heads: string[] = [];
    let peer = '';
    const s = await server((socket) => {
      peer = `${socket.remoteAddress} ${socket.localAddress} ${socket.remotePort} ${socket.localPort}`;
      answering('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', heads)(socket);
    });
    expect(await firstValueFrom(healthProbe$(target(s.port, { sendProxy: 'v1' })))).toEqual({ pass: true, detail: 'status 200' });
    const [line, requestLine] = heads[0]!.split('\r\n');
    expect(line).toBe(`PROXY TCP4 ${peer}`);
    expect(peer).toMatch(new RegExp(`^127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${s.port}$`));
    expect(requestLine).toBe('GET /healthz HTTP/1.1');
  });

  it('tcp: passes once connected, then closes its connection', async () => {
    let ended!: () => void;
    const end = new Promise<void>((resolve) => (ended = resolve));
    const s = await server((socket) => socket.on('end', ended).resume());
    expect(await lastValueFrom(healthProbe$(target(s.port, { kind: 'tcp' })).pipe(toArray()))).toEqual([{ pass: true, detail: 'connected' }]);
    await end;
    expect(s.accepted()).toBe(1);
  });

  it('tcp and http: a refused connection is a failed result, not an error', async () => {
    const port = await refusedPort();
    expect(await firstValueFrom(healthProbe$(target(port, { kind: 'tcp' })))).toEqual({ pass: false, detail: 'connection refused' });
    expect(await firstValueFrom(healthProbe$(target(port)))).toEqual({ pass: false, detail: 'connection refused' });
  });

  it('http: sends GET path with Host and Connection: close, and passes on an expected status', async () => {
    const heads: string[] = [];
    const s = await server(answering('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n', heads));
    expect(await firstValueFrom(healthProbe$(target(s.port, { path: '/ready?deep=1' })))).toEqual({ pass: true, detail: 'status 204' });
    const [requestLine, ...headers] = heads[0]!.trimEnd().split('\r\n');
    expect(requestLine).toBe('GET /ready?deep=1 HTTP/1.1');
    expect(headers).toEqual(expect.arrayContaining([`Host: app.test:${s.port}`, 'Connection: close']));
  });

  it('http: fails on a status outside expect_status, and passes with a range that allows it', async () => {
    const s = await server(answering('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops'));
    expect(await firstValueFrom(healthProbe$(target(s.port)))).toEqual({ pass: false, detail: 'status 500' });
    expect(await firstValueFrom(healthProbe$(target(s.port, { expectStatus: [[200, 299], [500, 500]] })))).toEqual({ pass: true, detail: 'status 500' });
  });

  it('http: fails when the answer is not HTTP, never comes before close, or has no status line within the read limit', async () => {
    const garbage = await server(answering('SSH-2.0-OpenSSH\r\n'));
    expect(await firstValueFrom(healthProbe$(target(garbage.port)))).toEqual({ pass: false, detail: 'not an HTTP status line: "SSH-2.0-OpenSSH"' });
    const silent = await server((socket) => socket.on('data', () => socket.end()));
    expect(await firstValueFrom(healthProbe$(target(silent.port)))).toEqual({ pass: false, detail: 'closed without a response' });
    const endless = await server(answering('x'.repeat(PROBE_READ_LIMIT * 4)));
    expect(await firstValueFrom(healthProbe$(target(endless.port)))).toEqual({ pass: false, detail: `no status line in the first ${PROBE_READ_LIMIT} bytes` });
  });

  it('destroys its socket when unsubscribed before an answer (as a timeout does)', async () => {
    let ended!: () => void;
    const end = new Promise<void>((resolve) => (ended = resolve));
    let unsubscribe = (): void => undefined;
    const s = await server((socket) => {
      socket.on('end', ended).resume(); // the server waits: no answer ever comes
      unsubscribe();
    });
    const subscription = healthProbe$(target(s.port)).subscribe();
    unsubscribe = () => subscription.unsubscribe();
    await end;
    expect(subscription.closed).toBe(true);
  });
});
