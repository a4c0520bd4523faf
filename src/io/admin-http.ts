import http from 'node:http';
import { Observable } from 'rxjs';
import { handleAdmin } from '../admin/routes.js';
import type { AdminHandlers, AdminResponse } from '../admin/types.js';
import { formatHostPort } from '../config/endpoint.js';
import type { Endpoint } from '../config/types.js';
import { ListenError } from '../errors.js';
import { describeBindError } from './bind-error.js';

/** Emitted once the admin API is bound, with the address it really has (port 0 resolved). */
export interface AdminListening {
  readonly type: 'admin-listening';
  readonly address: string;
}

/** Idle keep-alive connections close after this; an admin client is a script or a scraper, not a browser. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A client that is slow to send its headers, or the whole request, is cut off instead of holding a socket. */
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Node checks those two timeouts only this often (30 s by default, far longer than they are). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * The admin API's HTTP server as an observable: `admin-listening` once bound, then
 * nothing (requests are answered by `handleAdmin`, not emitted). Each request is checked
 * against the token `token()` gives then, so a reload can change it. A bind failure
 * errors with ListenError. Unsubscribing closes the server and every connection it
 * holds, keep-alive ones included, so the port is free at once.
 */
export function adminServer$(listen: Endpoint, handlers: AdminHandlers, token: () => string | undefined): Observable<AdminListening> {
  return new Observable<AdminListening>((subscriber) => {
    const server = http.createServer(
      {
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      },
      (req, res) => {
        // The admin API reads no body, but one left unread would stall a keep-alive connection.
        req.resume();
        const request = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization };
        void handleAdmin(request, handlers, token()).then(
          (response) => send(res, response),
          () => res.destroy(), // handleAdmin answers every failure itself; this is only a last guard
        );
      },
    );
    let bound = false;
    server.on('error', (err: NodeJS.ErrnoException) => {
      // After the bind, an accept failure (out of descriptors) leaves the server listening for the next client.
      if (bound) return;
      const where = formatHostPort(listen.host, listen.port);
      subscriber.error(new ListenError(`admin API: cannot listen on ${where}: ${describeBindError(err)}`, { cause: err }));
    });
    server.listen({ host: listen.host, port: listen.port }, () => {
      bound = true;
      const address = server.address();
      const text = typeof address === 'object' && address ? formatHostPort(address.address, address.port) : String(address);
      subscriber.next({ type: 'admin-listening', address: text });
    });
    return () => {
      server.close();
      server.closeAllConnections();
    };
  });
}

/** Writes one response, unless the client (or teardown) closed the connection first. */
function send(res: http.ServerResponse, response: AdminResponse): void {
  if (res.destroyed) return;
  try {
    res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
    res.end(response.body);
  } catch {
    // A header Node refuses (a handler's content type with a newline): no half-written answer.
    res.destroy();
  }
}
