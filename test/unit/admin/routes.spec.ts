import { describe, expect, it, vi } from 'vitest';
import { handleAdmin } from '../../../src/admin/routes.js';
import type { ActionResult, AdminHandlers, AdminResponse, BackendAction, ReloadResult, StatusView } from '../../../src/admin/types.js';

const STATUS: StatusView = {
  listeners: [{ name: 'web', protocol: 'tcp', address: '127.0.0.1:7070', pool: 'web', active: 2, rejected: { no_backend: 0, rate_limit: 4 } }],
  pools: [
    {
      name: 'web',
      policy: 'round-robin',
      backends: [
        { address: '127.0.0.1:8080', state: 'up', weight: 1, active: 2, total: 10, failures: 0 },
        { address: '[::1]:8080', state: 'draining', weight: 2, active: 0, total: 3, failures: 1 },
      ],
    },
  ],
};
const PROM_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const PROM_BODY = '# HELP rxlb_config_reloads_total Config reloads.\n# TYPE rxlb_config_reloads_total counter\nrxlb_config_reloads_total{result="success"} 1\n';
const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** Handlers that answer like a balancer with pool `web` and backends 127.0.0.1:8080 and [::1]:8080. */
function fakeHandlers(overrides: Partial<AdminHandlers> = {}) {
  const handlers = {
    status: vi.fn((): StatusView => STATUS),
    metrics: vi.fn(async () => ({ contentType: PROM_TYPE, body: PROM_BODY })),
    backend: vi.fn((pool: string, backend: string, action: BackendAction): ActionResult => {
      if (pool !== 'web') return { ok: false, error: 'unknown_pool', message: `no pool named "${pool}"` };
      if (backend !== '127.0.0.1:8080' && backend !== '[::1]:8080') return { ok: false, error: 'unknown_backend', message: `pool web has no backend ${backend}` };
      const state = action === 'drain' ? 'draining' : action === 'disable' ? 'disabled' : 'up';
      return { ok: true, pool, backend, state };
    }),
    reload: vi.fn(async (): Promise<ReloadResult> => ({ ok: true, changes: ['backend added: pool.web 127.0.0.1:8082'] })),
    ...overrides,
  };
  return handlers;
}

interface Call {
  readonly authorization?: string;
  readonly token?: string;
  readonly handlers?: AdminHandlers;
}

function call(method: string, url: string, options: Call = {}): Promise<AdminResponse> {
  return handleAdmin({ method, url, authorization: options.authorization }, options.handlers ?? fakeHandlers(), options.token);
}

/** The body parsed, after checking that it is one JSON document ending with a newline. */
function json(response: AdminResponse): unknown {
  expect(response.body.endsWith('\n')).toBe(true);
  return JSON.parse(response.body);
}

function error(code: string, message: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message, ...extra } };
}

describe('handleAdmin: GET routes', () => {
  it('answers GET /healthz with 200 ok as plain text', async () => {
    expect(await call('GET', '/healthz')).toEqual({ status: 200, headers: TEXT, body: 'ok\n' });
  });

  it('answers GET /status with the handlers status view as JSON', async () => {
    const handlers = fakeHandlers();
    const response = await call('GET', '/status', { handlers });
    expect(response.status).toBe(200);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(json(response)).toEqual(STATUS);
    expect(handlers.status).toHaveBeenCalledTimes(1);
  });

  it('answers GET /metrics with the registry text under its own content type', async () => {
    const response = await call('GET', '/metrics');
    expect(response).toEqual({ status: 200, headers: { 'content-type': PROM_TYPE, 'cache-control': 'no-store' }, body: PROM_BODY });
  });

  it('ends a metrics body that lacks one with a newline', async () => {
    const handlers = fakeHandlers({ metrics: async () => ({ contentType: PROM_TYPE, body: 'up 1' }) });
    expect((await call('GET', '/metrics', { handlers })).body).toBe('up 1\n');
  });

  it('answers HEAD as GET (the server leaves the body out)', async () => {
    expect(await call('HEAD', '/healthz')).toEqual(await call('GET', '/healthz'));
    expect(await call('HEAD', '/status')).toEqual(await call('GET', '/status'));
    expect(await call('HEAD', '/metrics')).toEqual(await call('GET', '/metrics'));
  });

  it('needs no token for GET, even when one is set', async () => {
    for (const path of ['/healthz', '/status', '/metrics']) {
      expect((await call('GET', path, { token: 's3cret' })).status).toBe(200);
      expect((await call('GET', path, { token: 's3cret', authorization: 'Bearer wrong' })).status).toBe(200);
    }
  });

  it('ignores the query string', async () => {
    expect(json(await call('GET', '/status?verbose=1&x=%ZZ'))).toEqual(STATUS);
    expect((await call('GET', '/healthz?'))).toEqual({ status: 200, headers: TEXT, body: 'ok\n' });
  });

  it('accepts an absolute-form request target', async () => {
    expect(json(await call('GET', 'http://127.0.0.1:9901/status?x=1'))).toEqual(STATUS);
  });
});

describe('handleAdmin: backend actions', () => {
  it.each([
    ['drain', 'draining'],
    ['disable', 'disabled'],
    ['enable', 'up'],
  ] as const)('POST .../%s calls the handler and answers with the new state', async (action, state) => {
    const handlers = fakeHandlers();
    const response = await call('POST', `/pools/web/backends/127.0.0.1:8080/${action}`, { handlers });
    expect(response.status).toBe(200);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(json(response)).toEqual({ pool: 'web', backend: '127.0.0.1:8080', state });
    expect(handlers.backend).toHaveBeenCalledTimes(1);
    expect(handlers.backend).toHaveBeenCalledWith('web', '127.0.0.1:8080', action);
  });

  it.each([
    ['/pools/web/backends/127.0.0.1:8080/drain', '127.0.0.1:8080'],
    ['/pools/web/backends/127.0.0.1%3A8080/drain', '127.0.0.1:8080'],
    ['/pools/web/backends/127.0.0.1%3a8080/drain', '127.0.0.1:8080'],
    ['/pools/web/backends/[::1]:8080/drain', '[::1]:8080'],
    ['/pools/web/backends/%5B%3A%3A1%5D%3A8080/drain', '[::1]:8080'],
    ['/pools/%77eb/backends/%5B::1%5D:8080/drain?x=1', '[::1]:8080'],
  ])('percent-decodes the path segments of %s', async (url, backend) => {
    const handlers = fakeHandlers();
    const response = await call('POST', url, { handlers });
    expect(json(response)).toEqual({ pool: 'web', backend, state: 'draining' });
    expect(handlers.backend).toHaveBeenCalledWith('web', backend, 'drain');
  });

  it('decodes %2F inside a segment instead of splitting on it', async () => {
    const handlers = fakeHandlers();
    const response = await call('POST', '/pools/a%2Fb/backends/127.0.0.1:8080/enable', { handlers });
    expect(handlers.backend).toHaveBeenCalledWith('a/b', '127.0.0.1:8080', 'enable');
    expect(response.status).toBe(404);
    expect(json(response)).toEqual(error('RXLB_ADMIN_UNKNOWN_POOL', 'no pool named "a/b"'));
  });

  it('answers 404 with the handlers message for an unknown pool or backend', async () => {
    const pool = await call('POST', '/pools/api/backends/127.0.0.1:8080/drain');
    expect(pool.status).toBe(404);
    expect(pool.headers).toEqual(JSON_HEADERS);
    expect(json(pool)).toEqual(error('RXLB_ADMIN_UNKNOWN_POOL', 'no pool named "api"'));
    const backend = await call('POST', '/pools/web/backends/127.0.0.1:9999/disable');
    expect(backend.status).toBe(404);
    expect(backend.headers).toEqual(JSON_HEADERS);
    expect(json(backend)).toEqual(error('RXLB_ADMIN_UNKNOWN_BACKEND', 'pool web has no backend 127.0.0.1:9999'));
  });

  it('answers 400 for a path segment that is not valid percent-encoding, without calling the handler', async () => {
    const handlers = fakeHandlers();
    const response = await call('POST', '/pools/web/backends/127.0.0.1%3/drain?q', { handlers });
    expect(response.status).toBe(400);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(json(response)).toEqual(error('RXLB_ADMIN_BAD_REQUEST', 'malformed percent-encoding in path: /pools/web/backends/127.0.0.1%3/drain'));
    expect(handlers.backend).not.toHaveBeenCalled();
  });
});

describe('handleAdmin: reload', () => {
  it('answers 200 with the changes', async () => {
    const response = await call('POST', '/reload');
    expect(response.status).toBe(200);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(json(response)).toEqual({ result: 'reloaded', changes: ['backend added: pool.web 127.0.0.1:8082'] });
  });

  it('answers 200 with no changes as an empty list', async () => {
    const handlers = fakeHandlers({ reload: async () => ({ ok: true, changes: [] }) });
    expect(json(await call('POST', '/reload', { handlers }))).toEqual({ result: 'reloaded', changes: [] });
  });

  it('answers 400 with every error', async () => {
    const errors = ['rxlb.toml:6:1: pool.web.polcy: unknown key "polcy"; did you mean "policy"?', 'rxlb.toml:13:1: pool.web.backend[1].weight: must be greater than 0'];
    const handlers = fakeHandlers({ reload: async () => ({ ok: false, errors }) });
    const response = await call('POST', '/reload', { handlers });
    expect(response.status).toBe(400);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(json(response)).toEqual(error('RXLB_RELOAD_FAILED', 'config reload failed with 2 errors', { errors }));
  });

  it('counts one error in the singular', async () => {
    const handlers = fakeHandlers({ reload: async () => ({ ok: false, errors: ['rxlb.toml: cannot read file'] }) });
    expect(json(await call('POST', '/reload', { handlers }))).toEqual(error('RXLB_RELOAD_FAILED', 'config reload failed with 1 error', { errors: ['rxlb.toml: cannot read file'] }));
  });
});

describe('handleAdmin: the admin token', () => {
  const mutating = ['/reload', '/pools/web/backends/127.0.0.1:8080/drain', '/pools/web/backends/127.0.0.1:8080/disable', '/pools/web/backends/127.0.0.1:8080/enable'];
  const missing = error('RXLB_ADMIN_UNAUTHORIZED', 'this request needs an Authorization: Bearer <token> header');
  const wrong = error('RXLB_ADMIN_UNAUTHORIZED', 'the bearer token is not the configured admin token');
  const unauthorizedHeaders = { ...JSON_HEADERS, 'www-authenticate': 'Bearer' };

  it.each(mutating)('POST %s without a token set needs no Authorization', async (path) => {
    expect((await call('POST', path)).status).toBe(200);
    expect((await call('POST', path, { authorization: 'Bearer anything' })).status).toBe(200);
  });

  it.each(mutating)('POST %s with a token set answers 401 without the header, and calls no handler', async (path) => {
    const handlers = fakeHandlers();
    const response = await call('POST', path, { token: 's3cret', handlers });
    expect(response.status).toBe(401);
    expect(response.headers).toEqual(unauthorizedHeaders);
    expect(json(response)).toEqual(missing);
    expect(handlers.backend).not.toHaveBeenCalled();
    expect(handlers.reload).not.toHaveBeenCalled();
  });

  it.each(mutating)('POST %s with a wrong token answers 401, and calls no handler', async (path) => {
    for (const authorization of ['Bearer wrong', 'Bearer s3cre', 'Bearer s3crets', 'Bearer S3CRET', 'Bearer x']) {
      const handlers = fakeHandlers();
      const response = await call('POST', path, { token: 's3cret', authorization, handlers });
      expect(response.status).toBe(401);
      expect(response.headers).toEqual(unauthorizedHeaders);
      expect(json(response)).toEqual(wrong);
      expect(handlers.backend).not.toHaveBeenCalled();
      expect(handlers.reload).not.toHaveBeenCalled();
    }
  });

  it.each(mutating)('POST %s with the right token goes through', async (path) => {
    expect((await call('POST', path, { token: 's3cret', authorization: 'Bearer s3cret' })).status).toBe(200);
  });

  it('takes the scheme in any case, with one or more spaces', async () => {
    for (const authorization of ['bearer s3cret', 'BEARER s3cret', 'Bearer   s3cret']) {
      expect((await call('POST', '/reload', { token: 's3cret', authorization })).status).toBe(200);
    }
  });

  it('refuses other schemes and a bare scheme as missing', async () => {
    for (const authorization of ['s3cret', 'Basic czNjcmV0', 'Bearer', 'Bearers3cret', '']) {
      const response = await call('POST', '/reload', { token: 's3cret', authorization });
      expect(response.status).toBe(401);
      expect(json(response)).toEqual(missing);
    }
  });

  it('compares a token with spaces or non-ASCII in it whole', async () => {
    expect((await call('POST', '/reload', { token: 'pass phrase ü', authorization: 'Bearer pass phrase ü' })).status).toBe(200);
    expect((await call('POST', '/reload', { token: 'pass phrase ü', authorization: 'Bearer pass phrase u' })).status).toBe(401);
  });

  it('refuses every mutating request when the token is set but empty', async () => {
    for (const authorization of [undefined, 'Bearer', 'Bearer ', 'Bearer x']) {
      expect((await call('POST', '/reload', { token: '', authorization })).status).toBe(401);
    }
  });
});

describe('handleAdmin: unknown paths and methods', () => {
  it.each([
    '/',
    '',
    '*',
    '/nope',
    '/status/',
    '//status',
    '/healthz/x',
    '/pools',
    '/pools/web',
    '/pools/web/backends',
    '/pools/web/backends/127.0.0.1:8080',
    '/pools/web/backends/127.0.0.1:8080/restart',
    '/pools/web/backends/127.0.0.1:8080/drain/now',
    '/pools/web/servers/127.0.0.1:8080/drain',
    '/pools//backends/127.0.0.1:8080/drain',
    '/pools/web/backends//drain',
    '/Status',
  ])('answers 404 for %j', async (url) => {
    for (const method of ['GET', 'POST']) {
      const response = await call(method, url, { token: 's3cret' });
      expect(response.status).toBe(404);
      expect(response.headers).toEqual(JSON_HEADERS);
      expect(json(response)).toEqual(error('RXLB_ADMIN_NOT_FOUND', `no such path: ${url}`));
    }
  });

  it('names the path without its query in the 404 message', async () => {
    expect(json(await call('GET', '/nope?token=s3cret'))).toEqual(error('RXLB_ADMIN_NOT_FOUND', 'no such path: /nope'));
  });

  it.each([
    ['POST', '/healthz', 'GET, HEAD', 'GET or HEAD'],
    ['PUT', '/status', 'GET, HEAD', 'GET or HEAD'],
    ['DELETE', '/metrics', 'GET, HEAD', 'GET or HEAD'],
    ['GET', '/reload', 'POST', 'POST'],
    ['get', '/status', 'GET, HEAD', 'GET or HEAD'],
    ['GET', '/pools/web/backends/127.0.0.1:8080/drain', 'POST', 'POST'],
    ['OPTIONS', '/pools/web/backends/127.0.0.1:8080/enable', 'POST', 'POST'],
  ])('answers %s %s with 405 and Allow: %s, before asking for a token', async (method, url, allow, use) => {
    const handlers = fakeHandlers();
    const response = await call(method, url, { token: 's3cret', handlers });
    expect(response.status).toBe(405);
    expect(response.headers).toEqual({ ...JSON_HEADERS, allow });
    expect(json(response)).toEqual(error('RXLB_ADMIN_METHOD', `${method} is not allowed on ${url}; use ${use}`));
    for (const fn of Object.values(handlers)) expect(fn).not.toHaveBeenCalled();
  });
});

describe('handleAdmin: failing handlers', () => {
  const boom = () => {
    throw new Error('boom');
  };

  it.each([
    ['GET', '/status', { status: boom }, 'status failed: boom'],
    ['GET', '/metrics', { metrics: async () => boom() }, 'metrics failed: boom'],
    ['GET', '/metrics', { metrics: boom }, 'metrics failed: boom'],
    ['POST', '/pools/web/backends/127.0.0.1:8080/drain', { backend: boom }, 'drain failed: boom'],
    ['POST', '/pools/web/backends/127.0.0.1:8080/enable', { backend: boom }, 'enable failed: boom'],
    ['POST', '/reload', { reload: () => Promise.reject(new Error('boom')) }, 'reload failed: boom'],
    ['POST', '/reload', { reload: boom }, 'reload failed: boom'],
  ] as const)('%s %s answers 500 when its handler throws', async (method, url, overrides, message) => {
    const response = await call(method, url, { handlers: fakeHandlers(overrides) });
    expect(response.status).toBe(500);
    expect(response.headers).toEqual(JSON_HEADERS);
    expect(json(response)).toEqual(error('RXLB_ADMIN_INTERNAL', message));
  });

  it('answers 500 for a thrown non-Error', async () => {
    const handlers = fakeHandlers({
      status: () => {
        throw 'not an error';
      },
    });
    expect(json(await call('GET', '/status', { handlers }))).toEqual(error('RXLB_ADMIN_INTERNAL', 'status failed: not an error'));
  });

  it('answers 500 for a status view that cannot be written as JSON', async () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    const handlers = fakeHandlers({ status: () => cyclic as unknown as StatusView });
    const response = await call('GET', '/status', { handlers });
    expect(response.status).toBe(500);
    expect((json(response) as { error: { code: string } }).error.code).toBe('RXLB_ADMIN_INTERNAL');
  });
});
