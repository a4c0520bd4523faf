import type net from 'node:net';
import { Observable } from 'rxjs';
import type { SpliceEnd, Transferred } from '../streams/ports.js';
import { ignoreErrors } from './ignore.js';

/** Resets from a peer are how that peer closed, not a fault of ours. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The bidirectional copy. Bytes move through Node's own `pipe` both ways, so each
 * direction has backpressure and no chunk ever passes through RxJS. With
 * `allowHalfOpen` on both sockets, a side that ends its writes has the end carried to
 * the other while the reverse direction keeps flowing.
 *
 * Idleness is Node's socket timer on the client: Node restarts it natively on every
 * read and every write of that socket, and every byte either way is read from or
 * written to the client, so the timer fires only after `idleMs` with no byte either way.
 *
 * Emits one SpliceEnd when both sockets have closed, naming the side that finished
 * first, or `idle_timeout` at once when the timer fires. An error on either side resets
 * the other, so a peer that reads a truncated stream is told so, when the runtime sees
 * the error: Node 20's libuv often reports a reset that follows data as a plain end of
 * stream (the fault suite saw 1,565 of 1,670), and then the end is what is passed on,
 * as a direct connection would show it. Teardown destroys both sockets.
 *
 * Everything here lives as long as the connection, so it is kept to one closure and a
 * few listeners: `on` rather than `once` (each `once` allocates a wrapper), and the
 * handed-over sockets' placeholder error listener is taken off, not stacked.
 */
export function tcpSplice$(client: net.Socket, upstream: net.Socket, idleMs: number): Observable<SpliceEnd> {
  return new Observable<SpliceEnd>((subscriber) => {
    let reason: SpliceEnd['reason'] | undefined;
    let open = 2;
    const onClose = (): void => {
      open -= 1;
      if (open === 0) {
        subscriber.next({ reason: reason ?? 'error' });
        subscriber.complete();
      }
    };
    // One handler for both sockets; `this` says which one failed.
    function onError(this: net.Socket, err: NodeJS.ErrnoException): void {
      reason ??= PEER_GONE.has(err.code ?? '') ? (this === client ? 'client_closed' : 'backend_closed') : 'error';
      for (const s of [client, upstream]) if (!s.destroyed) s.resetAndDestroy();
    }
    // Who sent the first FIN: when the backend's arrives, `pipe` has already passed the
    // client's on (ending our writes to the backend) if the client's came first. One
    // listener on one socket says it, where one per socket would cost each an array.
    const onUpstreamEnd = (): void => {
      reason ??= upstream.writableEnded ? 'client_closed' : 'backend_closed';
    };
    const onIdle = (): void => {
      subscriber.next({ reason: 'idle_timeout' });
      subscriber.complete();
    };

    client.off('error', ignoreErrors).on('error', onError).on('close', onClose);
    upstream.off('error', ignoreErrors).on('error', onError).on('end', onUpstreamEnd).on('close', onClose);
    if (idleMs > 0) client.setTimeout(idleMs, onIdle);
    client.pipe(upstream);
    upstream.pipe(client);

    return () => {
      client.off('close', onClose);
      upstream.off('close', onClose).off('end', onUpstreamEnd);
      if (idleMs > 0) client.setTimeout(0, onIdle);
      // A destroyed socket can still report an error: keep one listener on each.
      if (!client.destroyed || !upstream.destroyed) {
        client.off('error', onError).on('error', ignoreErrors);
        upstream.off('error', onError).on('error', ignoreErrors);
        client.destroy();
        upstream.destroy();
      }
    };
  });
}

/** Bytes delivered to the backend (up) and to the client (down). */
export function tcpTransferred(client: net.Socket, upstream: net.Socket | undefined): Transferred {
  return { up: upstream?.bytesWritten ?? 0, down: client.bytesWritten };
}
