import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminErrorCode } from './error-codes.js';
import type { ActionResult, AdminHandlers, AdminRequest, AdminResponse, BackendAction, ReloadResult } from './types.js';

/**
 * The admin API as a pure function from a request to a response: no sockets, so every
 * route, status code and header is tested without a server (`src/io/admin-http.ts`
 * only carries requests here and responses back).
 *
 * 1. Take the path from the request target (query and fragment ignored) and
 *    percent-decode each segment after splitting, so `%2F` stays inside its segment.
 * 2. No route for the path: 404. A route, but not for this method: 405 with `Allow`.
 * 3. A mutating request (POST) when a token is set needs `Authorization: Bearer <token>`,
 *    compared in constant time: 401 with `WWW-Authenticate: Bearer` otherwise.
 * 4. Call the handler; a handler that throws or rejects answers 500, never a crash.
 */
export async function handleAdmin(request: AdminRequest, handlers: AdminHandlers, token: string | undefined): Promise<AdminResponse> {
  const segments = pathSegments(request.url);
  if (segments === undefined) return errorResponse(400, 'RXLB_ADMIN_BAD_REQUEST', `malformed percent-encoding in path: ${pathForMessage(request.url)}`);
  const route = matchRoute(segments);
  if (route === undefined) return errorResponse(404, 'RXLB_ADMIN_NOT_FOUND', `no such path: ${pathForMessage(request.url)}`);
  if (!route.methods.includes(request.method)) {
    return errorResponse(405, 'RXLB_ADMIN_METHOD', `${request.method} is not allowed on ${pathForMessage(request.url)}; use ${route.methods.join(' or ')}`, {
      allow: route.methods.join(', '),
    });
  }
  if (route.mutates && token !== undefined) {
    const denied = checkBearer(request.authorization, token);
    if (denied !== undefined) return errorResponse(401, 'RXLB_ADMIN_UNAUTHORIZED', denied, { 'www-authenticate': 'Bearer' });
  }
  try {
    return await route.answer(handlers);
  } catch (err) {
    return errorResponse(500, 'RXLB_ADMIN_INTERNAL', `${route.name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A matched path: who may call it, and how it is answered. */
interface Route {
  /** For the 500 message, so an operator knows which handler failed. */
  readonly name: string;
  readonly methods: readonly string[];
  readonly mutates: boolean;
  readonly answer: (handlers: AdminHandlers) => AdminResponse | Promise<AdminResponse>;
}

/** HEAD is answered as GET (Node sends no body for it), as every HTTP server must. */
const READ = ['GET', 'HEAD'] as const;
const WRITE = ['POST'] as const;
const ACTIONS: readonly BackendAction[] = ['drain', 'disable', 'enable'];

/** The route for decoded path segments, or undefined when there is none. */
function matchRoute(segments: readonly string[]): Route | undefined {
  const [first, ...rest] = segments;
  if (rest.length === 0) {
    switch (first) {
      case 'healthz':
        return { name: 'healthz', methods: READ, mutates: false, answer: () => ({ status: 200, headers: TEXT, body: 'ok\n' }) };
      case 'status':
        return { name: 'status', methods: READ, mutates: false, answer: (h) => jsonResponse(200, h.status()) };
      case 'metrics':
        return { name: 'metrics', methods: READ, mutates: false, answer: async (h) => metricsResponse(await h.metrics()) };
      case 'reload':
        return { name: 'reload', methods: WRITE, mutates: true, answer: async (h) => reloadResponse(await h.reload()) };
      default:
        return undefined;
    }
  }
  const [pool, backends, backend, action, ...extra] = rest;
  if (first !== 'pools' || backends !== 'backends' || extra.length > 0) return undefined;
  const act = ACTIONS.find((a) => a === action);
  if (!pool || !backend || act === undefined) return undefined;
  return { name: act, methods: WRITE, mutates: true, answer: (h) => actionResponse(h.backend(pool, backend, act)) };
}

/**
 * The percent-decoded segments of the request target's path; undefined when a segment
 * is not valid percent-encoding. Absolute-form targets (`http://host/status`, which
 * HTTP/1.1 servers must accept) are reduced to their path.
 */
function pathSegments(url: string): readonly string[] | undefined {
  const path = rawPath(url);
  if (path === undefined) return [];
  try {
    return path.slice(1).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** The path of a request target, still percent-encoded; undefined when it has none (`*`). */
function rawPath(url: string): string | undefined {
  const end = url.search(/[?#]/);
  const target = end === -1 ? url : url.slice(0, end);
  if (target.startsWith('/')) return target;
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

/** The path as the client sent it, for messages: without the query, which may hold anything. */
function pathForMessage(url: string): string {
  return rawPath(url) ?? url;
}

/** Why a mutating request is refused, or undefined when its bearer token is the configured one. */
function checkBearer(authorization: string | undefined, token: string): string | undefined {
  const given = authorization === undefined ? undefined : /^Bearer +(.+)$/i.exec(authorization)?.[1];
  if (given === undefined) return 'this request needs an Authorization: Bearer <token> header';
  // Digests are equal in length whatever was sent, so neither the token nor its length leaks through timing.
  return timingSafeEqual(digest(given), digest(token)) ? undefined : 'the bearer token is not the configured admin token';
}

/** A fixed-length stand-in for a token, for the constant-time comparison. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Responses are answers about now, never to be served from a cache. */
const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } as const;
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

/** A JSON body, indented for people reading it with curl, ending with a newline. */
function jsonResponse(status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): AdminResponse {
  return { status, headers: { ...JSON_TYPE, ...headers }, body: `${JSON.stringify(value, null, 2)}\n` };
}

/** `{"error":{"code","message",...}}`: one shape for every failure, with a code scripts can match. */
function errorResponse(status: number, code: AdminErrorCode, message: string, headers: Readonly<Record<string, string>> = {}, extra: Readonly<Record<string, unknown>> = {}): AdminResponse {
  return jsonResponse(status, { error: { code, message, ...extra } }, headers);
}

/** The registry's exposition as it is, under its own content type. */
function metricsResponse(metrics: { readonly contentType: string; readonly body: string }): AdminResponse {
  const body = metrics.body.endsWith('\n') ? metrics.body : `${metrics.body}\n`;
  return { status: 200, headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' }, body };
}

/** 200 with the backend's new state, or 404 naming what was not found. */
function actionResponse(result: ActionResult): AdminResponse {
  if (result.ok) return jsonResponse(200, { pool: result.pool, backend: result.backend, state: result.state });
  switch (result.error) {
    case 'unknown_pool':
      return errorResponse(404, 'RXLB_ADMIN_UNKNOWN_POOL', result.message);
    case 'unknown_backend':
      return errorResponse(404, 'RXLB_ADMIN_UNKNOWN_BACKEND', result.message);
  }
}

/** 200 with what changed, or 400 with every problem, so a deploy script can show them. */
function reloadResponse(result: ReloadResult): AdminResponse {
  if (result.ok) return jsonResponse(200, { result: 'reloaded', changes: result.changes });
  const count = result.errors.length === 1 ? '1 error' : `${result.errors.length} errors`;
  return errorResponse(400, 'RXLB_RELOAD_FAILED', `config reload failed with ${count}`, {}, { errors: result.errors });
}
