import { once } from 'node:events';
import net from 'node:net';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ActionResult, AdminHandlers, BackendAction, ReloadResult, StatusView } from '../../src/admin/types.js';
import { ListenError } from '../../src/errors.js';
import { adminServer$ } from '../../src/io/admin-http.js';

const STATUS: StatusView = {
  listeners: [{ name: 'web', protocol: 'tcp', address: '127.0.0.1:7070', pool: 'web', active: 1, rejected: { no_backend: 0, denied: 2 } }],
  pools: [{ name: 'web', policy: 'round-robin', backends: [{ address: '127.0.0.1:8080', state: 'up', weight: 1, active: 1, total: 4, failures: 0 }] }],
};
const PROM_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const PROM_BODY = '# TYPE rxlb_config_reloads_total counter\nrxlb_config_reloads_total{result="success"} 0\n';

function fakeHandlers(overrides: Partial<AdminHandlers> = {}) {
  const defaults = {
    status: vi.fn((): StatusView => STATUS),
    metrics: vi.fn(async () => ({ contentType: PROM_TYPE, body: PROM_BODY })),
    backend: vi.fn((pool: string, backend: string, action: BackendAction): ActionResult => {
      if (pool !== 'web') return { ok: false, error: 'unknown_pool', message: `no pool named "${pool}"` };
      if (backend !== '127.0.0.1:8080' && backend !== '[::1]:8080') return { ok: false, error: 'unknown_backend', message: `pool web has no backend ${backend}` };
      return { ok: true, pool, backend, state: action === 'drain' ? 'draining' : action === 'disable' ? 'disabled' : 'up' };
    }),
    reload: vi.fn(async (): Promise<ReloadResult> => ({ ok: true, changes: ['backend added: pool.web 127.0.0.1:8082'] })),
  };
  return Object.assign(defaults, overrides);
}

const subscriptions: Subscription[] = [];
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of subscriptions.splice(0)) s.unsubscribe();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Starts the admin server on 127.0.0.1, port 0, and resolves with its base URL and port once bound. */
async function start(handlers: AdminHandlers = fakeHandlers(), token?: string) {
  const events: { type: string; address: string }[] = [];
  let subscription!: Subscription;
  const address = await new Promise<string>((resolve, reject) => {
    subscription = adminServer$({ host: '127.0.0.1', port: 0 }, handlers, () => token).subscribe({
      next: (e) => {
        events.push(e);
        resolve(e.address);
      },
      error: reject,
    });
    subscriptions.push(subscription);
  });
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return { subscription, address, port, base: `http://${address}`, events };
}

/** Sends raw bytes on one connection and resolves with everything read until `until` matches. */
async function raw(port: number, request: string, until: RegExp): Promise<{ socket: net.Socket; text: string }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  socket.write(request);
  let text = '';
  socket.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (until.test(text)) resolve();
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after: ${text}`)));
  });
  socket.removeAllListeners('close');
  socket.removeAllListeners('error');
  socket.on('error', () => undefined); // a reset when the server closes is expected, not a failure
  return { socket, text };
}

describe('adminServer$', () => {
  it('emits admin-listening once, with the port it picked', async () => {
    const { address, port, events } = await start();
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(port).toBeGreaterThan(0);
    expect(events).toEqual([{ type: 'admin-listening', address }]);
  });

  it('answers GET /healthz, /status and /metrics', async () => {
    const { base } = await start(fakeHandlers(), 's3cret');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(health.headers.get('content-length')).toBe('3');
    expect(await health.text()).toBe('ok\n');

    const status = await fetch(`${base}/status?pretty=1`);
    expect(status.status).toBe(200);
    expect(status.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(status.headers.get('cache-control')).toBe('no-store');
    expect(await status.json()).toEqual(STATUS);

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe(PROM_TYPE);
    expect(await metrics.text()).toBe(PROM_BODY);
  });

  it('answers HEAD with the headers and no body', async () => {
    const { base } = await start();
    const head = await fetch(`${base}/status`, { method: 'HEAD' });
    const get = await fetch(`${base}/status`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(await head.text()).toBe('');
  });

  it('runs backend actions, with the address plain or percent-encoded', async () => {
    const handlers = fakeHandlers();
    const { base } = await start(handlers);
    const plain = await fetch(`${base}/pools/web/backends/127.0.0.1:8080/drain`, { method: 'POST' });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({ pool: 'web', backend: '127.0.0.1:8080', state: 'draining' });
    const encoded = await fetch(`${base}/pools/web/backends/${encodeURIComponent('[::1]:8080')}/disable`, { method: 'POST' });
    expect(await encoded.json()).toEqual({ pool: 'web', backend: '[::1]:8080', state: 'disabled' });
    const bracketed = await fetch(`${base}/pools/web/backends/[::1]:8080/enable`, { method: 'POST' });
    expect(await bracketed.json()).toEqual({ pool: 'web', backend: '[::1]:8080', state: 'up' });
    expect(handlers.backend.mock.calls).toEqual([
      ['web', '127.0.0.1:8080', 'drain'],
      ['web', '[::1]:8080', 'disable'],
      ['web', '[::1]:8080', 'enable'],
    ]);

    const unknown = await fetch(`${base}/pools/api/backends/127.0.0.1%3A8080/drain`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'RXLB_ADMIN_UNKNOWN_POOL', message: 'no pool named "api"' } });
  });

  it('needs the bearer token for POST when one is set, and only for POST', async () => {
    const handlers = fakeHandlers();
    const { base } = await start(handlers, 's3cret');
    const none = await fetch(`${base}/reload`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toEqual({ error: { code: 'RXLB_ADMIN_UNAUTHORIZED', message: 'this request needs an Authorization: Bearer <token> header' } });
    const wrong = await fetch(`${base}/reload`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: 'RXLB_ADMIN_UNAUTHORIZED', message: 'the bearer token is not the configured admin token' } });
    expect(handlers.reload).not.toHaveBeenCalled();

    const right = await fetch(`${base}/reload`, { method: 'POST', headers: { authorization: 'Bearer s3cret' } });
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ result: 'reloaded', changes: ['backend added: pool.web 127.0.0.1:8082'] });
    expect((await fetch(`${base}/status`)).status).toBe(200);
  });

  it('answers a failed reload with 400 and its errors', async () => {
    const errors = ['rxlb.toml:3:1: pool.web.backend[0].weight: must be greater than 0'];
    const { base } = await start(fakeHandlers({ reload: async () => ({ ok: false, errors }) }));
    const response = await fetch(`${base}/reload`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'RXLB_RELOAD_FAILED', message: 'config reload failed with 1 error', errors } });
  });

  it('answers 404, 405 with Allow, and 500 for a handler that throws, and keeps serving', async () => {
    const { base } = await start(
      fakeHandlers({
        status: () => {
          throw new Error('state not ready');
        },
      }),
    );
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'RXLB_ADMIN_NOT_FOUND', message: 'no such path: /nope' } });
    const method = await fetch(`${base}/reload`);
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('POST');
    expect(await method.json()).toEqual({ error: { code: 'RXLB_ADMIN_METHOD', message: 'GET is not allowed on /reload; use POST' } });
    const failed = await fetch(`${base}/status`);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: { code: 'RXLB_ADMIN_INTERNAL', message: 'status failed: state not ready' } });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('drains a request body it ignores, so the next request on the connection is answered', async () => {
    const { port } = await start();
    const request = 'POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{"a":"b"}\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const { text } = await raw(port, request, /\r\n\r\nok\n$/);
    expect(text.match(/^HTTP\/1\.1 \d+/gm)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
  });

  it('closes the port and its keep-alive connections on unsubscribe', async () => {
    const { port, subscription } = await start();
    const { socket } = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', /ok\n$/);
    const closed = once(socket, 'close');
    subscription.unsubscribe();
    await closed;
    const probe = net.connect(port, '127.0.0.1');
    sockets.push(probe);
    const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('closes a connection whose request is still being answered on unsubscribe', async () => {
    const { port, subscription } = await start(fakeHandlers({ metrics: () => new Promise(() => undefined) }));
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the request reaches the server and waits on metrics()
    const closed = once(socket, 'close');
    subscription.unsubscribe();
    await closed;
  });

  it('errors with ListenError naming the address when the port is in use', async () => {
    const taken = net.createServer();
    servers.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    const err = await new Promise<unknown>((resolve) => {
      subscriptions.push(adminServer$({ host: '127.0.0.1', port }, fakeHandlers(), () => undefined).subscribe({ next: () => resolve(undefined), error: resolve }));
    });
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).code).toBe('RXLB_ERR_LISTEN');
    expect((err as ListenError).message).toBe(`admin API: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
  });
});
