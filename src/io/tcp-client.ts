import type net from 'node:net';
import type { OnNoBackend } from '../config/types.js';

const BODY = 'Service Unavailable\n';
/** The minimal response `on_no_backend = "http-503"` sends. */
export const RESPONSE_503 =
  'HTTP/1.1 503 Service Unavailable\r\n' +
  'Content-Type: text/plain\r\n' +
  `Content-Length: ${Buffer.byteLength(BODY)}\r\n` +
  'Connection: close\r\n' +
  '\r\n' +
  BODY;

/** How long a refused client may keep sending before its socket is destroyed. */
const LINGER_MS = 2000;

/**
 * Turns a client away. `close` destroys the socket; `http-503` sends the response and
 * then reads and discards what the client still sends (a lingering close), so the
 * kernel does not answer unread request bytes with a reset that could destroy the
 * response in flight.
 */
export function tcpRefuse(socket: net.Socket, how: OnNoBackend): void {
  if (how === 'close' || socket.destroyed) {
    socket.destroy();
    return;
  }
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.resume();
  socket.end(RESPONSE_503);
}

/** Destroys an adopted client socket, unless it is already ending on its own terms. */
export function tcpRelease(socket: net.Socket): void {
  if (!socket.destroyed && !socket.writableEnded) socket.destroy();
}
