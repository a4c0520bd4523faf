import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { handleAdmin } from '../../src/admin/routes.js';
import type { AdminHandlers, BackendAction } from '../../src/admin/types.js';

/**
 * The admin API's router from any method, path and Authorization header: always an
 * answer (never a rejection), with a status the API documents, a JSON body for every
 * error, and a mutating request that only reaches its handler with the right token.
 */

const TOKEN = 's3cret';

function handlers(reached: string[]): AdminHandlers {
  return {
    status: () => ({ listeners: [], pools: [] }),
    metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: '' }),
    backend: (pool: string, backend: string, action: BackendAction) => {
      reached.push(action);
      return pool === 'web' && backend === '127.0.0.1:8080' ? { ok: true, pool, backend, state: 'draining' } : { ok: false, error: 'unknown_pool', message: 'no such pool' };
    },
    reload: () => {
      reached.push('reload');
      return Promise.resolve({ ok: true, changes: [] });
    },
  };
}

const segment = fc.oneof(
  fc.constantFrom('pools', 'web', 'backends', '127.0.0.1:8080', '127.0.0.1%3A8080', '%5B%3A%3A1%5D%3A80', 'drain', 'disable', 'enable', 'reload', 'status', 'metrics', 'healthz', '', '..', '%', '%zz', '%00', '%E0%A4%A'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const path = fc.tuple(fc.array(segment, { maxLength: 7 }), fc.option(fc.string({ maxLength: 10 }))).map(([parts, query]) => `/${parts.join('/')}${query === null ? '' : `?${query}`}`);
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'get', 'PATCH'), fc.string({ maxLength: 8 }));
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(`Bearer ${TOKEN}`, `bearer ${TOKEN}`, 'Bearer', 'Bearer ', `Bearer ${TOKEN} `, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, ''),
  fc.string({ maxLength: 40 }),
);

describe('admin requests from any input', () => {
  it('always get an answer with a documented status, and an error always has a JSON code and message', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, authorization, async (m, url, auth) => {
        const response = await handleAdmin({ method: m, url, authorization: auth }, handlers([]), TOKEN);
        expect([200, 400, 401, 404, 405, 500]).toContain(response.status);
        if (response.status >= 400) {
          const body = JSON.parse(response.body) as { error: { code: unknown; message: unknown } };
          expect(body.error.code).toMatch(/^RXLB_(ADMIN|RELOAD)_[A-Z_]+$/);
          expect(typeof body.error.message).toBe('string');
        }
      }),
      { numRuns: 600 },
    );
  });

  it('reach a mutating handler only with the exact bearer token', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/reload', '/pools/web/backends/127.0.0.1:8080/drain', '/pools/web/backends/127.0.0.1%3A8080/enable'), authorization, async (url, auth) => {
        const reached: string[] = [];
        const response = await handleAdmin({ method: 'POST', url, authorization: auth }, handlers(reached), TOKEN);
        const allowed = auth !== undefined && /^bearer s3cret$/i.test(auth.replace(/^(\S+) /, (_, scheme: string) => `${scheme.toLowerCase()} `)) && auth.endsWith(` ${TOKEN}`);
        expect({ status: response.status === 401 ? 401 : 'answered', reached: reached.length > 0 }).toEqual(allowed ? { status: 'answered', reached: true } : { status: 401, reached: false });
      }),
      { numRuns: 300 },
    );
  });
});
