import type net from 'node:net';
import { Observable } from 'rxjs';
import type { OnNoBackend } from '../config/types.js';
import type { ClientAddress } from '../operators/policies/types.js';

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

/** Written to a client during set-up to learn whether its end of stream was a reset: nothing. */
const NOTHING = Buffer.alloc(0);

/**
 * Emits once if the client goes while its connection is set up: its socket closes,
 * which during set-up only a reset or an error does (rxlb neither ends nor destroys it
 * then, and with `allowHalfOpen` a client's FIN leaves it open). A socket already gone
 * when watched (it went while it waited to be taken up) emits at once.
 *
 * A reset that arrives together with data is read by Node 20's libuv as the data and an
 * end of stream, as a FIN would be (libuv issue 2319), and the socket stays open. The
 * kernel still holds the reset, so at each 'readable' (new data, or the end of stream;
 * nothing is read, the bytes wait for the copy) the watch writes nothing to the socket:
 * after a reset that write fails and the socket closes; after a FIN it does nothing.
 */
export function tcpClientGone$(socket: net.Socket): Observable<void> {
  return new Observable<void>((subscriber) => {
    const gone = (): void => {
      subscriber.next();
      subscriber.complete();
    };
    if (socket.destroyed) {
      gone();
      return undefined;
    }
    const probe = (): void => {
      if (!socket.destroyed && !socket.writableEnded) socket.write(NOTHING);
    };
    socket.on('close', gone).on('readable', probe);
    // A 'readable' listener pauses the stream. Node takes note of its removal on the next
    // tick, and then a pipe or resume() made after the removal flows; one made before it
    // would not: the watch ends before the copy or a refusal reads the client.
    return () => socket.off('close', gone).off('readable', probe);
  });
}

/**
 * A client's bytes as they arrive, for the door (a PROXY header, a ClientHello). It reads
 * in paused mode, at 'readable', as the set-up watch listens there too (a 'readable'
 * listener stops 'data' from flowing). It stops reading the moment it is unsubscribed,
 * so what comes next waits in the socket for the copy. Completes at the client's FIN, or
 * at once if it came already. A reset is not reported here: the connection's watch sees it.
 */
export function tcpPreread$(socket: net.Socket): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    if (socket.readableEnded) {
      subscriber.complete();
      return undefined;
    }
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!subscriber.closed && (chunk = socket.read() as Buffer | null) !== null) subscriber.next(chunk);
    };
    const onEnd = (): void => subscriber.complete();
    socket.on('readable', onReadable).on('end', onEnd);
    onReadable(); // bytes that came before the door looked wait in the socket
    return () => socket.off('readable', onReadable).off('end', onEnd);
  });
}

/** The listener's side of a client's socket. */
export function tcpLocalAddress(socket: net.Socket): ClientAddress | undefined {
  const { localAddress, localPort } = socket;
  return localAddress === undefined || localPort === undefined ? undefined : { address: localAddress, port: localPort };
}
